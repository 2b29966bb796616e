"""Every route × every caller: anonymous, each credential that is not a user's (builder key, router key, node key,
a push token of this app and one of another app, registry GC key, registry pull password, builder cleanup key), and
the users (other
user, collaborator, owner, admin).

The table below must name every route the controller serves: a new route without an entry fails
`test_every_route_is_in_the_matrix`, so nobody adds an endpoint without deciding who may call it.
"""
from __future__ import annotations

import base64
import copy
import secrets
import uuid

import pytest
import requests

from controller_app.main import app as asgi_app

from .certgen import self_signed
from .conftest import REGISTRY, Api

PUBLIC, USER, ADMIN, APP, OWNER, CERT, BUILDER, ROUTER = ("public", "user", "admin", "app", "owner", "cert",
                                                          "builder", "router")
PUSH, GC, REGISTRY_FRONT, NODE, METRICS = "push token", "gc key", "registry front", "node key", "metrics key"
PUSH_OWN = "push token, of its own app"  # the route names no app: each token reads its own app's releases
CLEANUP = "builder cleanup key"
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
    ("GET", "/v2/apps/{id}/deployments/"): APP,
    ("GET", "/v2/apps/{id}/pods/{type}/"): APP, ("POST", "/v2/apps/{id}/pods/restart/"): APP,
    ("POST", "/v2/apps/{id}/pods/{type}/restart/"): APP,
    ("POST", "/v2/apps/{id}/pods/{type}/{name}/restart/"): APP,
    ("GET", "/v2/nodes/"): ADMIN, ("GET", "/v2/nodes/{id}/"): ADMIN, ("POST", "/v2/nodes/{id}/drain/"): ADMIN,
    ("POST", "/v2/nodes/{id}/activate/"): ADMIN, ("POST", "/v2/nodes/{id}/labels/"): ADMIN,
    ("GET", "/v2/apps/{id}/domains/"): APP, ("POST", "/v2/apps/{id}/domains/"): APP,
    ("DELETE", "/v2/apps/{id}/domains/{domain}"): APP,
    ("GET", "/v2/apps/{id}/perms/"): APP, ("POST", "/v2/apps/{id}/perms/"): OWNER,
    ("DELETE", "/v2/apps/{id}/perms/{username}"): OWNER,  # a collaborator's own name: test_collaborator_rule.py
    ("GET", "/v2/apps/{id}/settings/"): APP, ("POST", "/v2/apps/{id}/settings/"): APP,
    ("GET", "/v2/apps/{id}/whitelist/"): APP, ("POST", "/v2/apps/{id}/whitelist/"): APP,
    ("DELETE", "/v2/apps/{id}/whitelist/"): APP,
    ("GET", "/v2/apps/{id}/tls/"): APP, ("POST", "/v2/apps/{id}/tls/"): APP,
    ("GET", "/v2/certs/{name}"): CERT, ("DELETE", "/v2/certs/{name}"): CERT,
    ("POST", "/v2/certs/{name}/domain/"): CERT, ("DELETE", "/v2/certs/{name}/domain/{domain}"): CERT,
    ("GET", "/v2/hooks/key/{fingerprint}"): BUILDER, ("POST", "/v2/hooks/push/"): BUILDER,
    ("POST", "/v2/hooks/apps/alive/"): CLEANUP, ("DELETE", "/v2/hooks/push/"): PUSH_OWN,
    ("POST", "/v2/hooks/config/"): PUSH, ("POST", "/v2/hooks/build/"): PUSH,
    ("GET", "/v2/hooks/releases/{version}/"): PUSH_OWN,
    ("GET", "/v2/hooks/images/"): GC, ("GET", "/v2/hooks/registry/"): REGISTRY_FRONT,
    ("GET", "/v2/routes"): ROUTER, ("POST", "/v2/routes/ack/"): ROUTER,
    ("POST", "/v2/hooks/nodes/report/"): NODE, ("GET", "/metrics"): METRICS,
    ("GET", "/.well-known/acme-challenge/{token}"): PUBLIC,
    ("GET", "/v2/certs/auto/"): USER, ("POST", "/v2/certs/auto/"): USER,
    ("GET", "/v2/certs/auto/{domain}"): APP, ("DELETE", "/v2/certs/auto/{domain}"): APP,
    ("POST", "/v2/certs/auto/{domain}/renew/"): APP,
}
BODIES = {"/v2/apps/{id}/config/": {"values": {"A": "1"}}, "/v2/apps/{id}/scale/": {"web": 1},
          "/v2/apps/{id}/run/": {"command": "true"}, "/v2/apps/{id}/builds/": {"image": "x/y:1"},
          "/v2/apps/{id}/domains/": {"domain": "m.example.com"}, "/v2/apps/{id}/settings/": {"maintenance": False},
          "/v2/apps/{id}/perms/": {"username": "nobody-here"}, "/v2/certs/{name}/domain/": {"domain": "m.x.com"},
          "/v2/nodes/{id}/labels/": {"labels": {"matrix": "1"}},
          "/v2/hooks/nodes/report/": {"node": "matrixnode", "full": False, "tasks": []}}
