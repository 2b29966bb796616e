"""End-to-end CLI, accounts: login, whoami, logout, auth:*, keys:*, perms:*, users:list, apps:transfer.

The real CLI (a `python -m slipway_cli` subprocess) against a live controller: tests/live.py starts uvicorn
on a fresh PostgreSQL database (scripts/dev-services.sh must have run); the `ctl` and `admin` fixtures
(conftest.py) give each module its own controller. Every run also checks that no token ever shows up in the
CLI's output (e2e_session.py).
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess

import pytest

from tests.cli.e2e_session import Session, new_user
from tests.live import free_port

pytestmark = pytest.mark.timeout(300)


def test_register_login_whoami_logout(admin, ctl):
    prof = admin.profile()
    assert prof["url"] == ctl.url and prof["username"] == "admin" and prof["token"]
    assert stat.S_IMODE(os.stat(admin.profile_path).st_mode) == 0o600
    assert admin.ok("whoami").strip() == f"You are admin (admin) at {ctl.url}"
    me = admin.json("whoami")
    assert me["username"] == "admin" and me["is_superuser"] is True

    # a second profile of the same user, chosen by SLIPWAY_PROFILE
    other = {"SLIPWAY_PROFILE": "second"}
    admin.ok("login", ctl.url, "-u", "admin", "-p", "pw-admin-123", env=other)
    assert os.path.exists(os.path.join(admin.home, ".slipway", "second.json"))
    assert "admin" in admin.ok("whoami", env=other)
    assert "Logged out" in admin.ok("logout", env=other)
    admin.fails("whoami", env=other, match="not logged in")
    # logging in again needs no URL: the profile kept it
    admin.ok("login", "-u", "admin", "-p", "pw-admin-123", env=other)
    assert "admin" in admin.ok("whoami", "--profile", "second")
    assert admin.profile()["token"] == prof["token"]  # the default profile is untouched


def test_login_errors(admin, ctl, tmp_path_factory):
    s = Session(ctl, tmp_path_factory.mktemp("nobody"))
    s.fails("login", ctl.url, "-u", "admin", "-p", "wrong-password", match=r"^Error: \S")
    assert s.profile() == {}
    s.fails("whoami", match="not logged in")
    port = free_port()
    err = s.fails("login", f"http://127.0.0.1:{port}", "-u", "admin", "-p", "x")
    assert f"cannot reach the controller at http://127.0.0.1:{port}" in err
    s.fails("apps:list", match="not logged in")


def test_bad_token(admin, ctl, tmp_path_factory):
    s = Session(ctl, tmp_path_factory.mktemp("badtoken"))
    os.makedirs(os.path.dirname(s.profile_path))
    with open(s.profile_path, "w") as f:
        json.dump({"url": ctl.url, "username": "admin", "token": "0" * 40}, f)
    err = s.fails("apps:list")
    assert "run `slipway login` again" in err
    s.fails("whoami", "--json")


def test_keys(admin, ctl, tmp_path_factory):
    assert shutil.which("ssh-keygen"), "ssh-keygen is missing (scripts/install.sh installs openssh-client)"
    s = new_user(admin, tmp_path_factory, "keyuser")
    ssh = os.path.join(s.home, ".ssh")
    os.makedirs(ssh, mode=0o700)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "keyuser@laptop", "-f",
                    os.path.join(ssh, "id_ed25519")], check=True)
    fp = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", os.path.join(ssh, "id_ed25519.pub")],
                        capture_output=True, text=True, check=True).stdout.split()[1]
    assert "No SSH keys" in s.ok("keys:list")
    out = s.ok("keys:add")  # the only ~/.ssh/id_*.pub
    assert "Added SSH key keyuser@laptop" in out
    keys = s.json("keys:list")["results"]
    assert [k["id"] for k in keys] == ["keyuser@laptop"]
    assert keys[0]["fingerprint_sha256"] == fp
    assert fp in s.ok("keys:list")
    s.fails("keys:add")  # the same key again
    s.fails("keys:add", os.path.join(ssh, "id_ed25519"), match="private key")
    # a second key file: the default is ambiguous now, a path and --id work
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "", "-f",
                    os.path.join(ssh, "id_rsa")], check=True)
    s.fails("keys:add", match="several keys")
    s.ok("keys:add", os.path.join(ssh, "id_rsa.pub"), "--id", "work-rsa")
    assert sorted(k["id"] for k in s.json("keys:list")["results"]) == ["keyuser@laptop", "work-rsa"]
    s.ok("keys:remove", "keyuser@laptop")
    assert [k["id"] for k in s.json("keys:list")["results"]] == ["work-rsa"]
    s.fails("keys:remove", "keyuser@laptop")


def test_perms_and_transfer(admin, tmp_path_factory):
    bob = new_user(admin, tmp_path_factory, "bob")
    bob.ok("apps:create", "bob-app")
    admin_reach = admin.json("apps:list")["results"]
    assert "bob-app" in [a["id"] for a in admin_reach]  # admins see every app

    carol = new_user(admin, tmp_path_factory, "carol")
    carol.fails("apps:info", "-a", "bob-app")  # 403
    assert "bob-app" not in [a["id"] for a in carol.json("apps:list")["results"]]
    bob.ok("perms:create", "carol", "-a", "bob-app")
    assert bob.json("perms:list", "-a", "bob-app")["users"] == ["carol"]
    assert "carol" in bob.ok("perms:list", "-a", "bob-app")
    assert carol.json("apps:info", "-a", "bob-app")["owner"] == "bob"
    carol.ok("config:set", "BY_CAROL=1", "-a", "bob-app")
    carol.fails("apps:destroy", "-a", "bob-app", "--confirm", "bob-app")  # collaborators cannot destroy
    bob.fails("perms:create", "nobody-such", "-a", "bob-app")
    bob.ok("perms:delete", "carol", "-a", "bob-app")
    carol.fails("apps:info", "-a", "bob-app")

    # admin permissions
    assert [u["username"] for u in admin.json("perms:list", "--admin")["results"]] == ["admin"]
    bob.fails("perms:create", "carol", "--admin")  # bob is no admin
    admin.ok("perms:create", "bob", "--admin")
    assert "bob" in admin.ok("perms:list", "--admin")
    assert "(admin)" in bob.ok("whoami")
    admin.ok("perms:delete", "bob", "--admin")
    assert "(admin)" not in bob.ok("whoami")

    # users:list is for admins
    names = [u["username"] for u in admin.json("users:list")["results"]]
    assert {"admin", "bob", "carol"} <= set(names)
    carol.fails("users:list")

    # transfer
    bob.ok("apps:transfer", "carol", "-a", "bob-app")
    assert carol.json("apps:info", "-a", "bob-app")["owner"] == "carol"
    bob.fails("apps:info", "-a", "bob-app")


def test_auth_token_and_password_and_cancel(admin, tmp_path_factory):
    dave = new_user(admin, tmp_path_factory, "dave")
    old = dave.profile()["token"]
    # another shell still holding the old token
    stale = Session(admin.ctl, tmp_path_factory.mktemp("dave-stale"))
    shutil.copytree(os.path.join(dave.home, ".slipway"), os.path.join(stale.home, ".slipway"))
    assert "Token regenerated" in dave.ok("auth:regenerate")
    assert dave.profile()["token"] != old
    dave.ok("whoami")
    stale.fails("whoami", match="login")

    dave.fails("auth:passwd", "--password", "wrong", "--new-password", "pw-dave-456")
    dave.ok("auth:passwd", "--password", "pw-dave-123", "--new-password", "pw-dave-456")
    dave.fails("login", "-u", "dave", "-p", "pw-dave-123")
    dave.ok("login", "-u", "dave", "-p", "pw-dave-456")
    admin.ok("auth:passwd", "--username", "dave", "--new-password", "pw-dave-789")
    dave.ok("login", "-u", "dave", "-p", "pw-dave-789")

    # cancel: refused while dave owns an app, and without confirmation
    dave.ok("apps:create", "dave-app")
    dave.fails("auth:cancel", match="--confirm dave")
    dave.fails("auth:cancel", "--confirm", "dave")  # 409: owns apps
    dave.ok("apps:destroy", "-a", "dave-app", "--confirm", "dave-app")
    assert "deleted" in dave.ok("auth:cancel", "--confirm", "dave")
    assert "token" not in dave.profile()
    dave.fails("login", "-u", "dave", "-p", "pw-dave-789")
