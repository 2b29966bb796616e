"""Deis settings: free key/value labels of an app (Deis's `labels:set`), and a private registry's credentials
in a config (Deis's `registry:set`): a masked view, and the values sealed (services/sealing.py)

Revision ID: deis_settings
Revises: task_reports
Create Date: 2026-12-03 11:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "deis_settings"
down_revision = "task_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    empty = sa.text("'{}'::jsonb")
    op.add_column("apps", sa.Column("label", postgresql.JSONB(astext_type=sa.Text()), nullable=False,
                                    server_default=empty))
    op.add_column("configs", sa.Column("registry", postgresql.JSONB(astext_type=sa.Text()), nullable=False,
                                       server_default=empty))
    op.add_column("configs", sa.Column("registry_sealed", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("configs", "registry_sealed")
    op.drop_column("configs", "registry")
    op.drop_column("apps", "label")
