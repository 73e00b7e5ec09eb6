"""auto-replies: rules, their hits, and the settings row (emergency stop, rules' version)

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 03:30:00
"""

import sqlalchemy as sa
from alembic import op

import crm.timeutil

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auto_reply_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("folder", sa.String(length=60), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=False),
        sa.Column("match_mode", sa.String(length=12), nullable=False),
        sa.Column("ignore_spaces", sa.Boolean(), nullable=False),
        sa.Column("condition_tree", sa.Text(), nullable=True),
        sa.Column("weekdays", sa.String(length=7), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=True),
        sa.Column("end_minute", sa.Integer(), nullable=True),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("continue_to_next", sa.Boolean(), nullable=False),
        sa.Column("quiet_minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(), nullable=False),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["template_id"], ["message_template.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_auto_reply_rule_kind_position", "auto_reply_rule", ["kind", "position"], unique=False)
    op.create_table(
        "auto_reply_hit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("reply_id", sa.Integer(), nullable=True),
        sa.Column("at", crm.timeutil.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["friend_id"], ["friend.id"]),
        sa.ForeignKeyConstraint(["rule_id"], ["auto_reply_rule.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_key", "rule_id", name="uq_auto_reply_hit_event_rule"),
    )
    op.create_index("ix_auto_reply_hit_rule_at", "auto_reply_hit", ["rule_id", "at"], unique=False)
    op.create_index("ix_auto_reply_hit_friend_rule_at", "auto_reply_hit", ["friend_id", "rule_id", "at"], unique=False)
    settings = op.create_table(
        "auto_reply_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stopped", sa.Boolean(), nullable=False),
        sa.Column("stopped_at", crm.timeutil.UTCDateTime(), nullable=True),
        sa.Column("stopped_by", sa.String(length=120), nullable=True),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(settings, [{"id": 1, "stopped": False, "rules_version": 0}])


def downgrade() -> None:
    op.drop_table("auto_reply_settings")
    op.drop_index("ix_auto_reply_hit_friend_rule_at", table_name="auto_reply_hit")
    op.drop_index("ix_auto_reply_hit_rule_at", table_name="auto_reply_hit")
    op.drop_table("auto_reply_hit")
    op.drop_index("ix_auto_reply_rule_kind_position", table_name="auto_reply_rule")
    op.drop_table("auto_reply_rule")
