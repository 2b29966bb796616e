"""A real registry (Debian's distribution 2.8, filesystem storage) on 127.0.0.1 for deploy tests, a pushed-to
bare repository with its work tree (what the builder's hook hands the deploy playbook), and the playbook run as
the hook runs it."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Iterator

import pytest

from tests.live import ROOT, free_port


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    root = tmp_path_factory.mktemp("registry")
    port = free_port()
    (root / "config.yml").write_text(
        "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%d\n"
        "  secret: test-only-secret\n" % (root / "data", port))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(["docker-registry", "serve", str(root / "config.yml")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
            break
        except OSError:
            assert time.monotonic() < deadline, "registry did not start"
            time.sleep(0.2)
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


def git(repo, *args) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def commit(work, files: dict[str, str | None]) -> str:
    for name, text in files.items():
        path = work / name
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(work, "add", "-A")
    git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "change")
    git(work, "push", "-q", "origin", "HEAD:main")
    return git(work, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path):
    bare, work = tmp_path / "app.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    git(work, "remote", "add", "origin", str(bare))
    return bare, work


def push_check(url: str, builder_key: str, user: str, app: str) -> dict:
    """The controller's push check, as the builder's forced command asks it: {uuid, push_token, ...}."""
    req = urllib.request.Request(f"{url}/v2/hooks/push/", method="POST",
                                 data=json.dumps({"receive_user": user, "receive_repo": app}).encode(),
                                 headers={"Content-Type": "application/json", "X-Deis-Builder-Auth": builder_key})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


# The build sandbox's settings a deploy on this machine takes from its extra vars (the builder role writes them to
# the sandbox's own root-owned configuration on a builder host).
SANDBOX_VARS = {"slipway_buildpack_cache_dir": "cache_dir", "slipway_build_ca_file": "ca_file",
                "slipway_buildpack_env_file": "buildpack_env_file"}


@contextlib.contextmanager
def deploy_command(extra: dict, token_app: str | None = None) -> Iterator[tuple[list[str], dict[str, str]]]:
    """(argv, env) of playbooks/deploy.yml with these extra vars, run on this machine as the builder's hook runs
    it: with an empty work folder of its own (slipway_workdir), removed afterwards, the push's token in the
    environment (from the controller's push check with `slipway_builder_key`, for the pusher and `token_app`,
    default the app deployed), and the build through the sandbox's entry point (agents/slipway_agents/sandbox.py)
    with a configuration of the test's own: builds on this machine's host network (the registry and package
    index of these tests listen on its loopback; the sandbox's network and walls are tested on the platform
    host, tests/security)."""
    extra = dict(extra)
    check = push_check(extra["slipway_controller_url"], extra.pop("slipway_builder_key"), extra["slipway_user"],
                       token_app or extra["slipway_app"])
    with tempfile.TemporaryDirectory(prefix="slipway-deploy-", ignore_cleanup_errors=True) as base:
        work = os.path.join(base, "work")
        os.mkdir(work)
        sandbox = {"work_root": base, "build_user": "root", "registry": extra.pop("slipway_registry"),
                   "controller_url": extra["slipway_controller_url"], "network": "host",
                   "scratch_dir": os.path.join(base, "scratch"),
                   "buildpacks_dir": os.path.join(ROOT, "roles/builder/files/buildpacks")}
        sandbox.update({key: extra.pop(var) for var, key in SANDBOX_VARS.items() if var in extra})
        with open(os.path.join(base, "sandbox.ini"), "w") as f:
            f.write("[sandbox]\n" + "".join(f"{k} = {v}\n" for k, v in sandbox.items()))
        command = (f"env PYTHONPATH={os.path.join(ROOT, 'agents')} python3 -m slipway_agents.sandbox "
                   f"--config {os.path.join(base, 'sandbox.ini')}")
        values = {"slipway_build_command": command, "slipway_app_uuid": check["uuid"], **extra,
                  "slipway_workdir": work}
        playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        argv = [playbook, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable,
                "-e", json.dumps(values), os.path.join(ROOT, "playbooks/deploy.yml")]
        yield argv, {**os.environ, "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
                     "SLIPWAY_PUSH_TOKEN": check["push_token"]}
