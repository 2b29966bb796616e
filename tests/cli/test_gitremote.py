"""Remote detection: the app of the current repo, and git:remote."""
from __future__ import annotations

import subprocess

import pytest

from slipway_cli import gitremote


@pytest.mark.parametrize("url,app", [
    ("ssh://git@slipway.example.com:2222/myapp.git", "myapp"),
    ("ssh://git@127.0.0.1:2222/my-app-2.git", "my-app-2"),
    ("ssh://git@[::1]:2222/a.git", "a"),
    ("git@slipway.example.com:myapp.git", "myapp"),
    ("slipway.example.com:myapp", "myapp"),
    ("ssh://git@h:2222/myapp.git/", "myapp"),
    ("https://h/x/myapp.git", "myapp"),
    ("ssh://git@h:2222/MyApp.git", None),
    ("ssh://git@h:2222/.git", None),
    ("", None),
    (None, None),
])
def test_app_from_url(url, app):
    assert gitremote.app_from_url(url) == app


def test_builder_url():
    assert gitremote.builder_url("slipway.example.com", "myapp") == "ssh://git@slipway.example.com:2222/myapp.git"
    assert gitremote.builder_url("::1", "a", 22) == "ssh://git@[::1]:22/a.git"
    assert gitremote.builder_host_from_controller("https://slipway.example.com:8443") == "slipway.example.com"


def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_detection_in_a_repo(home, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    assert not gitremote.in_repo(str(repo))
    git("init", "-q", cwd=repo)
    assert gitremote.in_repo(str(repo))
    assert gitremote.app_from_repo(cwd=str(repo)) is None
    git("remote", "add", "slipway", "ssh://git@h:2222/detected.git", cwd=repo)
    assert gitremote.app_from_repo(cwd=str(repo)) == "detected"
    sub = repo / "sub" / "dir"
    sub.mkdir(parents=True)
    assert gitremote.app_from_repo(cwd=str(sub)) == "detected"
    with pytest.raises(gitremote.GitError):
        gitremote.add_remote("slipway", "ssh://git@h:2222/other.git", cwd=str(repo))
    gitremote.add_remote("slipway", "ssh://git@h:2222/other.git", cwd=str(repo), replace=True)
    assert gitremote.app_from_repo(cwd=str(repo)) == "other"
    gitremote.remove_remote("slipway", cwd=str(repo))
    assert gitremote.remote_url("slipway", cwd=str(repo)) is None


def test_app_defaults_to_the_remote(logged_in, cli, home):
    stub = logged_in
    stub.on("GET", "/v2/apps/detected/config/", 200, {"values": {"A": "1"}})
    r = cli("config:list")
    assert r.code == 1 and "no app given" in r.err
    git("init", "-q", cwd=".")
    git("remote", "add", "slipway", "ssh://git@h:2222/detected.git", cwd=".")
    r = cli("config:list")
    assert r.code == 0, r
    assert "A  1" in r.out
    # -a wins over the remote
    stub.on("GET", "/v2/apps/other/config/", 200, {"values": {}})
    assert cli("config:list", "-a", "other").code == 0
    assert stub.requests[-1]["path"] == "/v2/apps/other/config/"


def test_git_remote_command(logged_in, cli):
    stub = logged_in
    stub.on("GET", "/v2/apps/myapp/", 200, {"id": "myapp"})
    r = cli("git:remote", "-a", "myapp")
    assert r.code == 1 and "not inside a git repository" in r.err
    git("init", "-q", cwd=".")
    r = cli("git:remote", "-a", "myapp")
    assert r.code == 0, r
    host = stub.url.split("//")[1].split(":")[0]
    assert gitremote.remote_url("slipway") == f"ssh://git@{host}:2222/myapp.git"
    assert "already points" in cli("git:remote", "-a", "myapp").out
    stub.on("GET", "/v2/apps/other/", 200, {"id": "other"})
    r = cli("git:remote", "-a", "other")
    assert r.code == 1 and "already exists" in r.err
    r = cli("git:remote", "-a", "other", "--force", "--builder-host", "builder.example.com:2200")
    assert r.code == 0, r
    assert gitremote.remote_url("slipway") == "ssh://git@builder.example.com:2200/other.git"
    r = cli("git:remote", "-a", "missing")
    assert r.code == 1 and "Error: Not found." in r.err
    assert cli("git:remove").code == 0
    assert gitremote.remote_url("slipway") is None


def test_builder_host_from_profile(logged_in, cli):
    from slipway_cli import config
    p = config.load()
    p.builder_host, p.builder_port = "git.example.com", 2022
    config.save(p)
    logged_in.on("GET", "/v2/apps/myapp/", 200, {"id": "myapp"})
    git("init", "-q", cwd=".")
    assert cli("git:remote", "-a", "myapp").code == 0
    assert gitremote.remote_url("slipway") == "ssh://git@git.example.com:2022/myapp.git"
