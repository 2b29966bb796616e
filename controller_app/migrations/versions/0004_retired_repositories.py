"""retired repositories: a destroyed app's registry repository until its images are gone

Revision ID: retired_repositories
Revises: push_tokens
Create Date: 2026-12-02 12:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "retired_repositories"
down_revision = "push_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retired_repositories",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("retired_repositories")
