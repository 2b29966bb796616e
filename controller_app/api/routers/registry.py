"""GET /v2/hooks/registry/: the platform registry's nginx front asks (`auth_request`) whether to let a request
through. It forwards the client's own credentials (`Authorization: Basic`), the request URI and method; the
answer is 200 (allowed), 401 (no or bad credentials) or 403 (not allowed). Rules: services/registryauth.py.
Asked on every registry request, so nothing slow here: keys compare in constant time, a push token is looked
up by its digest."""
from __future__ import annotations

import base64
import dataclasses
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException

from ...services import registryauth, registryclient
from ...services.passwords import same_secret
from ...settings import get_settings
from ..deps import DB, push_holder

router = APIRouter(tags=["hooks"])
CHALLENGE = {"WWW-Authenticate": 'Basic realm="Slipway registry"'}


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers=CHALLENGE)


def _basic(authorization: str | None) -> tuple[str, str]:
    scheme, _unused, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise _unauthorized("Registry credentials were not provided.")
    try:
        user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except ValueError:  # binascii.Error, UnicodeDecodeError, non-ASCII text
        raise _unauthorized("Malformed registry credentials.") from None
    if not sep:
        raise _unauthorized("Malformed registry credentials.")
    return user, password


@router.get("/v2/hooks/registry/")
def registry_access(db: DB, authorization: Annotated[str | None, Header()] = None,
                    x_original_uri: Annotated[str | None, Header()] = None,
                    x_original_method: Annotated[str | None, Header()] = None):
    user, password = _basic(authorization)
    settings = get_settings()
    app_id = None
    if user == "push":
        found = push_holder(db, password)
        if found is None:
            raise _unauthorized("Invalid or expired push token.")
        app_id = found[1].id
    elif not ((user == "pull" and same_secret(password, settings.registry_pull_password))
              or (user == "builder" and same_secret(password, settings.registry_builder_password))
              or (user == "gc" and same_secret(password, settings.registry_gc_key))):
        raise _unauthorized("Invalid registry credentials.")
    try:
        where = registryauth.target(x_original_uri)
    except registryauth.Refused as exc:
        raise HTTPException(403, f"Refused: {exc}.") from None
    if not registryauth.allowed(user, app_id, x_original_method or "", where, settings.registry_shared_repos) and not (
            # the docker client offers to mount a layer from any repository it saw it in: one of the shared stack
            # images' layers reveals nothing, wherever it is mounted from (and spares uploading the stack)
            where.mount_from and where.mounts
            and registryauth.allowed(user, app_id, x_original_method or "", dataclasses.replace(where, mount_from=()),
                                     settings.registry_shared_repos)
            and all(registryclient.in_shared_repository(d) for d in where.mounts)):
        raise HTTPException(403, f"{user} may not {x_original_method or '?'} {x_original_uri}.")
    return {"allowed": True}
