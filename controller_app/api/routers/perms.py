"""/v2/apps/{id}/perms/ (collaborators) and /v2/admin/perms/ (administrators)."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import select

from ...models import Collaborator, User
from ...schemas.apps import PermIn, PermsOut
from ...schemas.common import Paged
from ...schemas.users import AdminPermOut
from ..deps import DB, AdminUser, UsableApp
from ..pagination import PageDep, paginate

router = APIRouter(tags=["perms"])


def _user(db, username: str) -> User:
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        raise HTTPException(404, f"No user named {username}.")
    return user


@router.get("/v2/apps/{id}/perms/", response_model=PermsOut)
def list_perms(db: DB, app: UsableApp):
    names = db.scalars(select(User.username).join(Collaborator, Collaborator.user_id == User.id)
                       .where(Collaborator.app_uuid == app.uuid).order_by(User.username)).all()
    return {"users": list(names)}


@router.post("/v2/apps/{id}/perms/", status_code=201, response_model=PermsOut)
def grant(body: PermIn, db: DB, app: UsableApp):
    user = _user(db, body.username)
    if user.id == app.owner_id:
        raise HTTPException(400, f"{user.username} owns {app.id} already.")
    if db.scalar(select(Collaborator).where(Collaborator.app_uuid == app.uuid, Collaborator.user_id == user.id)):
        raise HTTPException(409, f"{user.username} is already a collaborator on {app.id}.")
    db.add(Collaborator(app_uuid=app.uuid, user_id=user.id))
    db.commit()
    return list_perms(db, app)


@router.delete("/v2/apps/{id}/perms/{username}", status_code=204)
def revoke(db: DB, app: UsableApp, username: str):
    user = _user(db, username)
    row = db.scalar(select(Collaborator).where(Collaborator.app_uuid == app.uuid, Collaborator.user_id == user.id))
    if row is None:
        raise HTTPException(404, f"{username} is not a collaborator on {app.id}.")
    db.delete(row)
    db.commit()


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