DESTRUCTIVE = {("DELETE", "/v2/apps/{id}/"), ("DELETE", "/v2/certs/{name}"), ("POST", "/v2/apps/{id}/"),
               ("DELETE", "/v2/hooks/push/")}  # the last ends the cast's push token
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


def _body(template: str, cast: dict) -> dict:
    """The request body: the hooks name the cast's app and its owner (the push token of this app is theirs)."""
    pushed = {"receive_user": cast["owner"].username, "receive_repo": cast["app"]}
    return {"/v2/hooks/push/": pushed, "/v2/hooks/config/": pushed,
            "/v2/hooks/build/": {**pushed, "image": f"{cast['registry']}/{cast['app']}:m"},
            "/v2/hooks/apps/alive/": {"uuids": [str(uuid.uuid4())]}}.get(template, BODIES.get(template, {}))


# The platform services' own routes: a platform's routers do not serve them, its services call the controller
# directly (ctl.service_url, when the matrix runs against a platform; else the controller's one URL).
SERVICE_PATHS = ("/v2/hooks/", "/v2/routes", "/metrics")


def service_url(ctl) -> str:
    return getattr(ctl, "service_url", None) or ctl.url


def _call(api, method: str, path: str, template: str, cast: dict):
    kw = {"json": _body(template, cast)} if method == "POST" else {}
    # what the registry's front forwards (every caller sends it; only that route reads it)
    kw["headers"] = {"X-Original-URI": f"/v2/{cast['app']}/manifests/latest", "X-Original-Method": "GET"}
    if path.startswith(SERVICE_PATHS) and api.url != cast["service_url"]:
        api = copy.copy(api)
        api.url = cast["service_url"]
    return api.request(method, path, **kw)


class KeyHolder(Api):
    """A caller with a credential that is not a user's: fixed headers, as the builder, router, registry send."""

    def __init__(self, url: str, headers: dict):
        super().__init__(url)
        self.fixed = headers

    def headers(self) -> dict:
        return dict(self.fixed)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _push_holder(ctl, username: str, app_id: str) -> KeyHolder:
    r = requests.post(f"{service_url(ctl)}/v2/hooks/push/", json={"receive_user": username, "receive_repo": app_id},
                      headers={"X-Deis-Builder-Auth": ctl.builder_key}, timeout=30)
    assert r.status_code == 200, r.text
    token = r.json()["push_token"]
    return KeyHolder(service_url(ctl), {"X-Slipway-Push-Token": token, "Authorization": _basic("push", token)})


def key_holders(ctl, cast: dict) -> dict:
    gc, pull = ctl.env["SLIPWAY_REGISTRY_GC_KEY"], ctl.env["SLIPWAY_REGISTRY_PULL_PASSWORD"]
    return {"builder": KeyHolder(service_url(ctl), {"X-Deis-Builder-Auth": ctl.builder_key}),
            "router": KeyHolder(service_url(ctl), {"X-Slipway-Router-Auth": ctl.router_key}),
            "node": KeyHolder(service_url(ctl), {"X-Slipway-Node-Auth": ctl.env["SLIPWAY_NODE_KEY"]}),
            "metrics": KeyHolder(service_url(ctl), {"Authorization": f"Bearer {ctl.env['SLIPWAY_METRICS_KEY']}"}),
            "push": _push_holder(ctl, cast["owner"].username, cast["app"]),
            "push_other": _push_holder(ctl, cast["other"].username, cast["other_app"]),
            "gc": KeyHolder(service_url(ctl), {"X-Slipway-GC-Auth": gc, "Authorization": _basic("gc", gc)}),
            "pull": KeyHolder(service_url(ctl), {"Authorization": _basic("pull", pull)}),
            "cleanup": KeyHolder(service_url(ctl), {"X-Slipway-Cleanup-Auth": ctl.env["SLIPWAY_BUILDER_CLEANUP_KEY"]})}


