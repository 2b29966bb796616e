"""app labels: free key/value labels of an app (Deis's `labels:set`), shown with its settings

Revision ID: app_labels
Revises: task_reports
Create Date: 2026-12-03 11:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "app_labels"
down_revision = "task_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("apps", sa.Column("label", postgresql.JSONB(astext_type=sa.Text()), nullable=False,
                                    server_default=sa.text("'{}'::jsonb")))


def downgrade() -> None:
    op.drop_column("apps", "label")
