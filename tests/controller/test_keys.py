"""SSH keys: validated, fingerprinted like ssh-keygen, unique across users; the builder's key lookup."""
from __future__ import annotations

import subprocess

import pytest
import requests


@pytest.fixture
def keypair(tmp_path):
    path = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "me@laptop", "-f", str(path)], check=True)
    public = (tmp_path / "id.pub").read_text().strip()
    fp = {h: subprocess.run(["ssh-keygen", "-l", "-E", h, "-f", str(path) + ".pub"], capture_output=True,
                            text=True, check=True).stdout.split()[1] for h in ("md5", "sha256")}
    return public, fp["md5"].removeprefix("MD5:"), fp["sha256"]


def test_add_list_delete_with_ssh_keygen_fingerprints(owner, keypair):
    public, md5, sha = keypair
    r = owner.post("/v2/keys/", {"id": "laptop", "public": public})
    assert r.status_code == 201, r.text
    assert r.json()["fingerprint"] == md5 and r.json()["fingerprint_sha256"] == sha
    assert [k["id"] for k in owner.get("/v2/keys/").json()["results"]] == ["laptop"]
    assert owner.delete("/v2/keys/laptop").status_code == 204
    assert owner.get("/v2/keys/").json()["count"] == 0
    assert owner.delete("/v2/keys/laptop").status_code == 404


@pytest.mark.parametrize("public", ["ssh-rsa notbase64!!", "hello world", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA",
                                    "ssh-dss AAAAB3NzaC1kc3MAAACBAP"])
def test_bad_keys_are_refused(owner, public):
    r = owner.post("/v2/keys/", {"id": "bad", "public": public})
    assert r.status_code == 400 and r.json()["detail"]


def test_a_key_belongs_to_one_user(owner, new_user, keypair):
    public, _, _ = keypair
    assert owner.post("/v2/keys/", {"id": "k", "public": public}).status_code == 201
    assert new_user().post("/v2/keys/", {"id": "k", "public": public}).status_code == 409


def test_builder_key_lookup_by_md5_and_sha256(ctl, owner, app_id, keypair):
    public, md5, sha = keypair
    owner.post("/v2/keys/", {"id": "k", "public": public})
    hdr = {"X-Deis-Builder-Auth": ctl.builder_key}
    for fp in (md5, sha):
        r = requests.get(f"{ctl.url}/v2/hooks/key/{fp}", headers=hdr)
        assert r.status_code == 200 and r.json() == {"username": owner.username, "apps": [app_id]}
    assert requests.get(f"{ctl.url}/v2/hooks/key/{md5}", headers={"X-Deis-Builder-Auth": "wrong"}).status_code == 401
    assert requests.get(f"{ctl.url}/v2/hooks/key/{md5}",
                        headers={"Authorization": f"token {owner.token}"}).status_code == 401
    assert requests.get(f"{ctl.url}/v2/hooks/key/00:11", headers=hdr).status_code == 404


def test_push_authorization_hook(ctl, owner, app_id, new_user):
    hdr = {"X-Deis-Builder-Auth": ctl.builder_key}
    other, friend = new_user(), new_user()
    owner.post(f"/v2/apps/{app_id}/perms/", {"username": friend.username})
    push = f"{ctl.url}/v2/hooks/push/"
    assert requests.post(push, json={"receive_user": owner.username, "receive_repo": app_id},
                         headers=hdr).status_code == 200
    assert requests.post(push, json={"receive_user": friend.username, "receive_repo": app_id},
                         headers=hdr).status_code == 200
    assert requests.post(push, json={"receive_user": other.username, "receive_repo": app_id},
                         headers=hdr).status_code == 403
    assert requests.post(push, json={"receive_user": owner.username, "receive_repo": "../etc"},
                         headers=hdr).status_code == 400
    assert requests.post(push, json={"receive_user": owner.username, "receive_repo": "no-such-app"},
                         headers=hdr).status_code == 404
