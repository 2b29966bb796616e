"""End-to-end CLI, apps: apps:* and the git remote, and ps/logs/run before any build.

The real CLI (a `python -m slipway_cli` subprocess) against a live controller: tests/live.py starts uvicorn
on a fresh PostgreSQL database (scripts/dev-services.sh must have run); the `ctl` and `admin` fixtures
(conftest.py) give each module its own controller. Every run also checks that no token ever shows up in the
CLI's output (e2e_session.py).
"""
from __future__ import annotations

import os
import re
import subprocess

import pytest

pytestmark = pytest.mark.timeout(300)


def test_apps(admin, ctl):
    out = admin.ok("apps:create", "e2e-app")
    assert "Created e2e-app" in out
    assert "Git remote" not in out  # not in a git repo
    lst = admin.json("apps:list")
    assert "e2e-app" in [a["id"] for a in lst["results"]]
    assert re.search(r"^e2e-app\s+admin\s+", admin.ok("apps:list"), re.M)
    info = admin.json("apps:info", "-a", "e2e-app")
    assert info["id"] == "e2e-app" and info["owner"] == "admin"
    text = admin.ok("apps:info", "-a", "e2e-app")
    assert "=== e2e-app Application" in text and "e2e-app.slipway.test" in text

    # a random name when none is given
    out = admin.ok("apps:create", "--no-remote")
    random_id = re.search(r"Created (\S+)", out).group(1)
    assert random_id in [a["id"] for a in admin.json("apps:list")["results"]]

    admin.fails("apps:create", "e2e-app", match="already exists")
    admin.fails("apps:create", "Bad_Name", match=r"^Error: id: ")
    admin.fails("apps:create", "slipway")  # reserved
    admin.fails("apps:info", "-a", "no-such-app")

    # destroy asks for confirmation (no terminal here: refuses), a wrong --confirm is refused
    admin.fails("apps:destroy", "-a", random_id, match="--confirm")
    admin.fails("apps:destroy", "-a", random_id, "--confirm", "other", match="does not match")
    assert random_id in [a["id"] for a in admin.json("apps:list")["results"]]
    admin.ok("apps:destroy", "-a", random_id, "--confirm", random_id)
    assert random_id not in [a["id"] for a in admin.json("apps:list")["results"]]


def test_apps_create_adds_git_remote_and_commands_find_the_app(admin):
    repo = os.path.join(admin.home, "repo")
    os.makedirs(repo)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=admin.env)
    out = admin.ok("apps:create", "remote-app", cwd=repo)
    host = admin.ctl.url.split("//")[1].rsplit(":", 1)[0]
    url = f"ssh://git@{host}:2222/remote-app.git"
    assert f"Git remote slipway added: {url}" in out
    got = subprocess.run(["git", "remote", "get-url", "slipway"], cwd=repo, capture_output=True, text=True,
                         env=admin.env).stdout.strip()
    assert got == url
    # no -a: the app is the one the remote points at
    assert admin.json("apps:info", cwd=repo)["id"] == "remote-app"
    admin.ok("config:set", "FROM_REMOTE=1", cwd=repo)
    assert admin.json("config:list", cwd=repo)["values"] == {"FROM_REMOTE": "1"}
    # outside the repo, without -a: a clear error
    admin.fails("config:list", match="no app given")
    # git:remote re-adds it after removal; destroy removes it
    admin.ok("git:remove", cwd=repo)
    assert "added" in admin.ok("git:remote", "-a", "remote-app", cwd=repo)
    admin.ok("apps:destroy", "--confirm", "remote-app", cwd=repo)
    r = subprocess.run(["git", "remote"], cwd=repo, capture_output=True, text=True, env=admin.env)
    assert "slipway" not in r.stdout.split()


def test_ps_and_logs_without_a_build(admin):
    admin.ok("apps:create", "ps-app")
    assert admin.json("ps:list", "-a", "ps-app")["results"] == []
    assert "No processes running" in admin.ok("ps:list", "-a", "ps-app")
    admin.fails("ps:scale", "web=1", "-a", "ps-app")  # no build yet: no web type
    admin.fails("ps:scale", "web=-1", "-a", "ps-app", match="invalid count")
    admin.fails("apps:run", "-a", "ps-app", "echo", "hi")
    r = admin.run("apps:logs", "-a", "ps-app")
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr
