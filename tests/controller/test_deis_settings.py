"""Deis Workflow's views over an app's settings, as the Deis CLI calls them: `whitelist:*` (/whitelist/),
`tls:*` (/tls/) and `labels:*` (the `label` setting), and what the router is told of each."""
from __future__ import annotations

from .test_domains_certs import app_route, routes


def test_whitelist_add_list_remove(ctl, owner, app_id):
    path = f"/v2/apps/{app_id}/whitelist/"
    assert owner.get(path).json() == {"addresses": []}
    r = owner.post(path, {"addresses": ["10.0.0.1", "192.168.0.0/16"]})
    assert r.status_code == 201 and r.json() == {"addresses": ["10.0.0.1/32", "192.168.0.0/16"]}, r.text
    r = owner.post(path, {"addresses": ["10.0.0.1", "2001:db8::/32"]})  # adds to the list, each once
    assert r.json() == {"addresses": ["10.0.0.1/32", "192.168.0.0/16", "2001:db8::/32"]}
    assert app_route(ctl, app_id)["whitelist"] == r.json()["addresses"]
    assert owner.get(f"/v2/apps/{app_id}/settings/").json()["whitelist"] == r.json()["addresses"]
    assert owner.delete(path, json={"addresses": ["192.168.0.0/16"]}).status_code == 204
    assert owner.get(path).json() == {"addresses": ["10.0.0.1/32", "2001:db8::/32"]}
    assert app_route(ctl, app_id)["whitelist"] == ["10.0.0.1/32", "2001:db8::/32"]


def test_bad_whitelist_input_is_refused_and_nothing_changes(ctl, owner, app_id):
    path = f"/v2/apps/{app_id}/whitelist/"
    owner.post(path, {"addresses": ["10.0.0.1"]})
    generation = routes(ctl)["generation"]
    r = owner.post(path, {"addresses": ["10.0.0.2", "not-an-address"]})
    assert r.status_code == 400 and r.json()["addresses"] == ["'not-an-address' is not an IP address or CIDR"]
    r = owner.delete(path, json={"addresses": ["10.0.0.1", "10.9.9.9"]})  # one is not there: none is removed
    assert r.status_code == 422 and "10.9.9.9/32" in r.json()["detail"], r.text
    assert owner.post(path, {}).status_code == 400
    assert owner.get(path).json() == {"addresses": ["10.0.0.1/32"]}
    assert routes(ctl)["generation"] == generation


def test_tls_enforced_and_back(ctl, owner, app_id):
    path = f"/v2/apps/{app_id}/tls/"
    tls = owner.get(path).json()
    assert tls["https_enforced"] is False and tls["app"] == app_id and tls["owner"] == owner.username
    r = owner.post(path, {"https_enforced": True})
    assert r.status_code == 201 and r.json()["https_enforced"] is True, r.text
    assert app_route(ctl, app_id)["enforce_https"] is True
    assert owner.get(f"/v2/apps/{app_id}/settings/").json()["enforce_https"] is True
    r = owner.post(path, {"https_enforced": True})
    assert r.status_code == 409 and "already" in r.json()["detail"], r.text
    r = owner.post(path, {"https_enforced": "maybe"})
    assert r.status_code == 400 and "https_enforced" in r.json(), r.text
    assert owner.post(path, {"https_enforced": False}).status_code == 201
    assert app_route(ctl, app_id)["enforce_https"] is False


def test_labels_set_shown_and_unset_without_touching_the_routes(ctl, owner, app_id):
    path = f"/v2/apps/{app_id}/settings/"
    generation = routes(ctl)["generation"]
    r = owner.post(path, {"label": {"team": "frontend", "git_repo": "example.com-shop.git"}})
    assert r.status_code == 200 and r.json()["label"] == {"team": "frontend", "git_repo": "example.com-shop.git"}
    assert owner.post(path, {"label": {"team": "backend"}}).json()["label"]["team"] == "backend"
    assert owner.post(path, {"label": {"git_repo": None}}).json()["label"] == {"team": "backend"}
    assert owner.get(path).json()["label"] == {"team": "backend"}
    assert routes(ctl)["generation"] == generation  # labels are not the router's business
    r = owner.post(path, {"label": {"nothere": None}})
    assert r.status_code == 422 and "nothere" in r.json()["detail"], r.text
    for bad in ({"bad key": "x"}, {"team": "no spaces"}, {"-lead": "x"}, {"k": "v" * 64}):
        r = owner.post(path, {"label": bad})
        assert r.status_code == 400 and r.json()["label"], (bad, r.text)
    assert owner.get(path).json()["label"] == {"team": "backend"}


def test_another_user_sees_and_changes_nothing(owner, app_id, new_user):
    stranger = new_user("stranger")
    for method, path, body in (("GET", "whitelist/", None), ("POST", "whitelist/", {"addresses": ["0.0.0.0/0"]}),
                               ("DELETE", "whitelist/", {"addresses": ["0.0.0.0/0"]}), ("GET", "tls/", None),
                               ("POST", "tls/", {"https_enforced": True})):
        r = stranger.request(method, f"/v2/apps/{app_id}/{path}", json=body)
        assert r.status_code in (403, 404), (method, path, r.status_code)
    assert owner.get(f"/v2/apps/{app_id}/whitelist/").json() == {"addresses": []}
    assert owner.get(f"/v2/apps/{app_id}/tls/").json()["https_enforced"] is False
