"""The build sandbox's entry point (slipway-sandbox), run as root the way sudo runs it for the git user: it refuses
every argument it was not made for before it builds anything, reads the pushed tree as the build user only, and
refuses a tree with a link that leaves it. (Its builds themselves run in tests/deploy, tests/buildpacks and, in
the sandbox's network, tests/security.)"""
from __future__ import annotations

import os
import pathlib
import pwd
import subprocess

import pytest

from conftest import AGENTS, SYSTEM_PYTHON

UUID = "0b3f7a52-8d3e-4c6e-9a51-3f1f2d6b9e10"
SHA = "a" * 40
TOKEN = "t" * 32
USER = "nobody"


@pytest.fixture
def tmp_path(workdir):
    """A folder the build user can reach (the copy runs as that user)."""
    return pathlib.Path(workdir)


@pytest.fixture
def root(tmp_path):
    """A work root with a push folder of the build user's holding src/ (a Dockerfile), and a config."""
    owner = pwd.getpwnam(USER)
    base = tmp_path / "work"
    base.mkdir()
    push = base / "push1"
    (push / "src").mkdir(parents=True)
    (push / "src" / "Dockerfile").write_text("FROM scratch\n")
    for path in (push, push / "src", push / "src" / "Dockerfile"):
        os.chown(path, owner.pw_uid, owner.pw_gid)
    config = tmp_path / "sandbox.ini"
    config.write_text(f"[sandbox]\nwork_root = {base}\nbuild_user = {USER}\nregistry = 127.0.0.1:1\n"
                      f"scratch_dir = {tmp_path / 'scratch'}\n")
    return {"base": base, "push": push, "config": config, "owner": owner}


def sandbox(config, *args, token=TOKEN, sudo_user=None) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": AGENTS, "PATH": os.environ["PATH"]}
    if sudo_user:
        env["SUDO_USER"] = sudo_user
    return subprocess.run([SYSTEM_PYTHON, "-m", "slipway_agents.sandbox", "--config", str(config), "build", *args],
                          input=token + "\n", capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("app,uuid,sha,token,why", [
    ("Bad;app", UUID, SHA, TOKEN, "invalid app"),
    ("ok-app", "../../etc", SHA, TOKEN, "invalid uuid"),
    ("ok-app", UUID, "HEAD; id", TOKEN, "invalid commit"),
    ("ok-app", UUID, SHA, "short", "invalid push token"),
])
def test_refuses_malformed_arguments(root, app, uuid, sha, token, why):
    r = sandbox(root["config"], app, uuid, sha, str(root["push"]), token=token)
    assert r.returncode == 2 and why in r.stdout, r.stdout + r.stderr


def test_refuses_work_folders_that_are_not_the_build_users_own(root, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = root["base"] / "link"
    link.symlink_to(root["push"])
    mine = root["base"] / "roots"
    mine.mkdir()
    for folder, why in ((elsewhere, "must be a folder under"), ("/etc", "must be a folder under"),
                        (link, "must be a folder under"), (mine, "is not the build user's")):
        r = sandbox(root["config"], "ok-app", UUID, SHA, str(folder))
        assert r.returncode == 2 and why in r.stdout, (folder, r.stdout + r.stderr)


def test_reads_the_tree_as_the_build_user_and_refuses_links_that_leave_it(root, tmp_path):
    secret = tmp_path / "root-only"
    secret.write_text("root's secret\n")
    os.chmod(secret, 0o600)
    src = root["push"] / "src"
    # a tree the build user made point at a root-only file: the copy runs as that user, who cannot read it
    (src / "Dockerfile").unlink()
    os.symlink(secret, src / "Dockerfile")
    os.lchown(src / "Dockerfile", root["owner"].pw_uid, root["owner"].pw_gid)
    r = sandbox(root["config"], "ok-app", UUID, SHA, str(root["push"]))
    assert r.returncode == 2 and "Push rejected: Dockerfile is a symbolic link that points outside the repository" in r.stdout, \
        r.stdout + r.stderr
    assert "root's secret" not in r.stdout + r.stderr
    # src itself swapped for a link to a root-only folder: read as the build user, nothing comes through
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "key").write_text("root's key\n")
    subprocess.run(["rm", "-rf", str(src)], check=True)
    os.symlink(private, src)
    r = sandbox(root["config"], "ok-app", UUID, SHA, str(root["push"]))
    assert r.returncode == 2 and "could not be read" in r.stdout, r.stdout + r.stderr
    assert "root's key" not in r.stdout + r.stderr


def test_through_sudo_the_callers_configuration_is_ignored(root, tmp_path):
    """A caller naming a configuration of its own (say, with the host network) gets root's, here absent: no
    registry is configured, so nothing is built."""
    r = sandbox(root["config"], "ok-app", UUID, SHA, str(root["push"]), sudo_user="git")
    assert r.returncode == 2 and "no registry is configured" in r.stdout, r.stdout + r.stderr


def test_the_wrapper_imports_nothing_from_its_callers_folder(tmp_path):
    """sudo keeps the caller's folder: a package planted there must not be what root runs."""
    planted = tmp_path / "slipway_agents"
    planted.mkdir()
    (planted / "__init__.py").write_text("")
    (planted / "sandbox.py").write_text("import sys\nprint('PLANTED')\nsys.exit(0)\n")
    wrapper = os.path.join(AGENTS, "bin", "slipway-sandbox")
    r = subprocess.run([wrapper, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                       env={"PATH": os.environ["PATH"], "PYTHONPATH": str(tmp_path)})
    assert "PLANTED" not in r.stdout and "build" in r.stdout, r.stdout + r.stderr


def test_refuses_what_dockerd_would_fetch_itself_and_special_files(root):
    src = root["push"] / "src"
    for dockerfile in ("FROM x\nADD http://127.0.0.1:5001/v2/_catalog /c\n",
                       "FROM x\nADD --chown=1 \\\n  https://169.254.169.254/ /m\n", "FROM x\nadd $URL /u\n",
                       "# escape=`\nFROM x\nONBUILD ADD `\n  git@example.test:a/b /g\n"):
        (src / "Dockerfile").write_text(dockerfile)
        r = sandbox(root["config"], "ok-app", UUID, SHA, str(root["push"]))
        assert r.returncode == 2 and "ADD of a URL or variable is not supported" in r.stdout, (dockerfile, r.stdout)
    (src / "Dockerfile").write_text("FROM x\n")
    os.mkfifo(src / "pipe")
    os.chown(src / "pipe", root["owner"].pw_uid, root["owner"].pw_gid)
    r = sandbox(root["config"], "ok-app", UUID, SHA, str(root["push"]))
    assert r.returncode == 2 and "pipe is a symbolic link that points outside the repository, or not a regular file" in \
        r.stdout, r.stdout + r.stderr
