"""Health checks in Deis Workflow's shape (liveness and readiness probes per process type): every stored check in
the former shape ({"path", "timeout", "interval", "initial_delay", "healthy_threshold"}) becomes a readiness
httpGet probe on the process's PORT, as the controller converts one it is given (controller_app/probes.py's
`from_old`, leaving out what it would have refused). A data migration: the downgrade leaves the checks in the
new shape, which the controller before it does not read (it probes its default check instead).

Revision ID: deis_healthchecks
Revises: autoscale
Create Date: 2026-12-04 10:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from controller_app import probes

revision = "deis_healthchecks"
down_revision = "autoscale"
branch_labels = None
depends_on = None

configs = sa.table("configs", sa.column("uuid", postgresql.UUID()),
                   sa.column("healthcheck", postgresql.JSONB(astext_type=sa.Text())))


def converted(healthcheck: dict) -> dict:
    """A stored health check mapping in the new shape: each type's former check converted, a value that is not an
    object left out, the others kept."""
    return {proc: probes.from_old(value, strict=False) if probes.is_old(value) else value
            for proc, value in healthcheck.items() if isinstance(value, dict)}


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(configs.c.uuid, configs.c.healthcheck)
                        .where(configs.c.healthcheck != sa.text("'{}'::jsonb"))).all()
    for uuid, healthcheck in rows:
        new = converted(healthcheck) if isinstance(healthcheck, dict) else {}
        if new != healthcheck:
            conn.execute(configs.update().where(configs.c.uuid == uuid).values(healthcheck=new))


def downgrade() -> None:
    """Nothing to undo: the probes stay in the new shape."""
