"""Fixtures for the multi-host platform converged by molecule/cluster (containers slipway-cl-<host>).

Everything runs inside the hosts with `docker exec` (the controller API as users reach it, through the router at
https://slipway.<platform domain> on the control host; the controller itself where the platform's callers reach it,
https://control:8000 in this layout; the builder's sshd on 127.0.0.1:2222, the router on 127.0.0.1:80 of the control
host): traffic never goes to a container's 172.x address from this machine. The controller is used as the platform's admin (the example inventory registers users
through admins only), with the token the controller role saved in the scenario's secrets folder.

    scripts/cluster-test.sh                      # everything, figures printed at the end
    SLIPWAY_CLUSTER_INVENTORY=<molecule inventory dir> .venv/bin/pytest tests/cluster -s   # a converged cluster
"""
from __future__ import annotations

import glob
import json
import os
import pathlib
import secrets
import shlex
import subprocess
import time

import pytest
import yaml

from tests.e2e.conftest import wait_for  # noqa: F401 - one waiting helper for the suites on hosts

ROOT = pathlib.Path(__file__).resolve().parents[2]
PREFIX = os.environ.get("SLIPWAY_CLUSTER_PREFIX", "slipway-cl-")
CONTROL = PREFIX + "control"
WORK = "/root/cluster-test"
FIGURES = pathlib.Path(os.environ.get("SLIPWAY_CLUSTER_FIGURES", ROOT / ".cache" / "cluster-figures.json"))


def inventory_dir() -> pathlib.Path:
    given = os.environ.get("SLIPWAY_CLUSTER_INVENTORY")
    if given:
        return pathlib.Path(given)
    found = [ROOT / ".cache" / "molecule-cluster" / "inventory"]
    found += [pathlib.Path(p) for p in glob.glob(os.path.expanduser("~/.cache/*/*/tmp/molecule.*.cluster/inventory"))]
    return next((p for p in found if (p / ".secrets" / "controller_admin_token").exists()), found[0])


def sh(host: str, cmd: str, *, check: bool = True, input: str | None = None,
       timeout: float = 900) -> subprocess.CompletedProcess:
    """A bash command inside a host container (short name: control, node1, ...); stdout+stderr in .stdout."""
    p = subprocess.run(["docker", "exec", "-i", PREFIX + host, "bash", "-c", cmd], input=input, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"in {host}: {cmd}\n(exit {p.returncode})\n{p.stdout}")
    return p


_CONTROLLER: list[str] = []


def controller_url() -> str:
    """Where the platform's callers on the control host reach the controller (the router sync's setting):
    https://control:8000 in this layout (the node agents on other hosts report to it), http://127.0.0.1:8000 when
    every caller is on the controller's host."""
    if not _CONTROLLER:
        _CONTROLLER.append(sh("control", "sed -n 's/^controller_url *= *//p' /etc/slipway/router/routesync.ini")
                           .stdout.strip() or "http://127.0.0.1:8000")
    return _CONTROLLER[0]


def routed_api() -> list[str]:
    """curl's arguments for the controller API as users reach it: through the router on the control host, at
    https://slipway.<platform domain> (the inventory's), its certificate from the platform CA."""
    if not _ROUTED:
        domain = yaml.safe_load((inventory_dir() / "group_vars" / "all.yml").read_text())["slipway_platform_domain"]
        _ROUTED.extend(["--cacert", "/etc/slipway/tls/ca.crt", "--resolve", f"slipway.{domain}:443:127.0.0.1",
                        f"https://slipway.{domain}"])
    return list(_ROUTED)


_ROUTED: list[str] = []


