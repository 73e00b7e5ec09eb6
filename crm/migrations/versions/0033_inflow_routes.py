"""inflow routes: the routes, their visits and the arrivals LINE Login attributed

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 06:00:00
"""

import sqlalchemy as sa
from alembic import op

import crm.timeutil

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inflow_route",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("folder", sa.String(length=60), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("action_timing", sa.String(length=12), nullable=False),
        sa.Column("run_welcome_scenarios", sa.Boolean(), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(), nullable=False),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "route_visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("route_id", sa.Integer(), nullable=False),
        sa.Column("visited_at", crm.timeutil.UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=True),
        sa.Column("nonce", sa.String(length=64), nullable=True),
        sa.Column("used_at", crm.timeutil.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["route_id"], ["inflow_route.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("state"),
    )
    op.create_index("ix_route_visit_route_at", "route_visit", ["route_id", "visited_at"], unique=False)
    op.create_table(
        "route_arrival",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("route_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("line_user_id", sa.String(length=64), nullable=False),
        sa.Column("friend_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("first_route", sa.Boolean(), nullable=False),
        sa.Column("logged_in_at", crm.timeutil.UTCDateTime(), nullable=False),
        sa.Column("settled_at", crm.timeutil.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["friend_id"], ["friend.id"]),
        sa.ForeignKeyConstraint(["route_id"], ["inflow_route.id"]),
        sa.ForeignKeyConstraint(["visit_id"], ["route_visit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("visit_id"),
    )
    op.create_index("ix_route_arrival_route_at", "route_arrival", ["route_id", "logged_in_at"], unique=False)
    op.create_index("ix_route_arrival_friend", "route_arrival", ["friend_id", "route_id"], unique=False)
    op.create_index("ix_route_arrival_user_pending", "route_arrival", ["line_user_id", "settled_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_route_arrival_user_pending", table_name="route_arrival")
    op.drop_index("ix_route_arrival_friend", table_name="route_arrival")
    op.drop_index("ix_route_arrival_route_at", table_name="route_arrival")
    op.drop_table("route_arrival")
    op.drop_index("ix_route_visit_route_at", table_name="route_visit")
    op.drop_table("route_visit")
    op.drop_table("inflow_route")
