"""release state: deploying, serving or failed (the failed flag becomes the state failed)

Revision ID: release_state
Revises: retired_repositories
Create Date: 2026-12-10 12:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "release_state"
down_revision = "retired_repositories"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # releases made before this revision were deployed (or had nothing to deploy) unless they failed
    op.add_column("releases", sa.Column("state", sa.String(length=16), nullable=False, server_default="serving"))
    op.execute("UPDATE releases SET state = 'failed' WHERE failed")
    op.alter_column("releases", "state", server_default=None)
    op.drop_column("releases", "failed")
    op.create_index("ix_releases_deploying", "releases", ["app_uuid", "version"],
                    postgresql_where=sa.text("state = 'deploying'"))


def downgrade() -> None:
    op.drop_index("ix_releases_deploying", table_name="releases")
    op.add_column("releases", sa.Column("failed", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE releases SET failed = (state = 'failed')")
    op.alter_column("releases", "failed", server_default=None)
    op.drop_column("releases", "state")
