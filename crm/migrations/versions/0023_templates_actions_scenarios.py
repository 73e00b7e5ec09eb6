"""message templates, uploaded images, action runs, scenarios; friend attention mark; scenario-tracked links

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 23:42:09
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.timeutil

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    op.create_table(
        "action_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trigger_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["friend_id"],
            ["friend.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("trigger_key", "friend_id", "position", name="uq_action_run_trigger"),
    )
    with op.batch_alter_table("action_run", schema=None) as batch_op:
        batch_op.create_index("ix_action_run_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_action_run_friend", ["friend_id", "created_at"], unique=False)

    op.create_table(
        "message_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("folder", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("messages", sa.Text(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["staff.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("message_template", schema=None) as batch_op:
        batch_op.create_index("ix_message_template_folder_name", ["folder", "name"], unique=False)

    op.create_table(
        "scenario",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("trigger_kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("trigger_ref_id", sa.Integer(), nullable=True),
        sa.Column("include_unblocked", sa.Boolean(), nullable=False),
        sa.Column("enrolment_rule", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("control_percent", sa.Integer(), nullable=False),
        sa.Column("goal_tree", sa.Text(), nullable=True),
        sa.Column("goal_days", sa.Integer(), nullable=False),
        sa.Column("exit_on_goal", sa.Boolean(), nullable=False),
        sa.Column("exit_after_silent_steps", sa.Integer(), nullable=True),
        sa.Column("opt_out_keywords", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("window_start_minute", sa.Integer(), nullable=True),
        sa.Column("window_end_minute", sa.Integer(), nullable=True),
        sa.Column("is_greeting", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["staff.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "uploaded_image",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("preview", sa.LargeBinary(), nullable=False),
        sa.Column("original_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["uploaded_by"], ["staff.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "scenario_enrolment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("held_out", sa.Boolean(), nullable=False),
        sa.Column("trigger_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("next_position", sa.Integer(), nullable=True),
        sa.Column("next_due_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("silent_steps", sa.Integer(), nullable=False),
        sa.Column("reply_token", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("reply_expires_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("enrolled_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_step_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("exit_reason", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("goal_reached_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["friend_id"],
            ["friend.id"],
        ),
        sa.ForeignKeyConstraint(
            ["scenario_id"],
            ["scenario.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("scenario_enrolment", schema=None) as batch_op:
        batch_op.create_index("ix_scenario_enrolment_due", ["next_due_at"], unique=False)
        batch_op.create_index("ix_scenario_enrolment_friend", ["friend_id", "scenario_id"], unique=False)
        batch_op.create_index("ix_scenario_enrolment_scenario_status", ["scenario_id", "status"], unique=False)
        batch_op.create_index(
            "uq_scenario_enrolment_active",
            ["scenario_id", "friend_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "scenario_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("timing_kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("elapsed_from", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("delay_minutes", sa.Integer(), nullable=False),
        sa.Column("day_offset", sa.Integer(), nullable=False),
        sa.Column("at_minute", sa.Integer(), nullable=True),
        sa.Column("field_id", sa.Integer(), nullable=True),
        sa.Column("condition_tree", sa.Text(), nullable=True),
        sa.Column("condition_otherwise", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("jump_to_position", sa.Integer(), nullable=True),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["field_id"], ["field_definition.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["scenario_id"],
            ["scenario.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scenario_id", "position", name="uq_scenario_step_position"),
    )
    op.create_table(
        "scenario_send",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=True),
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("due_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("sent_via", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["scenario_enrolment.id"],
        ),
        sa.ForeignKeyConstraint(
            ["scenario_id"],
            ["scenario.id"],
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["scenario_step.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("enrolment_id", "step_id", name="uq_scenario_send_enrolment_step"),
    )
    with op.batch_alter_table("scenario_send", schema=None) as batch_op:
        batch_op.create_index("ix_scenario_send_friend", ["friend_id", "created_at"], unique=False)
        batch_op.create_index("ix_scenario_send_queued", ["state", "due_at"], unique=False)
        batch_op.create_index("ix_scenario_send_request", ["request_id"], unique=False)
        batch_op.create_index("ix_scenario_send_step_state", ["step_id", "state"], unique=False)

    op.create_table(
        "scenario_step_variant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["scenario_step.id"],
        ),
        sa.ForeignKeyConstraint(["template_id"], ["message_template.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("step_id", "label", name="uq_scenario_step_variant_label"),
    )
    with op.batch_alter_table("friend", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attention", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True))

    with op.batch_alter_table("tracked_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scenario_variant_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tracked_link", schema=None) as batch_op:
        batch_op.drop_column("scenario_variant_id")

    # Not in batch mode: SQLite drops the column in place, keeping the friend search triggers.
    op.drop_column("friend", "attention")

    op.drop_table("scenario_step_variant")
    with op.batch_alter_table("scenario_send", schema=None) as batch_op:
        batch_op.drop_index("ix_scenario_send_step_state")
        batch_op.drop_index("ix_scenario_send_request")
        batch_op.drop_index("ix_scenario_send_queued")
        batch_op.drop_index("ix_scenario_send_friend")

    op.drop_table("scenario_send")
    op.drop_table("scenario_step")
    with op.batch_alter_table("scenario_enrolment", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_scenario_enrolment_active",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index("ix_scenario_enrolment_scenario_status")
        batch_op.drop_index("ix_scenario_enrolment_friend")
        batch_op.drop_index("ix_scenario_enrolment_due")

    op.drop_table("scenario_enrolment")
    op.drop_table("uploaded_image")
    op.drop_table("scenario")
    with op.batch_alter_table("message_template", schema=None) as batch_op:
        batch_op.drop_index("ix_message_template_folder_name")

    op.drop_table("message_template")
    with op.batch_alter_table("action_run", schema=None) as batch_op:
        batch_op.drop_index("ix_action_run_friend")
        batch_op.drop_index("ix_action_run_due")

    op.drop_table("action_run")
