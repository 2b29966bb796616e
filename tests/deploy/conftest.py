"""A real registry (Debian's distribution 2.8, filesystem storage) on 127.0.0.1 for deploy tests, a pushed-to
bare repository with its work tree (what the builder's hook hands the deploy playbook), and the playbook run as
the hook runs it."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Iterator

import pytest
import yaml

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
                "slipway_buildpack_env_file": "buildpack_env_file", "slipway_builder_build_timeout": "timeout",
                "slipway_builder_build_cpus": "cpus"}
# What the builder's hook passes a deploy in its environment (agents/slipway_agents/builder.py, pre_receive).
PUSH_ENV = {"slipway_app": "SLIPWAY_APP", "slipway_sha": "SLIPWAY_SHA", "slipway_user": "SLIPWAY_USER",
            "slipway_repo": "SLIPWAY_REPO"}
BIN = os.path.dirname(sys.executable)


def builder_role_vars() -> dict:
    """roles/builder/vars/main.yml, with its templates as text (`!unsafe` included)."""
    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
    with open(os.path.join(ROOT, "roles/builder/vars/main.yml")) as fh:
        return yaml.load(fh, Loader=Loader)


def runner_folder(base: str, extravars: dict) -> str:
    """ansible-runner's private data folder as the builder role lays it out (env/envvars, env/extravars,
    inventory, an empty project), with this tree's collection installed as the role installs it."""
    role = builder_role_vars()
    collections = os.path.join(base, "collections")
    dest = os.path.join(collections, "ansible_collections", "slipway", "paas")
    for path in role["__slipway_builder_collection_paths"]:
        src, target = os.path.join(ROOT, path), os.path.join(dest, path)
        if os.path.isdir(src):
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy(src, target)
    private = os.path.join(base, "deploy")
    for folder in ("env", "inventory", "project"):
        os.makedirs(os.path.join(private, folder))
    envvars = dict(role["__slipway_builder_envvars"], ANSIBLE_COLLECTIONS_PATH=collections,
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    with open(os.path.join(private, "env", "envvars"), "w") as fh:
        yaml.safe_dump(envvars, fh)
    values = {k: v for k, v in role["__slipway_builder_extravars"].items() if "lookup(" in v}
    with open(os.path.join(private, "env", "extravars"), "w") as fh:
        json.dump({**values, **extravars}, fh)
    with open(os.path.join(private, "inventory", "hosts"), "w") as fh:
        fh.write(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    return private


@contextlib.contextmanager
def deploy_command(extra: dict, token_app: str | None = None,
                   build_prefix: str = "") -> Iterator[tuple[list[str], dict[str, str]]]:
    """(argv, env) of the deploy as the builder's hook runs it: ansible-runner on a private data folder laid out
    as the builder role lays it out, running slipway.paas.deploy from the collection installed there, with the
    push's values in the environment, an empty work folder of its own (removed afterwards), and the push's token
    (from the controller's push check with `slipway_builder_key`, for the pusher and `token_app`, default the app
    deployed). The build goes through the sandbox's entry point (agents/slipway_agents/sandbox.py) with a
    configuration of the test's own: builds on this machine's host network (the registry and package index of
    these tests listen on its loopback; the sandbox's network and walls are tested on the platform host,
    tests/security), started through `build_prefix` when given. The runner's folder is
    `env["SLIPWAY_TEST_RUNNER_DIR"]` (its artifacts)."""
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
        extra.setdefault("slipway_build_command", f"{build_prefix} env PYTHONPATH={os.path.join(ROOT, 'agents')} python3 -m "
                         f"slipway_agents.sandbox --config {os.path.join(base, 'sandbox.ini')}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        env.update({name: str(extra.pop(var)) for var, name in PUSH_ENV.items()})
        env.update(SLIPWAY_APP_UUID=check["uuid"], SLIPWAY_WORKDIR=work, SLIPWAY_PUSH_TOKEN=check["push_token"],
                   PATH=BIN + os.pathsep + env.get("PATH", ""), PYTHONUNBUFFERED="1")
        private = runner_folder(base, extra)
        env["SLIPWAY_TEST_RUNNER_DIR"] = private
        argv = [os.path.join(BIN, "ansible-runner"), "run", private, "--playbook", "slipway.paas.deploy",
                "--ident", "test", "--rotate-artifacts", "100"]
        yield argv, env


def run_deploy(argv: list[str], env: dict[str, str], when_seen: dict | None = None,
               timeout: float = 900) -> subprocess.CompletedProcess:
    """Run the deploy, reading its output as it comes. `when_seen` maps a text to a function called (once) when a
    line holding it shows up; the result's `seen_running` holds the texts seen while the deploy still ran."""
    when_seen = dict(when_seen or {})
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT,
                            start_new_session=True)
    lines, seen_running = [], set()
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        for text in [t for t in when_seen if t in line]:
            if proc.poll() is None:
                seen_running.add(text)
            when_seen.pop(text)()
        if time.monotonic() - started > timeout:
            proc.kill()
    proc.wait(timeout=60)
    r = subprocess.CompletedProcess(argv, proc.returncode, "".join(lines), "")
    r.seconds = time.monotonic() - started
    r.seen_running = seen_running
    return r
