"""GET /v2/hooks/registry/: what the registry's nginx front (`auth_request`) is told for each account, method and
request URI. 200 lets the request through, 401 asks for credentials, 403 refuses."""
from __future__ import annotations

import base64
import secrets

import pytest
import requests

from .test_push_tokens import push_token

D = "sha256:" + "a" * 64


def ask(ctl, user: str | None, password: str | None, method: str, uri: str, raw: str | None = None):
    headers = {"X-Original-URI": uri, "X-Original-Method": method}
    if raw is not None:
        headers["Authorization"] = raw
    elif user is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return requests.get(f"{ctl.url}/v2/hooks/registry/", headers=headers, timeout=30)


@pytest.fixture
def apps(owner, app_id, new_user):
    other = new_user("other")
    other_app = f"o-{secrets.token_hex(3)}"
    assert other.post("/v2/apps/", {"id": other_app}).status_code == 201
    return app_id, other_app


PUSH_CASES = [  # (method, uri, expected) for a push token of {app}
    ("GET", "/v2/", 200), ("HEAD", "/v2", 200),
    ("HEAD", "/v2/{app}/blobs/" + D, 200), ("GET", "/v2/{app}/manifests/git-1", 200),
    ("POST", "/v2/{app}/blobs/uploads/", 200), ("PATCH", "/v2/{app}/blobs/uploads/0a1b-2c=.x?_state=abc", 200),
    ("PUT", "/v2/{app}/blobs/uploads/0a1b?digest=" + D, 200), ("PUT", "/v2/{app}/manifests/git-1", 200),
    ("GET", "/v2/{app}/tags/list?n=10", 200), ("POST", f"/v2/{{app}}/blobs/uploads/?mount={D}&from={{app}}", 200),
    ("GET", "/v2/slipway/stack/manifests/trixie", 200), ("HEAD", "/v2/slipway/stack/blobs/" + D, 200),
    ("POST", f"/v2/{{app}}/blobs/uploads/?mount={D}&from=slipway/stack", 200),
    ("DELETE", "/v2/{app}/manifests/" + D, 403), ("PUT", "/v2/slipway/stack/manifests/trixie", 403),
    ("POST", "/v2/slipway/stack/blobs/uploads/", 403), ("GET", "/v2/_catalog", 403),
    ("GET", "/v2/{other}/manifests/git-1", 403), ("HEAD", "/v2/{other}/blobs/" + D, 403),
    ("PUT", "/v2/{other}/manifests/git-1", 403), ("POST", "/v2/{other}/blobs/uploads/", 403),
    ("POST", f"/v2/{{app}}/blobs/uploads/?mount={D}&from={{other}}", 403),
    ("GET", "/v2/{app}/../{other}/manifests/x", 403), ("GET", "/v2//{app}/manifests/x", 403),
    ("GET", "/v2/{App}/manifests/x", 403), ("GET", "/v2/{app}%2Fx/manifests/x", 403),
    ("GET", "/v2/{app}/manifests/", 403), ("GET", "/v2/{app}/anything", 403), ("GET", "/v2/{app}", 403),
    ("OPTIONS", "/v2/{app}/manifests/x", 403), ("get", "/v2/{app}/manifests/x", 403),
    ("GET", "/v3/{app}/manifests/x", 403), ("GET", "", 403),
    ("GET", "/v2/library/{app}/manifests/x", 403), ("GET", "/v2/{other}/{app}/manifests/x", 403),
]


@pytest.mark.parametrize("method,uri,expected", PUSH_CASES)
def test_a_push_token_opens_its_apps_repository_and_the_stack(ctl, owner, apps, method, uri, expected):
    app_id, other_app = apps
    token = push_token(ctl, owner.username, app_id)["push_token"]
    uri = uri.format(app=app_id, other=other_app, App=app_id.upper())
    r = ask(ctl, "push", token, method, uri)
    assert r.status_code == expected, (method, uri, r.text)