def api(method: str, path: str, body=None, *, token: str | None = None, headers: dict | None = None,
        expect=(200, 201, 204), timeout: float = 1800, platform: bool = False):
    """The controller API with curl inside the control host: (status, JSON or text). A user's request goes through
    the router (routed_api); a platform caller's (`platform`: the router's key, say) to the controller itself, where
    those callers reach it (the router serves no platform route)."""
    *options, base = (["--cacert", "/etc/slipway/tls/ca.crt", controller_url()] if platform else routed_api())
    args = ["curl", "-sS", "-m", str(int(timeout)), *options, "-X", method,
            "-o", "/tmp/cluster-api.out", "-w", "%{http_code}", "-H", "Content-Type: application/json", base + path]
    if token:
        args += ["-H", f"Authorization: token {token}"]
    for k, v in (headers or {}).items():
        args += ["-H", f"{k}: {v}"]
    data = json.dumps(body) if body is not None else None
    if data is not None:
        args += ["--data-binary", "@-"]
    p = sh("control", " ".join(map(shlex.quote, args)) + "; echo; cat /tmp/cluster-api.out", input=data,
           timeout=timeout + 30)
    first, _, rest = p.stdout.partition("\n")
    status = int(first.strip()[-3:])
    value = json.loads(rest) if rest.strip()[:1] in ("{", "[") else rest
    if expect and status not in expect:
        raise AssertionError(f"{method} {path} -> {status}: {value}")
    return status, value


class Load:
    """tests/e2e/load.py inside the control host, through the router on 127.0.0.1:80 with the app's Host."""

    def __init__(self, domain: str, name: str, threads: int = 4):
        self.stop = f"{WORK}/stop-{name}"
        sh("control", f"rm -f {self.stop}")
        self.proc = subprocess.Popen(["docker", "exec", CONTROL, "python3", f"{WORK}/load.py", domain, self.stop,
                                      "--threads", str(threads), "--max-seconds", "900"],
                                     stdout=subprocess.PIPE, text=True)
        assert json.loads(self.proc.stdout.readline()).get("ready")
        time.sleep(1.0)

    def finish(self, settle: float = 1.5) -> dict:
        time.sleep(settle)
        sh("control", f"touch {self.stop}")
        out, _ = self.proc.communicate(timeout=120)
        return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def cluster():
    """The converged cluster: admin and router keys, the load generator copied into the control host."""
    p = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", CONTROL], text=True, capture_output=True)
    if p.stdout.strip() != "true":
        pytest.fail(f"{CONTROL} is not running: converge molecule/cluster first (scripts/cluster-test.sh)")
    secrets = inventory_dir() / ".secrets"
    sh("control", f"curl -fsS --cacert /etc/slipway/tls/ca.crt {controller_url()}/readiness")
    sh("control", f"rm -rf {WORK} && mkdir -p {WORK}")
    subprocess.run(["docker", "cp", str(ROOT / "tests" / "e2e" / "load.py"), f"{CONTROL}:{WORK}/load.py"], check=True)
    figures: dict = {}
    yield {"admin": (secrets / "controller_admin_token").read_text().strip(),
           "router_key": (secrets / "router_key").read_text().strip(),
           "inventory": inventory_dir(), "figures": figures}
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
    print("\n==== cluster figures ====\n" + json.dumps(figures, indent=2))


@pytest.fixture(scope="session")
def world(cluster):
    """One app for the whole suite (test_cluster.py pushes and scales it; test_new_node.py moves it to a new
    node), the admin's SSH key on the control host, the registry the builder pushes to."""
    admin = cluster["admin"]
    sh("control", f"ssh-keygen -q -t ed25519 -N '' -C cluster-test -f {WORK}/key")
    public = sh("control", f"cat {WORK}/key.pub").stdout.strip()
    api("POST", "/v2/keys/", {"id": f"cluster-{secrets.token_hex(3)}", "public": public}, token=admin)
    app = f"spread-{secrets.token_hex(3)}"
    api("POST", "/v2/apps/", {"id": app}, token=admin)
    _, info = api("GET", f"/v2/apps/{app}/", token=admin)
    registry = sh("control", "sed -n 's/^registry *= *//p' /etc/slipway/builder/sandbox.ini").stdout.strip()
    assert registry, "no registry in the build sandbox's settings"
    return {**cluster, "app": app, "domain": info["url"].split("://")[-1].strip("/"), "registry": registry}
