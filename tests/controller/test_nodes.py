"""/v2/nodes/ against the live controller on this machine's single-node Swarm (scripts/dev-services.sh).

A real drain needs a second node: the cluster suite (tests/cluster, molecule/cluster) does that under load.
Here: who may see and change nodes, what a node looks like, and that the only node is never drained.
"""
from __future__ import annotations

import secrets

import docker
import pytest

from .deployhelp import build


def local_node() -> dict:
    client = docker.from_env(version="auto")
    try:
        return client.api.inspect_node(client.info()["Swarm"]["NodeID"])
    finally:
        client.close()


@pytest.fixture
def deployed_app(owner, app_id):
    r = build(owner, app_id, sha="b" * 40)
    assert r.status_code == 201, r.text
    yield app_id
    owner.delete(f"/v2/apps/{app_id}/")  # its services go too: nothing left on the shared engine


def test_nodes_are_for_administrators_only(ctl, admin, new_user):
    user = new_user("nodes")
    node = local_node()
    for path in ("/v2/nodes/", f"/v2/nodes/{node['ID']}/"):
        assert user.get(path).status_code == 403
        assert admin.__class__(ctl.url).get(path).status_code == 401
    for action in ("drain", "activate"):
        r = user.post(f"/v2/nodes/{node['ID']}/{action}/")
        assert r.status_code == 403, r.text
    assert local_node()["Spec"]["Availability"] == node["Spec"]["Availability"]


def test_the_swarm_node_as_an_admin_sees_it(admin):
    node = local_node()
    r = admin.get("/v2/nodes/")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == len(body["results"]) >= 1
    mine = next(n for n in body["results"] if n["id"] == node["ID"])
    assert mine["hostname"] == node["Description"]["Hostname"]
    assert mine["role"] == "manager" and mine["leader"] is True
    assert mine["state"] == "ready" and mine["availability"] == "active"
    assert mine["address"] == "127.0.0.1"  # the controller's SLIPWAY_NODE_ADDRESS
    assert mine["labels"] == node["Spec"].get("Labels", {})


def test_one_node_by_id_or_hostname_with_its_apps(admin, deployed_app):
    node = local_node()
    by_id = admin.get(f"/v2/nodes/{node['ID']}/")
    assert by_id.status_code == 200, by_id.text
    assert deployed_app in by_id.json()["apps"]
    by_name = admin.get(f"/v2/nodes/{node['Description']['Hostname']}/")
    assert by_name.status_code == 200 and by_name.json()["id"] == node["ID"]
    missing = admin.get(f"/v2/nodes/no-such-node-{secrets.token_hex(3)}/")
    assert missing.status_code == 404 and missing.json()["detail"] == "No Node matches the given query."


def test_the_only_active_node_is_never_drained(admin, deployed_app):
    node = local_node()
    r = admin.post(f"/v2/nodes/{node['ID']}/drain/")
    assert r.status_code == 409, r.text
    assert "only active node" in r.json()["detail"]
    assert local_node()["Spec"]["Availability"] == "active"
    assert deployed_app in admin.get(f"/v2/nodes/{node['ID']}/").json()["apps"]  # still served here
    r = admin.post(f"/v2/nodes/{node['ID']}/activate/")
    assert r.status_code == 200 and r.json()["availability"] == "active"


def test_labels_set_and_removed_by_an_admin(admin, new_user):
    node = local_node()
    key = f"slipway.test-{secrets.token_hex(3)}"
    try:
        r = admin.post(f"/v2/nodes/{node['Description']['Hostname']}/labels/", {"labels": {key: "a", "zz-none": None}})
        assert r.status_code == 200, r.text
        assert r.json()["labels"][key] == "a" and "zz-none" not in r.json()["labels"]
        assert local_node()["Spec"]["Labels"][key] == "a"
        assert local_node()["Spec"]["Availability"] == node["Spec"]["Availability"]  # only the labels changed
        others = {k: v for k, v in local_node()["Spec"]["Labels"].items() if k != key}
        assert others == node["Spec"].get("Labels", {})
        for bad in ({key: "a b"}, {"bad key": "x"}, {key: ""}):
            r = admin.post(f"/v2/nodes/{node['ID']}/labels/", {"labels": bad})
            assert r.status_code == 400, r.text
        assert new_user("labels").post(f"/v2/nodes/{node['ID']}/labels/", {"labels": {key: "b"}}).status_code == 403
        r = admin.post(f"/v2/nodes/{node['ID']}/labels/", {"labels": {key: None}})
        assert r.status_code == 200 and key not in r.json()["labels"]
        assert key not in local_node()["Spec"].get("Labels", {})
    finally:
        admin.post(f"/v2/nodes/{node['ID']}/labels/", {"labels": {key: None}})
