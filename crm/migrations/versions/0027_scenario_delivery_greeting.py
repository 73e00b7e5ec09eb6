"""scenario sends carried by delivery requests and replies; the ready-made greeting scenario

Revision ID: 0027
Revises: 0025
Create Date: 2026-12-07 00:05:00
"""

import json

import sqlalchemy as sa
from alembic import op

import crm.timeutil
from crm.timeutil import utcnow

revision = "0027"
down_revision = "0025"
branch_labels = None
depends_on = None

UNREQUESTED = sa.text("state = 'queued' AND request_id IS NULL AND reply_id IS NULL")
REPLYING = sa.text("state = 'queued' AND reply_id IS NOT NULL")

GREETING_NAME = "友だち追加のあいさつ"
GREETING_DESCRIPTION = "友だち追加のすぐ後に届くあいさつです。文面は自由に編集でき、不要なら停止できます。"
GREETING_TEXT = (
    "{name}さん、友だち追加ありがとうございます！\n"
    "このアカウントでは、新商品やセール、お得なクーポンの情報をいち早くお届けします。\n"
    "ご予約やご質問は、このトークにそのままメッセージをお送りください。スタッフがお返事いたします。\n"
    "これからどうぞよろしくお願いいたします。"
)


def upgrade() -> None:
    with op.batch_alter_table("delivery_request", schema=None) as batch_op:
        batch_op.alter_column("broadcast_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("scenario_step_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("scenario_variant_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("scenario_send", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_scenario_send_unrequested",
            ["state", "due_at", "id"],
            unique=False,
            sqlite_where=UNREQUESTED,
            postgresql_where=UNREQUESTED,
        )
        batch_op.create_index(
            "ix_scenario_send_replying",
            ["state", "reply_id"],
            unique=False,
            sqlite_where=REPLYING,
            postgresql_where=REPLYING,
        )
    _insert_greeting()


def _insert_greeting() -> None:
    """A new account starts with an active "friend added" scenario: one immediate step sending a greeting."""
    bind, now = op.get_bind(), utcnow()
    stamp = crm.timeutil.UTCDateTime(timezone=True)
    template = sa.table(
        "message_template",
        sa.column("id", sa.Integer),
        sa.column("name"),
        sa.column("messages"),
        sa.column("archived"),
        sa.column("created_at", stamp),
        sa.column("updated_at", stamp),
    )
    messages = json.dumps([{"type": "text", "text": GREETING_TEXT}], ensure_ascii=False)
    template_id = bind.execute(
        template.insert()
        .values(name=GREETING_NAME, messages=messages, archived=False, created_at=now, updated_at=now)
        .returning(template.c.id)
    ).scalar_one()
    scenario = sa.table(
        "scenario",
        *(sa.column(name) for name in ("name", "description", "status", "trigger_kind", "include_unblocked")),
        *(sa.column(name) for name in ("enrolment_rule", "exclusive", "priority", "control_percent", "goal_days")),
        *(sa.column(name) for name in ("exit_on_goal", "is_greeting")),
        sa.column("id", sa.Integer),
        sa.column("created_at", stamp),
        sa.column("updated_at", stamp),
    )
    scenario_id = bind.execute(
        scenario.insert()
        .values(
            name=GREETING_NAME,
            description=GREETING_DESCRIPTION,
            status="active",
            trigger_kind="friend_added",
            include_unblocked=False,
            enrolment_rule="once",
            exclusive=False,
            priority=0,
            control_percent=0,
            goal_days=30,
            exit_on_goal=True,
            is_greeting=True,
            created_at=now,
            updated_at=now,
        )
        .returning(scenario.c.id)
    ).scalar_one()
    _insert_step(bind, scenario_id, template_id, now, stamp)


def _insert_step(bind, scenario_id: int, template_id: int, now, stamp) -> None:
    step = sa.table(
        "scenario_step",
        *(sa.column(name) for name in ("scenario_id", "position", "name", "timing_kind", "elapsed_from")),
        *(sa.column(name) for name in ("delay_minutes", "day_offset", "condition_otherwise", "actions")),
        sa.column("id", sa.Integer),
        sa.column("created_at", stamp),
        sa.column("updated_at", stamp),
    )
    step_id = bind.execute(
        step.insert()
        .values(
            scenario_id=scenario_id,
            position=1,
            name="あいさつ",
            timing_kind="elapsed",
            elapsed_from="enrolment",
            delay_minutes=0,
            day_offset=0,
            condition_otherwise="skip",
            actions="[]",
            created_at=now,
            updated_at=now,
        )
        .returning(step.c.id)
    ).scalar_one()
    variant = sa.table(
        "scenario_step_variant", sa.column("step_id"), sa.column("label"), sa.column("weight"), sa.column("template_id")
    )
    bind.execute(variant.insert().values(step_id=step_id, label="A", weight=1, template_id=template_id))


def downgrade() -> None:
    # The greeting's rows stay: they are valid data of the tables as 0023 left them.
    with op.batch_alter_table("scenario_send", schema=None) as batch_op:
        batch_op.drop_index("ix_scenario_send_replying", sqlite_where=REPLYING, postgresql_where=REPLYING)
        batch_op.drop_index("ix_scenario_send_unrequested", sqlite_where=UNREQUESTED, postgresql_where=UNREQUESTED)
        batch_op.drop_column("reply_id")
    op.execute("DELETE FROM delivery_request WHERE broadcast_id IS NULL")
    with op.batch_alter_table("delivery_request", schema=None) as batch_op:
        batch_op.drop_column("scenario_variant_id")
        batch_op.drop_column("scenario_step_id")
        batch_op.alter_column("broadcast_id", existing_type=sa.Integer(), nullable=False)
