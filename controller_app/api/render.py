"""ORM rows → Deis JSON bodies."""
from __future__ import annotations

from ..models import App, Build, Cert, Config, Domain, Key, Release, User
from ..settings import get_settings


def _stamps(row) -> dict:
    return {"uuid": row.uuid, "created": row.created, "updated": row.updated}


def user(u: User) -> dict:
    return {"id": u.id, "username": u.username, "email": u.email, "first_name": u.first_name,
            "last_name": u.last_name, "is_superuser": u.is_superuser, "is_staff": u.is_superuser,
            "is_active": u.is_active, "date_joined": u.date_joined, "last_login": u.last_login}


def app(a: App) -> dict:
    return {**_stamps(a), "id": a.id, "owner": a.owner.username, "structure": a.structure or {},
            "url": f"{a.id}.{get_settings().platform_domain}"}


def config(c: Config, app_id: str) -> dict:
    return {**_stamps(c), "owner": c.owner.username, "app": app_id, "values": c.values or {},
            "memory": c.memory or {}, "cpu": c.cpu or {}, "tags": c.tags or {},
            "healthcheck": c.healthcheck or {}, "registry": c.registry or {}}


def build(b: Build, app_id: str) -> dict:
    return {**_stamps(b), "owner": b.owner.username, "app": app_id, "image": b.image, "sha": b.sha,
            "procfile": b.procfile or {}, "dockerfile": b.dockerfile}


def release(r: Release, app_id: str) -> dict:
    return {**_stamps(r), "owner": r.owner.username, "app": app_id, "version": r.version,
            "build": r.build_uuid, "config": r.config_uuid, "summary": r.summary, "failed": r.failed,
            "exception": r.exception, "state": r.state}


def key(k: Key) -> dict:
    return {**_stamps(k), "owner": k.owner.username, "id": k.id, "public": k.public,
            "fingerprint": k.fingerprint, "fingerprint_sha256": k.fingerprint_sha256}


def domain(d: Domain, app_id: str) -> dict:
    return {**_stamps(d), "owner": d.owner.username, "app": app_id, "domain": d.domain}


def cert(c: Cert) -> dict:
    return {**_stamps(c), "owner": c.owner.username, "name": c.name, "common_name": c.common_name,
            "san": c.san or [], "domains": sorted(d.domain for d in c.domains), "fingerprint": c.fingerprint,
            "issuer": c.issuer, "subject": c.subject, "starts": c.starts, "expires": c.expires}


def settings(a: App) -> dict:
    return {"app": a.id, "maintenance": a.maintenance, "routable": a.routable, "enforce_https": a.enforce_https,
            "whitelist": a.whitelist or [], "label": a.label or {}, "autoscale": a.autoscale or {}}


def tls(a: App) -> dict:
    """Deis's view of an app's TLS settings (its `enforce_https`)."""
    return {**_stamps(a), "app": a.id, "owner": a.owner.username, "https_enforced": a.enforce_https}
