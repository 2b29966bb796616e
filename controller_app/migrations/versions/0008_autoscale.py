"""Autoscale: an app's autoscale setting (Deis's `autoscale:set`, per process type min, max and cpu_percent),
each task's CPU rate as its node agent measured it, and why a deployment was made (a release, a scale, an
autoscale step), so an app's history shows every change of its processes

Revision ID: autoscale
Revises: deis_settings
Create Date: 2026-12-03 16:30:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "autoscale"
down_revision = "deis_settings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("apps", sa.Column("autoscale", postgresql.JSONB(astext_type=sa.Text()), nullable=False,
                                    server_default=sa.text("'{}'::jsonb")))
    op.add_column("task_reports", sa.Column("cpu_rate", sa.Float(), nullable=True))
    op.add_column("deployments", sa.Column("cause", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("deployments", "cause")
    op.drop_column("task_reports", "cpu_rate")
    op.drop_column("apps", "autoscale")
