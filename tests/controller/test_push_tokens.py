"""One credential per job on the builder's routes: the builder key answers key look-ups and push checks (which
hand out a push token bound to the user and the app); only that token reads the app's config and registers a
build, and only of an image in the app's own repository of the platform registry."""
from __future__ import annotations

import secrets
import subprocess
import uuid

import pytest
import requests

from .conftest import REGISTRY


def builder(ctl) -> dict:
    return {"X-Deis-Builder-Auth": ctl.builder_key}


def push_token(ctl, user: str, app: str) -> dict:
    r = requests.post(f"{ctl.url}/v2/hooks/push/", json={"receive_user": user, "receive_repo": app},
                      headers=builder(ctl), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def hook(ctl, path: str, token: str | None, body: dict, **headers):
    if token:
        headers["X-Slipway-Push-Token"] = token
    return requests.post(f"{ctl.url}/v2/hooks/{path}/", json=body, headers=headers, timeout=180)


def test_the_builder_key_alone_reads_no_config(ctl, owner, app_id):
    owner.post(f"/v2/apps/{app_id}/config/", {"values": {"SECRET": "s3cr3t"}})
    body = {"receive_user": owner.username, "receive_repo": app_id}
    r = hook(ctl, "config", None, body, **builder(ctl))
    assert r.status_code == 401 and "s3cr3t" not in r.text, r.text


def test_the_builder_key_alone_registers_no_build(ctl, owner, app_id):
    body = {"receive_user": owner.username, "receive_repo": app_id, "image": f"{REGISTRY}/{app_id}:git-1"}
    assert hook(ctl, "build", None, body, **builder(ctl)).status_code == 401
    assert owner.get(f"/v2/apps/{app_id}/builds/").json()["count"] == 0


def test_push_answers_a_token_bound_to_user_and_app(ctl, owner, app_id):
    answer = push_token(ctl, owner.username, app_id)
    app_uuid = owner.get(f"/v2/apps/{app_id}/").json()["uuid"]
    assert answer["username"] == owner.username and answer["app"] == app_id and answer["uuid"] == app_uuid
    assert len(answer["push_token"]) >= 32 and answer["expires_in"] == 3600
    assert push_token(ctl, owner.username, app_id)["push_token"] != answer["push_token"]
    stored = subprocess.run(["psql", ctl.database_url, "-XAtq", "-c", "SELECT digest FROM push_tokens"],
                            capture_output=True, text=True, check=True).stdout
    assert answer["push_token"] not in stored  # kept as a digest only


def test_fetch_answers_no_token(ctl, owner, app_id):
    r = requests.post(f"{ctl.url}/v2/hooks/push/", headers=builder(ctl), timeout=30,
                      json={"receive_user": owner.username, "receive_repo": app_id, "action": "fetch"})
    assert r.status_code == 200 and set(r.json()) == {"username", "app", "uuid"}, r.text
    r = requests.post(f"{ctl.url}/v2/hooks/push/", headers=builder(ctl), timeout=30,
                      json={"receive_user": owner.username, "receive_repo": app_id, "action": "delete"})
    assert r.status_code == 400


def test_the_token_reads_its_apps_config_only(ctl, owner, app_id, new_user):
    owner.post(f"/v2/apps/{app_id}/config/", {"values": {"GREETING": "hi"}})
    other = new_user("other")
    other_app = f"o-{secrets.token_hex(3)}"
    assert other.post("/v2/apps/", {"id": other_app}).status_code == 201
    token = push_token(ctl, owner.username, app_id)["push_token"]
    r = hook(ctl, "config", token, {})
    assert r.status_code == 200 and r.json()["values"] == {"GREETING": "hi"}, r.text
    r = hook(ctl, "config", token, {"receive_user": owner.username, "receive_repo": app_id})
    assert r.status_code == 200, r.text
    assert hook(ctl, "config", token, {"receive_user": owner.username, "receive_repo": other_app}).status_code == 403
    assert hook(ctl, "config", token, {"receive_user": other.username, "receive_repo": app_id}).status_code == 403
    assert hook(ctl, "config", "not-a-token", {}).status_code == 401
    assert hook(ctl, "config", token, {}, **{"X-Deis-Builder-Auth": "x"}).status_code == 200
    assert requests.post(f"{ctl.url}/v2/hooks/config/", json={}, timeout=30,
                         headers={"Authorization": f"token {owner.token}"}).status_code == 401


def test_the_token_registers_its_apps_own_image_only(ctl, owner, app_id, new_user):
    other = new_user("other")
    other_app = f"o-{secrets.token_hex(3)}"
    assert other.post("/v2/apps/", {"id": other_app}).status_code == 201
    token = push_token(ctl, owner.username, app_id)["push_token"]
    for image in (f"{REGISTRY}/{other_app}:git-1", "slipway-none/web:1", f"{REGISTRY}/slipway/stack:trixie",
                  f"{REGISTRY.split(':')[0]}/{app_id}:git-1", f"other.example.com:5000/{app_id}:git-1"):
        r = hook(ctl, "build", token, {"image": image})
        assert r.status_code == 403, (image, r.text)
    r = hook(ctl, "build", token, {"image": f"{REGISTRY}//{app_id}:git-1"})
    assert r.status_code == 400 and r.json()["image"], r.text
    r = hook(ctl, "build", token, {"image": f"{REGISTRY}/{app_id}:git-1", "receive_repo": other_app})
    assert r.status_code == 403
    assert owner.get(f"/v2/apps/{app_id}/builds/").json()["count"] == 0
    r = hook(ctl, "build", token, {"image": f"{REGISTRY}/{app_id}:git-1", "receive_user": owner.username,
                                   "receive_repo": app_id, "sha": "abcdef0"})
    assert r.status_code not in (401, 403, 422), r.text  # registered (its deploy fails: no such image)
    builds = owner.get(f"/v2/apps/{app_id}/builds/").json()["results"]
    assert [b["image"] for b in builds] == [f"{REGISTRY}/{app_id}:git-1"] and builds[0]["owner"] == owner.username


def test_a_token_dies_with_its_app_and_when_it_expires(ctl, owner, app_id):
    token = push_token(ctl, owner.username, app_id)["push_token"]
    subprocess.run(["psql", ctl.database_url, "-XAtq", "-c",
                    "UPDATE push_tokens SET expires = now() - interval '1 second'"], check=True)
    assert hook(ctl, "config", token, {}).status_code == 401
    push_token(ctl, owner.username, app_id)  # issuing deletes the expired ones
    left = subprocess.run(["psql", ctl.database_url, "-XAtq", "-c",
                           "SELECT count(*) FROM push_tokens WHERE expires < now()"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert left == "0"
    token = push_token(ctl, owner.username, app_id)["push_token"]
    assert owner.delete(f"/v2/apps/{app_id}/").status_code == 204
    assert hook(ctl, "config", token, {}).status_code == 401


def test_a_collaborator_removed_loses_the_token(ctl, owner, app_id, new_user):
    friend = new_user("friend")
    assert owner.post(f"/v2/apps/{app_id}/perms/", {"username": friend.username}).status_code == 201
    token = push_token(ctl, friend.username, app_id)["push_token"]
    assert hook(ctl, "config", token, {}).status_code == 200
    assert owner.delete(f"/v2/apps/{app_id}/perms/{friend.username}").status_code == 204
    assert hook(ctl, "config", token, {}).status_code == 401


def cleanup(ctl) -> dict:
    return {"X-Slipway-Cleanup-Auth": ctl.env["SLIPWAY_BUILDER_CLEANUP_KEY"]}


@pytest.mark.parametrize("body", [{}, {"uuids": "x"}, {"uuids": ["not-a-uuid"]}])
def test_alive_refuses_bad_input(ctl, body):
    r = requests.post(f"{ctl.url}/v2/hooks/apps/alive/", json=body, headers=cleanup(ctl), timeout=30)
    assert r.status_code == 400


def test_alive_names_the_existing_apps(ctl, owner, app_id):
    app_uuid = owner.get(f"/v2/apps/{app_id}/").json()["uuid"]
    gone = str(uuid.uuid4())
    url = f"{ctl.url}/v2/hooks/apps/alive/"
    r = requests.post(url, json={"uuids": [app_uuid, gone, app_uuid.upper()]}, headers=cleanup(ctl), timeout=30)
    assert r.status_code == 200 and r.json() == {"alive": [app_uuid]}, r.text
    assert requests.post(url, json={"uuids": [app_uuid]}, timeout=30).status_code == 401
    # the builder key, which sshd's agents on the builder hold, answers nothing here
    assert requests.post(url, json={"uuids": [app_uuid]}, headers=builder(ctl), timeout=30).status_code == 401
    assert owner.delete(f"/v2/apps/{app_id}/").status_code == 204
    assert requests.post(url, json={"uuids": [app_uuid]}, headers=cleanup(ctl), timeout=30).json() == {"alive": []}


def test_a_token_ends_when_its_push_is_over(ctl, owner, app_id):
    token = push_token(ctl, owner.username, app_id)["push_token"]
    other = push_token(ctl, owner.username, app_id)["push_token"]  # a push of its own, still running
    assert requests.delete(f"{ctl.url}/v2/hooks/push/", headers=builder(ctl), timeout=30).status_code == 401
    r = requests.delete(f"{ctl.url}/v2/hooks/push/", headers={"X-Slipway-Push-Token": token}, timeout=30)
    assert r.status_code == 204, r.text
    assert hook(ctl, "config", token, {}).status_code == 401
    assert requests.delete(f"{ctl.url}/v2/hooks/push/", headers={"X-Slipway-Push-Token": token},
                           timeout=30).status_code == 401
    assert hook(ctl, "config", other, {}).status_code == 200
