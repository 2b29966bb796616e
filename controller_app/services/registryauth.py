"""Who may do what in the platform registry: the rules behind its nginx front's `auth_request`.

Accounts (HTTP basic, as the docker client sends them):
- `push` with a push token: pull and push (not delete) the repository named like the token's app, pull the
  shared stack repositories (SLIPWAY_REGISTRY_SHARED_REPOS);
- `pull` with SLIPWAY_REGISTRY_PULL_PASSWORD (the nodes): pull any repository;
- `builder` with SLIPWAY_REGISTRY_BUILDER_PASSWORD (the builder role publishing the stack images): pull and
  push the shared repositories only;
- `gc` with SLIPWAY_REGISTRY_GC_KEY (the registry's garbage collection): everything.
Every account may make the base check (`/v2/`); only `gc` lists the catalog. The request URI is parsed
strictly (distribution's routes and repository names); anything else is refused.
"""
from __future__ import annotations

import dataclasses
import re
import urllib.parse

from .imagerefs import REPOSITORY

PULL = frozenset({"GET", "HEAD"})
PUSH = PULL | {"POST", "PUT", "PATCH"}
ALL = PUSH | {"DELETE"}
_NAME = REPOSITORY.pattern
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+"
ROUTE = re.compile(
    rf"/v2/(?P<name>{_NAME})/(?:manifests/(?:{_TAG}|{_DIGEST})|blobs/{_DIGEST}|blobs/uploads/"
    rf"|blobs/uploads/[A-Za-z0-9._=-]+|tags/list|referrers/{_DIGEST})", re.ASCII)


class Refused(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Target:
    kind: str  # base, catalog or repository
    repository: str | None = None
    mount_from: tuple[str, ...] = ()  # a cross-repository blob mount reads these repositories
    mounts: tuple[str, ...] = ()  # the blobs it mounts (digests)


def target(uri: str | None) -> Target:
    """What a request URI (nginx's $request_uri: path and query, as sent) touches; Refused when it is not one
    of distribution's routes."""
    if not uri:
        raise Refused("no request URI")
    path, _unused, query = uri.partition("?")
    if path in ("/v2/", "/v2"):
        return Target("base")
    if path == "/v2/_catalog":
        return Target("catalog")
    m = ROUTE.fullmatch(path)
    if not m:
        raise Refused(f"not a registry route: {path[:200]}")
    try:
        params = urllib.parse.parse_qs(query, keep_blank_values=True, strict_parsing=False)
    except ValueError:
        raise Refused("bad query") from None
    sources, mounts = tuple(params.get("from", ())), tuple(params.get("mount", ()))
    if any(not REPOSITORY.fullmatch(s) for s in sources) or any(not re.fullmatch(_DIGEST, d) for d in mounts):
        raise Refused("bad mount source")
    return Target("repository", m.group("name"), sources, mounts)


def allowed(account: str, app_id: str | None, method: str, where: Target, shared: tuple[str, ...]) -> bool:
    """Whether `account` (push, pull or gc; push with its token's app) may make this request."""
    if method not in ALL:
        return False
    if account == "gc":
        return True
    if where.kind == "base":
        return method in PULL
    if where.kind != "repository":
        return False
    if account == "pull":
        return method in PULL and not where.mount_from
    if account == "builder":
        return (where.repository in shared and method in PUSH
                and all(source in shared for source in where.mount_from))
    if account != "push" or not app_id:
        return False
    if not all(source == app_id or source in shared for source in where.mount_from):
        return False  # mounting a blob from a repository is reading it
    if where.repository == app_id:
        return method in PUSH
    return where.repository in shared and method in PULL
