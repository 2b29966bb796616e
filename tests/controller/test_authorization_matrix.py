"""Every route × anonymous / other user / collaborator / owner / admin.

The table below must name every route the controller serves: a new route without an entry fails
`test_every_route_is_in_the_matrix`, so nobody adds an endpoint without deciding who may call it.
"""
from __future__ import annotations

import secrets
import uuid

import pytest
import requests

from controller_app.main import app as asgi_app

from .certgen import self_signed

PUBLIC, USER, ADMIN, APP, OWNER, CERT, BUILDER, ROUTER = ("public", "user", "admin", "app", "owner", "cert",
                                                          "builder", "router")
MATRIX = {
    ("GET", "/healthz"): PUBLIC, ("GET", "/readiness"): PUBLIC,
    ("POST", "/v2/auth/register/"): ADMIN, ("POST", "/v2/auth/login/"): PUBLIC,  # register: admin_only
    ("GET", "/v2/"): USER, ("GET", "/v2/auth/whoami/"): USER, ("POST", "/v2/auth/passwd/"): USER,
    ("POST", "/v2/auth/tokens/"): USER, ("DELETE", "/v2/auth/cancel/"): USER,
    ("GET", "/v2/keys/"): USER, ("POST", "/v2/keys/"): USER, ("DELETE", "/v2/keys/{key_id}"): USER,
    ("GET", "/v2/apps/"): USER, ("POST", "/v2/apps/"): USER,
    ("GET", "/v2/certs/"): USER, ("POST", "/v2/certs/"): USER, ("GET", "/v2/admin/limits/"): USER,
    ("GET", "/v2/users/"): ADMIN, ("GET", "/v2/admin/perms/"): ADMIN, ("POST", "/v2/admin/perms/"): ADMIN,
    ("DELETE", "/v2/admin/perms/{username}"): ADMIN, ("POST", "/v2/admin/limits/"): ADMIN,
    ("GET", "/v2/apps/{id}/"): APP, ("POST", "/v2/apps/{id}/"): OWNER, ("DELETE", "/v2/apps/{id}/"): OWNER,
    ("GET", "/v2/apps/{id}/logs/"): APP, ("POST", "/v2/apps/{id}/run/"): APP,
    ("GET", "/v2/apps/{id}/config/"): APP, ("POST", "/v2/apps/{id}/config/"): APP,
    ("GET", "/v2/apps/{id}/builds/"): APP, ("POST", "/v2/apps/{id}/builds/"): APP,
    ("GET", "/v2/apps/{id}/builds/{build_uuid}/"): APP,
    ("GET", "/v2/apps/{id}/releases/"): APP, ("GET", "/v2/apps/{id}/releases/v{version}/"): APP,
    ("POST", "/v2/apps/{id}/releases/rollback/"): APP,
    ("POST", "/v2/apps/{id}/scale/"): APP, ("GET", "/v2/apps/{id}/pods/"): APP,
    ("GET", "/v2/apps/{id}/pods/{type}/"): APP, ("POST", "/v2/apps/{id}/pods/restart/"): APP,
    ("POST", "/v2/apps/{id}/pods/{type}/restart/"): APP,
    ("POST", "/v2/apps/{id}/pods/{type}/{name}/restart/"): APP,
    ("GET", "/v2/nodes/"): ADMIN, ("GET", "/v2/nodes/{id}/"): ADMIN, ("POST", "/v2/nodes/{id}/drain/"): ADMIN,
    ("POST", "/v2/nodes/{id}/activate/"): ADMIN,
    ("GET", "/v2/apps/{id}/domains/"): APP, ("POST", "/v2/apps/{id}/domains/"): APP,
    ("DELETE", "/v2/apps/{id}/domains/{domain}"): APP,
    ("GET", "/v2/apps/{id}/perms/"): APP, ("POST", "/v2/apps/{id}/perms/"): APP,
    ("DELETE", "/v2/apps/{id}/perms/{username}"): APP,
    ("GET", "/v2/apps/{id}/settings/"): APP, ("POST", "/v2/apps/{id}/settings/"): APP,
    ("GET", "/v2/certs/{name}"): CERT, ("DELETE", "/v2/certs/{name}"): CERT,
    ("POST", "/v2/certs/{name}/domain/"): CERT, ("DELETE", "/v2/certs/{name}/domain/{domain}"): CERT,
    ("GET", "/v2/hooks/key/{fingerprint}"): BUILDER, ("POST", "/v2/hooks/push/"): BUILDER,
    ("POST", "/v2/hooks/config/"): BUILDER, ("POST", "/v2/hooks/build/"): BUILDER,
    ("GET", "/v2/hooks/images/"): BUILDER,
    ("GET", "/v2/routes"): ROUTER, ("POST", "/v2/routes/ack/"): ROUTER,
    ("GET", "/.well-known/acme-challenge/{token}"): PUBLIC,
    ("GET", "/v2/certs/auto/"): USER, ("POST", "/v2/certs/auto/"): USER,
    ("GET", "/v2/certs/auto/{domain}"): APP, ("DELETE", "/v2/certs/auto/{domain}"): APP,
    ("POST", "/v2/certs/auto/{domain}/renew/"): APP,
}
BODIES = {"/v2/apps/{id}/config/": {"values": {"A": "1"}}, "/v2/apps/{id}/scale/": {"web": 1},
          "/v2/apps/{id}/run/": {"command": "true"}, "/v2/apps/{id}/builds/": {"image": "x/y:1"},
          "/v2/apps/{id}/domains/": {"domain": "m.example.com"}, "/v2/apps/{id}/settings/": {"maintenance": False},
          "/v2/apps/{id}/perms/": {"username": "nobody-here"}, "/v2/certs/{name}/domain/": {"domain": "m.x.com"}}
