"""/v2/keys/: a user's SSH public keys."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import exists, or_, select

from ...models import Key
from ...schemas.common import Paged
from ...schemas.keys import KeyIn, KeyOut
from ...services import sshkeys
from .. import render
from ..deps import DB, CurrentUser, found
from ..pagination import PageDep, paginate

router = APIRouter(tags=["keys"])


@router.get("/v2/keys/", response_model=Paged[KeyOut])
def list_keys(db: DB, request: Request, user: CurrentUser, page: PageDep):
    return paginate(db, request, page, select(Key).where(Key.owner_id == user.id).order_by(Key.id), render.key)


@router.post("/v2/keys/", status_code=201, response_model=KeyOut)
def add_key(body: KeyIn, db: DB, user: CurrentUser):
    try:
        public, md5, sha = sshkeys.parse(body.public)
    except sshkeys.BadKey as exc:
        raise HTTPException(400, str(exc)) from None
    if db.scalar(select(exists().where(or_(Key.fingerprint == md5, Key.fingerprint_sha256 == sha)))):
        raise HTTPException(409, "This public key is already registered (keys are unique across users).")
    if db.scalar(select(exists().where(Key.owner_id == user.id, Key.id == body.id))):
        raise HTTPException(409, f"You already have a key named {body.id}.")
    key = Key(owner_id=user.id, id=body.id, public=public, fingerprint=md5, fingerprint_sha256=sha)
    db.add(key)
    db.commit()
    db.refresh(key)
    return render.key(key)


@router.delete("/v2/keys/{key_id}", status_code=204)
def delete_key(db: DB, user: CurrentUser, key_id: str):
    key = found(db.scalar(select(Key).where(Key.owner_id == user.id, Key.id == key_id)), "Key")
    db.delete(key)
    db.commit()
