"""Who may use an app is one rule (controller_app/services/access.py), and every path that asks it agrees.

The ORM paths (GET /v2/apps/{id}/, the owner-only transfer, the builder's push check) and the fast reads
(GET /v2/apps/{id}/config/ and GET /v2/apps/, one prepared statement each) answer the same for every kind of
caller: the owner, a collaborator, an administrator, a stranger, a collaborator whose right was revoked, a
deactivated user and a deleted one. Then the rule itself, as the ORM asks it and as the fast read's statement
computes it, on every pair of those users and apps in the controller's PostgreSQL.
"""
from __future__ import annotations

import secrets

import psycopg2
import pytest
import requests
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from controller_app.models import App, User
from controller_app.services import access
from controller_app.services.fastreads import APP_CONFIG, APPS_PAGE
from controller_app.services.passwords import token_digest
from tests.live import psql

from .conftest import register

# what each caller gets: the app itself (ORM), its config (fast read), its transfer (owner-only, ORM),
# whether it is in the caller's app list (fast read) and the builder's push check for that user (ORM)
EXPECTED = {
    "owner": (200, 200, 200, True, 200),
    "collaborator": (200, 200, 403, True, 200),
    "admin": (200, 200, 200, True, 200),
    "stranger": (403, 403, 403, False, 403),
    "revoked": (403, 403, 403, False, 403),
    "deactivated": (401, 401, 401, None, 404),
    "deleted": (401, 401, 401, None, 404),
}


@pytest.fixture(scope="module")
def cast(ctl, admin):
    """The callers and one app they relate to in every way."""
    people = {"owner": register(ctl, f"own-{secrets.token_hex(3)}"), "admin": admin}
    for kind in ("collaborator", "stranger", "revoked", "deactivated", "deleted"):
        people[kind] = register(ctl, f"{kind[:5]}-{secrets.token_hex(3)}")
    app_id = f"acc-{secrets.token_hex(4)}"
    owner = people["owner"]
    assert owner.post("/v2/apps/", {"id": app_id}).status_code == 201
    for kind in ("collaborator", "revoked", "deactivated", "deleted"):
        r = owner.post(f"/v2/apps/{app_id}/perms/", {"username": people[kind].username})
        assert r.status_code == 201, r.text
    assert owner.delete(f"/v2/apps/{app_id}/perms/{people['revoked'].username}").status_code == 204
    psql(f"UPDATE users SET is_active = false WHERE username = '{people['deactivated'].username}'",
         ctl.database_url)
    assert people["deleted"].delete("/v2/auth/cancel/").status_code == 204
    yield people, app_id
    owner.delete(f"/v2/apps/{app_id}/")


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_every_path_answers_the_same(ctl, cast, kind):
    people, app_id = cast
    caller = people[kind]
    app, config = caller.get(f"/v2/apps/{app_id}/"), caller.get(f"/v2/apps/{app_id}/config/")
    transfer = caller.post(f"/v2/apps/{app_id}/", {"owner": people["owner"].username})
    listing = caller.get("/v2/apps/", params={"limit": 1000})
    listed = None if listing.status_code == 401 else app_id in {a["id"] for a in listing.json()["results"]}
    push = requests.post(f"{ctl.url}/v2/hooks/push/", timeout=30, headers={"X-Deis-Builder-Auth": ctl.builder_key},
                         json={"receive_user": caller.username, "receive_repo": app_id, "action": "fetch"})
    got = (app.status_code, config.status_code, transfer.status_code, listed, push.status_code)
    assert got == EXPECTED[kind], f"{kind}: {got}"
    if listed is not None:
        assert listing.json()["count"] == len(listing.json()["results"])


def test_an_app_nobody_has_is_404_on_both_paths(cast):
    people, _ = cast
    missing = f"none-{secrets.token_hex(4)}"
    for kind in ("owner", "admin", "stranger"):
        assert people[kind].get(f"/v2/apps/{missing}/").status_code == 404
        assert people[kind].get(f"/v2/apps/{missing}/config/").status_code == 404


def test_the_rule_as_the_orm_asks_it_and_as_the_fast_reads_compute_it(ctl, cast, admin):
    """Every live user × every app in the database: access.can_use (ORM) equals the `allowed` column of the
    fast config read and membership in the fast app list, run on the same PostgreSQL."""
    people, _ = cast
    tokens = {p.username: p.token for p in people.values() if p.token}
    engine = create_engine(ctl.database_url)
    try:
        with Session(engine) as db, psycopg2.connect(ctl.database_url) as conn:
            users = db.scalars(select(User).where(User.username.in_(tokens))).all()
            apps = db.scalars(select(App)).all()
            assert len(users) >= 6 and apps
            with conn.cursor() as cur:
                for user in users:
                    digest = token_digest(tokens[user.username])
                    cur.execute(APPS_PAGE, {"digest": digest, "limit": 100000, "offset": 0})
                    page = cur.fetchall()
                    listed = {row[3] for row in page if row[3] is not None}
                    orm = {app.id for app in apps if access.can_use(db, app, user)}
                    assert listed == orm, user.username
                    assert page[0][1] == len(orm), user.username
                    for app in apps:
                        cur.execute(APP_CONFIG, {"digest": digest, "app": app.id})
                        (row,) = cur.fetchall()
                        found, allowed = access.find_app(db, user, app.id)
                        assert (row[1], row[2]) == (True, app.id in orm) == (found is not None, allowed), \
                            (user.username, app.id)
                        owns = access.find_app(db, user, app.id, owner_only=True)[1]
                        assert owns == (user.is_superuser or app.owner_id == user.id)
    finally:
        engine.dispose()