DESTRUCTIVE = {("DELETE", "/v2/apps/{id}/"), ("DELETE", "/v2/certs/{name}"), ("POST", "/v2/apps/{id}/")}
SELF_REVOKING = {("POST", "/v2/auth/tokens/"), ("DELETE", "/v2/auth/cancel/")}


def served_routes() -> set[tuple[str, str]]:
    out = set()
    for route in asgi_app.routes:
        path = getattr(route, "path", "")
        if path.startswith(("/docs", "/redoc", "/openapi")):
            continue
        for method in getattr(route, "methods", ()) or ():
            if method != "HEAD":
                out.add((method, path.replace("{fingerprint:path}", "{fingerprint}")))
    return out


def test_every_route_is_in_the_matrix():
    assert served_routes() == set(MATRIX)


def _fill(path: str, app_id: str, cert: str) -> str:
    if path.startswith("/v2/certs/auto/"):  # the app's own domain: access follows the domain's app
        path = path.replace("{domain}", f"auto-{app_id}.example.com")
    return (path.replace("{token}", "t0ken").replace("{id}", app_id).replace("{name}", cert).replace("{type}", "web")
            .replace("{version}", "1").replace("{build_uuid}", str(uuid.uuid4())).replace("{domain}", "d.example.com")
            .replace("{username}", "nobody-here").replace("{key_id}", "k").replace("{fingerprint}", "00:11"))


def _call(api, method: str, path: str, template: str):
    kw = {"json": BODIES.get(template, {})} if method == "POST" else {}
    return api.request(method, path, **kw)


def make_cast(admin, new_user):
    owner, collaborator, other = new_user("owner"), new_user("collab"), new_user("other")
    app_id = f"m-{secrets.token_hex(4)}"
    assert owner.post("/v2/apps/", {"id": app_id}).status_code == 201
    owner.post(f"/v2/apps/{app_id}/perms/", {"username": collaborator.username})
    owner.post(f"/v2/apps/{app_id}/domains/", {"domain": f"auto-{app_id}.example.com"})
    cert_name = f"m-{secrets.token_hex(3)}"
    pem, key = self_signed("m.example.com")
    assert owner.post("/v2/certs/", {"name": cert_name, "certificate": pem, "key": key}).status_code == 201
    return {"owner": owner, "collaborator": collaborator, "other": other, "admin": admin, "app": app_id,
            "cert": cert_name}


@pytest.fixture(scope="module")
def shared_cast(ctl, admin):
    from .conftest import register
    return make_cast(admin, lambda prefix: register(ctl, f"{prefix}-{secrets.token_hex(3)}"))


EXPECT = {  # who is refused (401 for anonymous, 403 for the rest); everyone else must get past authorization
    APP: {"anonymous": 401, "other": 403},
    OWNER: {"anonymous": 401, "other": 403, "collaborator": 403},
    CERT: {"anonymous": 401, "other": 403, "collaborator": 403},
    ADMIN: {"anonymous": 401, "other": 403, "collaborator": 403, "owner": 403},
    USER: {"anonymous": 401},
    BUILDER: {"anonymous": 401, "other": 401, "collaborator": 401, "owner": 401, "admin": 401},
    ROUTER: {"anonymous": 401, "other": 401, "collaborator": 401, "owner": 401, "admin": 401},
    PUBLIC: {},
}


@pytest.mark.parametrize("method,template", sorted(MATRIX), ids=lambda v: str(v))
def test_route_authorization(ctl, shared_cast, admin, new_user, anon, method, template):
    kind = MATRIX[(method, template)]
    destructive = (method, template) in DESTRUCTIVE
    cast = make_cast(admin, new_user) if destructive else shared_cast
    for who in ("anonymous", "other", "collaborator", "owner", "admin"):
        api = anon if who == "anonymous" else cast[who]
        if (method, template) in SELF_REVOKING and who != "anonymous":
            api = new_user(who)  # token-revoking and self-deleting routes must not break the cast
        path = _fill(template, cast["app"], cast["cert"])
        status = _call(api, method, path, template).status_code
        expected = EXPECT[kind].get(who)
        if expected:
            assert status == expected, f"{who} {method} {path}: {status}"
        else:
            assert status not in (401, 403), f"{who} {method} {path}: {status}"
        if destructive and status < 300:
            return  # the resource is gone for the rest of the cast; the refusals above were checked


def test_builder_and_router_keys_open_their_routes_only(ctl):
    builder = {"X-Deis-Builder-Auth": ctl.builder_key}
    router = {"X-Slipway-Router-Auth": ctl.router_key}
    assert requests.get(ctl.url + "/v2/routes", headers=builder).status_code == 401
    assert requests.get(ctl.url + "/v2/routes", headers=router).status_code == 200
    assert requests.get(ctl.url + "/v2/hooks/key/00:11", headers=router).status_code == 401
    assert requests.get(ctl.url + "/v2/apps/", headers=builder).status_code == 401
