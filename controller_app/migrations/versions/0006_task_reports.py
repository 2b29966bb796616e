"""task reports: each task's latest state as its node agent reported it, and each agent's last report

Revision ID: task_reports
Revises: release_state
Create Date: 2026-12-02 12:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "task_reports"
down_revision = "release_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_reports",
        sa.Column("task", sa.String(length=64), primary_key=True),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("container", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.String(length=63), nullable=False),
        sa.Column("deployment", sa.Integer(), nullable=False),
        sa.Column("proc_type", sa.String(length=30), nullable=False),
        sa.Column("release", sa.Integer(), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("healthy", sa.Boolean(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("checked", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started", sa.String(length=64), nullable=False),
        sa.Column("cpu_seconds", sa.Float(), nullable=True),
        sa.Column("memory_bytes", sa.BigInteger(), nullable=True),
        sa.Column("memory_limit_bytes", sa.BigInteger(), nullable=False),
        sa.Column("cpu_limit", sa.Float(), nullable=False),
        sa.Column("reported", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_task_reports_node", "task_reports", ["node"])
    op.create_index("ix_task_reports_app_deployment", "task_reports", ["app_id", "deployment"])
    op.create_table(
        "node_agents",
        sa.Column("node", sa.String(length=64), primary_key=True),
        sa.Column("seen", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("last_full", sa.DateTime(timezone=True), nullable=True),
        sa.Column("interval", sa.Float(), nullable=False),
        sa.Column("heartbeat", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("node_agents")
    op.drop_index("ix_task_reports_app_deployment", table_name="task_reports")
    op.drop_index("ix_task_reports_node", table_name="task_reports")
    op.drop_table("task_reports")
