"""The apps a user may use, each with its state, and an app's page: processes, releases, config, scale,
domains and certificates, collaborators. Read with the API's rules (services/access.py); changes are in appactions.py."""
from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from ..api.deps import DB
from ..models import App, Deployment, Domain, Release, User
from ..models.release import SERVING
from ..services import access, certstore, deploy, perms, pods, releases
from ..services.errors import ServiceError
from ..settings import get_settings
from .pages import Signed, render, usable_app

router = APIRouter()
RELEASES_SHOWN = 15


def state(app: App, release: Release) -> str:
    """What the apps list and the app page show: maintenance (the app's setting), else the latest release's
    state (deploying, serving, failed: services/releasestate.py), or empty before the first build."""
    if app.maintenance:
        return "maintenance"
    if release.build_uuid is None and release.state == SERVING:
        return "empty"
    return release.state


def apps_of(db: Session, user: User) -> list[tuple[App, Release]]:
    """Every app `user` may use, with its latest release, by name."""
    latest = (select(Release.app_uuid, func.max(Release.version).label("version"))
              .group_by(Release.app_uuid).subquery())
    query = (select(App, Release).select_from(App).join(User, User.id == user.id).where(access.may_use(User, App))
             .join(latest, latest.c.app_uuid == App.uuid)
             .join(Release, (Release.app_uuid == App.uuid) & (Release.version == latest.c.version))
             .options(joinedload(App.owner)).order_by(App.id))
    return [tuple(row) for row in db.execute(query).all()]


def app_url(app: App) -> str:
    """The app's address, as `apps:info` gives it (scheme-relative: the dashboard's own scheme)."""
    return f"//{app.id}.{get_settings().platform_domain}"


@router.get("/")
def apps_list(request: Request, db: DB, who: Signed):
    rows = [{"app": a, "release": r, "state": state(a, r), "url": app_url(a)} for a, r in apps_of(db, who.user)]
    return render(request, "apps.html", who, apps=rows)


def _rollback_targets(history: list[Release], current: Release | None) -> set[int]:
    """The versions a rollback may go to (the release rules: services/releases.rollback_target)."""
    return {r.version for r in history if not r.failed and (current is None or r.version != current.version)
            and (r.build_uuid is not None or current is None or current.build_uuid is None)}


def _processes(app: App) -> tuple[list, str]:
    try:
        return pods.running(app), ""
    except ServiceError as exc:
        return [], exc.detail


@router.get("/apps/{app_id}")
def app_page(request: Request, db: DB, who: Signed, app_id: str):
    app = usable_app(db, who.user, app_id)
    history = list(db.scalars(select(Release).where(Release.app_uuid == app.uuid).options(joinedload(Release.owner))
                              .order_by(Release.version.desc()).limit(RELEASES_SHOWN)))
    good = releases.latest(db, app)
    current = deploy.current_release(db, app)
    processes, processes_error = _processes(app)
    deployments = list(db.scalars(select(Deployment).where(Deployment.app_uuid == app.uuid)
                                  .order_by(Deployment.id.desc()).limit(5)))
    domains = list(db.scalars(select(Domain).where(Domain.app_uuid == app.uuid).options(joinedload(Domain.cert))
                              .order_by(Domain.domain)))
    certs = {d.cert.name: d.cert for d in domains if d.cert is not None}
    own = access.find_app(db, who.user, app.id, owner_only=True)[1]
    manage = perms.managed_app(db, who.user, app.id)[1]
    return render(request, "app.html", who, app=app, url=app_url(app), state=state(app, history[0]),
                  releases=history, current=current, targets=_rollback_targets(history, current),
                  config=(good.config.values or {}) if good else {}, processes=processes,
                  processes_error=processes_error, deployments=deployments, domains=domains,
                  certs=sorted(certs.values(), key=lambda c: c.name),
                  structure=dict(sorted((app.structure or {}).items())),
                  autoscaled=set(app.autoscale or {}), collaborators=perms.collaborators(db, app) if manage else None,
                  manage=manage, own=own,
                  my_certs=list(db.scalars(certstore.visible(who.user))))
