"""/v2/hooks/images/: which images the releases reference, for the registry's garbage collection.

Authenticated by the registry GC's own key (X-Slipway-GC-Auth = SLIPWAY_REGISTRY_GC_KEY), which opens nothing
else here. Facts only: every app with its releases that have a build, newest first, and the ids of the apps
that exist (a repository named like no app id is a destroyed app's: all of it goes); what to keep is the
cleanup's policy (agents/slipway_agents/registry_gc.py).
"""
from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import select

from ...models import App, Build, Release
from ..deps import DB, gc_auth

router = APIRouter(tags=["hooks"], dependencies=[Depends(gc_auth)])


@router.get("/v2/hooks/images/")
def release_images(db: DB):
    apps: dict[str, list[dict]] = {app_id: [] for app_id in db.scalars(select(App.id).order_by(App.id))}
    rows = db.execute(
        select(App.id, Release.version, Release.failed, Release.created, Build.image)
        .join(Release, Release.app_uuid == App.uuid).join(Build, Build.uuid == Release.build_uuid)
        .order_by(App.id, Release.version.desc()))
    for app_id, version, failed, created, image in rows:
        apps[app_id].append({"version": version, "image": image, "failed": failed,
                             "created": created.isoformat() if created else None})
    return {"apps": [{"app": app_id, "releases": releases} for app_id, releases in apps.items()],
            "app_ids": list(apps)}
