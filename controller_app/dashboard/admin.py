"""Administrators' pages: the nodes (drain and activate through services/nodes.py, as /v2/nodes/), the users,
and the platform's health as Prometheus sees it (firing alerts, backup age, free disk, certificate expiry)."""
from __future__ import annotations

import time

from fastapi import APIRouter, Request
from sqlalchemy import select

from ..api.deps import DB
from ..models import User
from ..services import agentview, nodes
from ..services.errors import ServiceError
from . import prometheus
from .pages import ROOT, Admin, AdminForm, act, render

router = APIRouter()
REAL_DISKS = '{fstype!~"tmpfs|overlay|squashfs|ramfs"}'
DISKS = f"node_filesystem_avail_bytes{REAL_DISKS}"
DISK_FREE = f"100 * {DISKS} / node_filesystem_size_bytes{REAL_DISKS}"


def _node_rows(db) -> list[dict]:
    agents = agentview.agents(db)
    rows = []
    for node in nodes.listing():
        try:
            apps, apps_error = nodes.apps_on(node), ""
        except ServiceError as exc:
            apps, apps_error = [], exc.detail
        seen, reporting = agents.get(node.id, (None, False))
        rows.append({"node": node, "apps": apps, "apps_error": apps_error, "seen": seen, "reporting": reporting})
    return rows


@router.get("/admin/nodes")
def nodes_page(request: Request, db: DB, who: Admin):
    try:
        rows, error = _node_rows(db), ""
    except ServiceError as exc:
        rows, error = [], exc.detail
    return render(request, "nodes.html", who, nodes=rows, error=error)


@router.post("/admin/nodes/{node_id}/drain")
def drain(request: Request, db: DB, posted: AdminForm, node_id: str):

    def change() -> str:
        node, moved = nodes.drain(db, node_id)
        return f"Drained {node.hostname}" + (f"; moved {', '.join(moved)}." if moved else ".")
    return act(request, f"{ROOT}/admin/nodes", change)


@router.post("/admin/nodes/{node_id}/activate")
def activate(request: Request, posted: AdminForm, node_id: str):

    def change() -> str:
        return f"{nodes.activate(node_id).hostname} takes new processes."
    return act(request, f"{ROOT}/admin/nodes", change)


@router.get("/admin/users")
def users_page(request: Request, db: DB, who: Admin):
    return render(request, "users.html", who, users=list(db.scalars(select(User).order_by(User.username))))


def _health() -> dict:
    """What Prometheus knows of the platform's health; MetricsError when it cannot be asked."""
    now = time.time()
    backups = prometheus.query("max(slipway_backup_last_success_timestamp_seconds)")
    free = {(m.get("instance"), m.get("mountpoint")): v for m, v in prometheus.query(DISK_FREE)}
    disks = sorted(({"instance": m.get("instance", ""), "mountpoint": m.get("mountpoint", ""), "avail": v,
                     "percent": free.get((m.get("instance"), m.get("mountpoint")))}
                    for m, v in prometheus.query(DISKS)), key=lambda d: d["avail"])
    certs = sorted(({"domain": m.get("domain", ""), "days": (v - now) / 86400}
                    for m, v in prometheus.query("slipway_certificate_expiry_timestamp_seconds")),
                   key=lambda c: c["days"])
    return {"alerts": prometheus.firing_alerts(), "backup_age": (now - backups[0][1]) if backups else None,
            "disks": disks[:20], "certs": certs[:20]}


@router.get("/admin/health")
def health_page(request: Request, who: Admin):
    try:
        health, error = _health(), ""
    except prometheus.MetricsError as exc:
        health, error = {}, str(exc)
    return render(request, "health.html", who, health=health, error=error)