def make_cast(ctl, admin, new_user):
    owner, collaborator, other = new_user("owner"), new_user("collab"), new_user("other")
    app_id, other_app = f"m-{secrets.token_hex(4)}", f"mo-{secrets.token_hex(4)}"
    assert owner.post("/v2/apps/", {"id": app_id}).status_code == 201
    assert other.post("/v2/apps/", {"id": other_app}).status_code == 201
    owner.post(f"/v2/apps/{app_id}/perms/", {"username": collaborator.username})
    owner.post(f"/v2/apps/{app_id}/domains/", {"domain": f"auto-{app_id}.example.com"})
    cert_name = f"m-{secrets.token_hex(3)}"
    pem, key = self_signed("m.example.com")
    assert owner.post("/v2/certs/", {"name": cert_name, "certificate": pem, "key": key}).status_code == 201
    cast = {"owner": owner, "collaborator": collaborator, "other": other, "admin": admin, "app": app_id,
            "other_app": other_app, "cert": cert_name}
    cast["registry"] = ctl.env.get("SLIPWAY_REGISTRY") or REGISTRY  # the platform's, when run against one
    cast["service_url"] = service_url(ctl)
    return {**cast, **key_holders(ctl, cast)}


@pytest.fixture(scope="module")
def shared_cast(ctl, admin):
    from .conftest import register
    return make_cast(ctl, admin, lambda prefix: register(ctl, f"{prefix}-{secrets.token_hex(3)}"))


KEYS = ("builder", "router", "node", "metrics", "push", "push_other", "gc", "pull", "cleanup")  # not a user's
USERS = ("other", "collaborator", "owner", "admin")
CALLERS = ("anonymous", *KEYS, *USERS)  # the refused first: a destructive call that succeeds ends the round
NOT_USERS = {who: 401 for who in ("anonymous", *KEYS)}


def only(*allowed: str, **refused: int) -> dict:
    """Everyone is refused with 401 but `allowed` (who must get past authorization) and `refused` (this code)."""
    return {**{who: 401 for who in CALLERS if who not in allowed}, **refused}


EXPECT = {  # who is refused, and how; everyone else must get past authorization
    APP: {**NOT_USERS, "other": 403},
    OWNER: {**NOT_USERS, "other": 403, "collaborator": 403},
    CERT: {**NOT_USERS, "other": 403, "collaborator": 403},
    ADMIN: {**NOT_USERS, "other": 403, "collaborator": 403, "owner": 403},
    USER: NOT_USERS,
    BUILDER: only("builder"),
    ROUTER: only("router"),
    NODE: only("node"),
    METRICS: only("metrics"),
    PUSH: only("push", push_other=403),  # another app's token names this app: refused
    PUSH_OWN: only("push", "push_other"),  # v1 of its own app, whichever the token is (a test_hook_* shows it)
    GC: only("gc"),
    CLEANUP: only("cleanup"),
    REGISTRY_FRONT: only("push", "pull", "gc", push_other=403),  # reading this app's repository
    PUBLIC: {},
}


def test_every_kind_names_every_caller():
    for kind, refusals in EXPECT.items():
        assert set(refusals) <= set(CALLERS), kind
    for kind in set(MATRIX.values()):
        assert kind in EXPECT, kind


@pytest.mark.parametrize("method,template", sorted(MATRIX), ids=lambda v: str(v))
def test_route_authorization(ctl, shared_cast, admin, new_user, anon, method, template):
    kind = MATRIX[(method, template)]
    destructive = (method, template) in DESTRUCTIVE
    cast = make_cast(ctl, admin, new_user) if destructive else shared_cast
    for who in CALLERS:
        api = anon if who == "anonymous" else cast[who]
        if (method, template) in SELF_REVOKING and who in USERS:
            api = new_user(who)  # token-revoking and self-deleting routes must not break the cast
        path = _fill(template, cast["app"], cast["cert"])
        status = _call(api, method, path, template, cast).status_code
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
    assert requests.get(service_url(ctl) + "/v2/routes", headers=builder).status_code == 401
    assert requests.get(service_url(ctl) + "/v2/routes", headers=router).status_code == 200
    assert requests.get(service_url(ctl) + "/v2/hooks/key/00:11", headers=router).status_code == 401
    assert requests.get(ctl.url + "/v2/apps/", headers=builder).status_code == 401
