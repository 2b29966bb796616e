"""/v2/apps/{id}/perms/ (collaborators) and /v2/admin/perms/ (administrators)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from sqlalchemy import select

from ...models import App, User
from ...schemas.apps import PermIn, PermsOut
from ...schemas.common import Paged
from ...schemas.users import AdminPermOut
from ...services import perms
from ..deps import DB, AdminUser, CurrentUser, require_app
from ..pagination import PageDep, paginate

router = APIRouter(tags=["perms"])


def _managed_app(db: DB, user: CurrentUser, id: str, **action) -> App:
    app, allowed = perms.managed_app(db, user, id, **action)
    require_app(app is not None, allowed)
    return app


def _user(db, username: str) -> User:
    return perms.named_user(db, username)


@router.get("/v2/apps/{id}/perms/", response_model=PermsOut)
def list_perms(db: DB, user: CurrentUser, id: Annotated[str, Path()]):
    return {"users": perms.collaborators(db, _managed_app(db, user, id))}


@router.post("/v2/apps/{id}/perms/", status_code=201, response_model=PermsOut)
def grant(body: PermIn, db: DB, user: CurrentUser, id: Annotated[str, Path()]):
    app = _managed_app(db, user, id, grant=True)
    perms.grant(db, app, body.username)
    return {"users": perms.collaborators(db, app)}


@router.delete("/v2/apps/{id}/perms/{username}", status_code=204)
def revoke(db: DB, user: CurrentUser, id: Annotated[str, Path()], username: str):
    perms.revoke(db, _managed_app(db, user, id, revoke=username), username)


@router.get("/v2/admin/perms/", response_model=Paged[AdminPermOut])
def list_admins(db: DB, request: Request, _admin: AdminUser, page: PageDep):
    query = select(User).where(User.is_superuser.is_(True)).order_by(User.username)
    return paginate(db, request, page, query, lambda u: {"username": u.username, "is_superuser": True})


@router.post("/v2/admin/perms/", status_code=201, response_model=AdminPermOut)
def make_admin(body: PermIn, db: DB, _admin: AdminUser):
    user = _user(db, body.username)
    if user.is_superuser:
        raise HTTPException(409, f"{user.username} is already an administrator.")
    user.is_superuser = True
    db.commit()
    return {"username": user.username, "is_superuser": True}


@router.delete("/v2/admin/perms/{username}", status_code=204)
def remove_admin(db: DB, admin: AdminUser, username: str):
    user = _user(db, username)
    if not user.is_superuser:
        raise HTTPException(404, f"{username} is not an administrator.")
    if user.id == admin.id and len(list_admin_ids(db)) == 1:
        raise HTTPException(409, "The last administrator cannot remove their own rights.")
    user.is_superuser = False
    db.commit()


def list_admin_ids(db) -> list[int]:
    return list(db.scalars(select(User.id).where(User.is_superuser.is_(True))))
