"""The hottest reads as one prepared statement each, without the ORM, on the event loop (asyncreads.py):
one round trip per request.

Each statement also resolves the caller (token digest -> user) and the caller's access to the app
(owner, superuser or collaborator), so that authentication, authorization and the payload cost one trip.
The route decides from the row's facts (deps.require_active / deps.require_app), in that order.
"""
from __future__ import annotations

import collections
import dataclasses

from ..asyncreads import prepared, rows
from ..settings import get_settings

APP_CONFIG = """
SELECT u.is_active, a.uuid IS NOT NULL AS app_found,
       (u.is_superuser OR a.owner_id = u.id
        OR EXISTS (SELECT 1 FROM collaborators k WHERE k.app_uuid = a.uuid AND k.user_id = u.id)) AS allowed,
       c.uuid, c.created, c.updated, o.username, c.values, c.memory, c.cpu, c.tags, c.healthcheck
FROM tokens t
JOIN users u ON u.id = t.user_id
LEFT JOIN apps a ON a.id = %(app)s
LEFT JOIN LATERAL (SELECT r.config_uuid FROM releases r WHERE r.app_uuid = a.uuid AND NOT r.failed
                   ORDER BY r.version DESC LIMIT 1) latest ON true
LEFT JOIN configs c ON c.uuid = latest.config_uuid
LEFT JOIN users o ON o.id = c.owner_id
WHERE t.digest = %(digest)s
"""
EXECUTE_APP_CONFIG = prepared("slipway_app_config", APP_CONFIG)
ConfigRow = collections.namedtuple("ConfigRow", "is_active app_found allowed uuid created updated username values "
                                                "memory cpu tags healthcheck")

VISIBLE = """(u.is_superuser OR a.owner_id = u.id
              OR EXISTS (SELECT 1 FROM collaborators k WHERE k.app_uuid = a.uuid AND k.user_id = u.id))"""
APPS_PAGE = f"""
WITH me AS MATERIALIZED (
    SELECT u.id, u.is_active, u.is_superuser, (SELECT count(*) FROM apps a WHERE {VISIBLE}) AS total
    FROM tokens t JOIN users u ON u.id = t.user_id
    WHERE t.digest = %(digest)s)
SELECT u.is_active, u.total, p.uuid, p.id, p.created, p.updated, p.structure, p.owner
FROM me AS u
LEFT JOIN LATERAL (SELECT a.uuid, a.id, a.created, a.updated, a.structure, o.username AS owner
                   FROM apps a JOIN users o ON o.id = a.owner_id
                   WHERE {VISIBLE}
                   ORDER BY a.id LIMIT %(limit)s OFFSET %(offset)s) p ON true
"""
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
                    "tags": row.tags or {}, "healthcheck": row.healthcheck or {}}


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