def test_credentials(ctl, owner, apps):
    app_id, other_app = apps
    uri = f"/v2/{app_id}/manifests/git-1"
    token = push_token(ctl, owner.username, app_id)["push_token"]
    pull, gc = ctl.env["SLIPWAY_REGISTRY_PULL_PASSWORD"], ctl.env["SLIPWAY_REGISTRY_GC_KEY"]
    for user, password in (("push", "wrong"), ("push", ""), ("pull", "wrong"), ("gc", "wrong"), ("pull", gc),
                           ("gc", pull), ("admin", "secret-pw"), ("push", ctl.builder_key), ("builder", token),
                           (owner.username, "secret-pw"), ("push", owner.token)):
        r = ask(ctl, user, password, "GET", uri)
        assert r.status_code == 401, (user, r.text)
        assert r.headers["WWW-Authenticate"] == 'Basic realm="Slipway registry"'
    for raw in (None, f"token {owner.token}", "Basic", "Basic !!!", "Basic " + base64.b64encode(b"push").decode(),
                "Bearer " + token):
        r = requests.get(f"{ctl.url}/v2/hooks/registry/", timeout=30,
                         headers={"X-Original-URI": uri, "X-Original-Method": "GET",
                                  **({"Authorization": raw} if raw else {})})
        assert r.status_code == 401 and "Basic" in r.headers["WWW-Authenticate"], raw
    assert requests.get(f"{ctl.url}/v2/hooks/registry/", timeout=30,
                        headers={"X-Original-URI": uri, "X-Original-Method": "GET",
                                 "X-Deis-Builder-Auth": ctl.builder_key}).status_code == 401


@pytest.mark.parametrize("method,uri,pull,gc", [
    ("GET", "/v2/", 200, 200), ("GET", "/v2/{app}/manifests/git-1", 200, 200),
    ("HEAD", "/v2/{other}/blobs/" + D, 200, 200), ("GET", "/v2/slipway/stack/tags/list", 200, 200),
    ("GET", "/v2/_catalog?n=1000", 403, 200), ("DELETE", "/v2/{app}/manifests/" + D, 403, 200),
    ("PUT", "/v2/{app}/manifests/git-1", 403, 200), ("POST", "/v2/{app}/blobs/uploads/", 403, 200),
    ("PATCH", "/v2/{app}/blobs/uploads/x", 403, 200), ("GET", "/v2/../etc/passwd", 403, 403),
    ("CONNECT", "/v2/", 403, 403),
])
def test_pull_and_gc_accounts(ctl, apps, method, uri, pull, gc):
    app_id, other_app = apps
    uri = uri.format(app=app_id, other=other_app)
    assert ask(ctl, "pull", ctl.env["SLIPWAY_REGISTRY_PULL_PASSWORD"], method, uri).status_code == pull
    assert ask(ctl, "gc", ctl.env["SLIPWAY_REGISTRY_GC_KEY"], method, uri).status_code == gc


def test_a_push_token_stops_with_its_app(ctl, owner, app_id):
    token = push_token(ctl, owner.username, app_id)["push_token"]
    assert ask(ctl, "push", token, "GET", f"/v2/{app_id}/manifests/git-1").status_code == 200
    assert owner.delete(f"/v2/apps/{app_id}/").status_code == 204
    assert ask(ctl, "push", token, "GET", f"/v2/{app_id}/manifests/git-1").status_code == 401


@pytest.mark.parametrize("method,uri,expected", [
    ("GET", "/v2/", 200), ("PUT", "/v2/slipway/stack/manifests/trixie", 200),
    ("POST", "/v2/slipway/stack/blobs/uploads/", 200), ("HEAD", "/v2/slipway/stack/blobs/" + D, 200),
    ("GET", "/v2/{app}/manifests/git-1", 403), ("PUT", "/v2/{app}/manifests/git-1", 403),
    ("POST", f"/v2/slipway/stack/blobs/uploads/?mount={D}&from={{app}}", 403),
    ("DELETE", "/v2/slipway/stack/manifests/" + D, 403), ("GET", "/v2/_catalog", 403),
])
def test_the_builder_account_publishes_the_stack_images_only(ctl, apps, method, uri, expected):
    uri = uri.format(app=apps[0])
    assert ask(ctl, "builder", ctl.env["SLIPWAY_REGISTRY_BUILDER_PASSWORD"], method, uri).status_code == expected
