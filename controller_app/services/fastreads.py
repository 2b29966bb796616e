"""The hottest reads as one prepared statement each, without the ORM, on the event loop (asyncreads.py):
one round trip per request.

Each statement also resolves the caller (token digest -> user) and the caller's access to the app with
access.may_use, the rule the ORM paths use, so that authentication, authorization and the payload cost one
trip. The statements are built with SQLAlchemy and compiled once, at import, to the SQL that is prepared.
The route decides from the row's facts (deps.require_active / deps.require_app), in that order.
"""
from __future__ import annotations

import collections
import dataclasses

from sqlalchemy import and_, bindparam, func, literal_column, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased

from ..asyncreads import prepared, rows
from ..models import App, Config, PushToken, Release, RoutingState, Token, User
from ..settings import get_settings
from .access import may_use
from .passwords import token_digest

_t, _u, _a = aliased(Token, name="t"), aliased(User, name="u"), aliased(App, name="a")
_r, _c, _o = aliased(Release, name="r"), aliased(Config, name="c"), aliased(User, name="o")
_caller = select(_t).join(_u, _u.id == _t.user_id).where(_t.digest == bindparam("digest"))


def _sql(statement) -> str:
    """The statement as psycopg2 takes it (%(name)s parameters)."""
    return str(statement.compile(dialect=postgresql.psycopg2.dialect()))


def _app_config_statement():
    """Caller, access and the app's current config (its last good release's)."""
    latest = (select(_r.config_uuid).where(_r.app_uuid == _a.uuid, ~_r.failed)
              .order_by(_r.version.desc()).limit(literal_column("1")).lateral("latest"))
    return (_caller.with_only_columns(
            _u.is_active, _a.uuid.isnot(None).label("app_found"), may_use(_u, _a).label("allowed"),
            _c.uuid, _c.created, _c.updated, _o.username, _c.values, _c.memory, _c.cpu, _c.tags,
            _c.healthcheck, _c.registry)
            .outerjoin(_a, _a.id == bindparam("app"))
            .outerjoin(latest, true())
            .outerjoin(_c, _c.uuid == latest.c.config_uuid)
            .outerjoin(_o, _o.id == _c.owner_id))


def _apps_page_statement():
    """Caller, how many apps they may use, and one page of those apps (by id) with their owners."""
    counted = aliased(App, name="a")
    total = select(func.count()).select_from(counted).where(may_use(_u, counted)).scalar_subquery()
    me = (_caller.with_only_columns(_u.id, _u.is_active, _u.is_superuser, total.label("total"))
          .cte("me").prefix_with("MATERIALIZED"))
    page = (select(_a.uuid, _a.id, _a.created, _a.updated, _a.structure, _o.username.label("owner"))
            .join(_o, _o.id == _a.owner_id).where(may_use(me.c, _a))
            .order_by(_a.id).limit(bindparam("limit")).offset(bindparam("offset")).lateral("p"))
    return (select(me.c.is_active, me.c.total, page.c.uuid, page.c.id, page.c.created, page.c.updated,
                   page.c.structure, page.c.owner)
            .select_from(me).outerjoin(page, true()))


def _push_release_statement():
    """A push token's holder (unexpired, active, still allowed to use the token's app) and the release
    `version` of that app: no row when the token is not valid (as api/deps.push_holder), NULLs for no release."""
    p = aliased(PushToken, name="p")
    return (select(may_use(_u, _a).label("allowed"), _r.version, _r.state, _r.exception)
            .select_from(p).join(_u, _u.id == p.user_id).join(_a, _a.uuid == p.app_uuid)
            .outerjoin(_r, and_(_r.app_uuid == _a.uuid, _r.version == bindparam("version")))
            .where(p.digest == bindparam("digest"), p.expires > func.now(), _u.is_active.is_(True)))


APP_CONFIG = _sql(_app_config_statement())
EXECUTE_APP_CONFIG = prepared("slipway_app_config", APP_CONFIG)
ConfigRow = collections.namedtuple("ConfigRow", "is_active app_found allowed uuid created updated username values "
                                                "memory cpu tags healthcheck registry")

PUSH_RELEASE = _sql(_push_release_statement())
EXECUTE_PUSH_RELEASE = prepared("slipway_push_release", PUSH_RELEASE)
EXECUTE_ROUTES_GENERATION = prepared("slipway_routes_generation", _sql(select(RoutingState.generation)))

APPS_PAGE = _sql(_apps_page_statement())
EXECUTE_APPS_PAGE = prepared("slipway_apps_page", APPS_PAGE)
AppRow = collections.namedtuple("AppRow", "is_active total uuid id created updated structure owner")


@dataclasses.dataclass(frozen=True)
class Access:
    """What the route needs to answer 401, 404 or 403 exactly as the ORM dependencies do."""

    user_found: bool
    user_active: bool
    app_found: bool = False
    allowed: bool = False


async def app_config(digest: str, app_id: str) -> tuple[Access, dict | None]:
    """The caller's access to `app_id` and the app's current config (the last good release's) as the
    Deis body, in one statement."""
    found = await rows(EXECUTE_APP_CONFIG, {"digest": digest, "app": app_id})
    row = ConfigRow(*found[0]) if found else None
    if row is None:
        return Access(False, False, False, False), None
    access = Access(True, bool(row.is_active), bool(row.app_found), bool(row.allowed))
    if row.uuid is None:
        return access, None
    return access, {"uuid": row.uuid, "created": row.created, "updated": row.updated, "owner": row.username,
                    "app": app_id, "values": row.values or {}, "memory": row.memory or {}, "cpu": row.cpu or {},
                    "tags": row.tags or {}, "healthcheck": row.healthcheck or {}, "registry": row.registry or {}}


async def apps_page(digest: str, limit: int, offset: int) -> tuple[Access, int, list[dict]]:
    """The caller, how many apps they may see, and one page of them (by id) as Deis bodies."""
    found = [AppRow(*r) for r in await rows(EXECUTE_APPS_PAGE, {"digest": digest, "limit": limit,
                                                                "offset": offset})]
    if not found:
        return Access(False, False), 0, []
    domain = get_settings().platform_domain
    return Access(True, bool(found[0].is_active)), found[0].total, [
        {"uuid": r.uuid, "created": r.created, "updated": r.updated, "id": r.id, "owner": r.owner,
         "structure": r.structure or {}, "url": f"{r.id}.{domain}"} for r in found if r.uuid is not None]


async def push_release(token: str | None, version: int) -> tuple[bool, dict | None]:
    """Whether the push token is valid (for its app, now), and its app's release `version` as the builder's
    hook shows it (None when there is none)."""
    if not token:
        return False, None
    found = await rows(EXECUTE_PUSH_RELEASE, {"digest": token_digest(token), "version": version})
    if not found or not found[0][0]:
        return False, None
    _unused, number, state, reason = found[0]
    return True, None if number is None else {"version": number, "state": state, "reason": reason or ""}


async def routes_generation() -> int:
    """The routing generation (as routing.generation)."""
    found = await rows(EXECUTE_ROUTES_GENERATION, {})
    return (found[0][0] if found else 0) or 0
