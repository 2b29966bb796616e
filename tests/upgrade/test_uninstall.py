"""Uninstall and install again on the all-in-one host: playbooks/uninstall.yml removes the platform (services,
packages, users, the firewall's table, containers and images) and keeps its data; a second run changes nothing;
`site.yml` afterwards brings the same platform back, and the app pushed before serves again with its releases
and config, under the same CA and secrets.

It runs last (scripts/test.sh): the host is converged with this tree and every other suite has run on it.
"""
from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import API, User, platform, sh, unique, wait_for
from tests.e2e.ops import hello_source, pushed_app
from tests.upgrade import previous
from tests.upgrade.state import app_state, release_answer, secrets_digest

pytestmark = pytest.mark.timeout(3600)

LOGS = previous.ROOT / ".cache" / "upgrade"
UNINSTALL = previous.ROOT / "playbooks" / "uninstall.yml"
UNITS = ["slipway-controller", "slipway-routesync", "slipway-node-agent", "slipway-builder-sshd", "nginx",
         "docker", "postgresql", "docker-registry", "seaweedfs-master"]
PACKAGES = ["nginx", "docker.io", "postgresql-17", "prometheus"]
USERS = ["slipway-controller", "git"]
KEPT = ["/var/lib/postgresql"]
# The store compacts its volumes (drops deleted entries) whenever it likes while it runs, so its size may fall
# during the uninstall: what must stay is every volume.
STORE = "/var/lib/seaweedfs"


def store_volumes() -> set[str]:
    return set(sh(f"find {STORE} -name '*.dat' -printf '%P\\n'", check=False).stdout.split())
LEFT = "/var/lib/slipway/deploy/left-behind"
SQUATTER = "slipway-test-squatter"


def uninstall(name: str, *extra: str) -> tuple[int, str]:
    log = LOGS / f"{name}.log"
    rc = previous.playbook(previous.ROOT, UNINSTALL, log, *extra)
    return rc, log.read_text()


def recap_changed(output: str) -> int:
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1]))


def test_uninstall_keeps_the_data_and_site_brings_the_same_platform_back():
    aio = platform(converge=False)
    owner = User(aio, unique("reinstall"))
    app = pushed_app(aio, owner, "reinstall-", hello_source("kept:"))
    owner.api("POST", f"/v2/apps/{app}/config/", {"values": {"KEPT": "yes"}})
    _, info = owner.api("GET", f"/v2/apps/{app}/")
    domain = info["url"].split("://")[-1].strip("/")
    wait_for(lambda: release_answer(domain)[0] == 200, 120, message=f"{app} serving")
    before, answer, secrets = app_state(owner, app), release_answer(domain), secrets_digest()
    kept = {path: sh(f"du -s --apparent-size {path} | cut -f1").stdout.strip() for path in KEPT}
    volumes = store_volumes()
    assert volumes, f"no volume in {STORE}"
    # what a pushed tree may leave in the builder's kept folders (a checkout a crash left behind): links of the git
    # user's to files of root's. Giving the kept files to the new account must not follow them.
    sh(f"install -d -o git -g git {LEFT} && ln -sfn /etc/hostname {LEFT}/hostname && ln -sfn /etc {LEFT}/etc"
       f" && chown -h git:git {LEFT}/hostname {LEFT}/etc")
    git_uid = sh("id -u git").stdout.strip()

    rc, out = uninstall("uninstall-unconfirmed")
    assert rc != 0 and "slipway_uninstall_confirm" in out, out[-3000:]
    assert sh("systemctl is-active slipway-controller", check=False).stdout.strip() == "active"

    rc, out = uninstall("uninstall", "-e", "slipway_uninstall_confirm=slipway")
    assert rc == 0, out[-6000:]
    for unit in UNITS:
        assert sh(f"systemctl cat {unit}.service", check=False).returncode != 0, f"{unit} is still installed"
    for package in PACKAGES:
        state = sh(f"dpkg-query -W -f '${{db:Status-Status}}' {package} 2>/dev/null", check=False).stdout
        assert state != "installed", f"{package} is still installed"
    for user in USERS:
        assert sh(f"id {user}", check=False).returncode != 0, f"user {user} is still there"
    assert sh("nft list table inet slipway", check=False).returncode != 0, "the firewall's table is still loaded"
    assert sh("ss -Hltn | grep -E ':(80|443|2222|5000|5432|8000|8333|9333) '", check=False).stdout == ""
    for path, size in kept.items():
        # PostgreSQL's clean stop writes its statistics and a checkpoint: the folders stay, about as they were
        left = sh(f"du -s --apparent-size {path} | cut -f1", check=False).stdout.strip()
        assert left and int(left) >= int(size) * 0.9, f"{path}: {size} KiB before, {left or 'nothing'} after"
    assert volumes <= store_volumes(), f"{STORE}: volumes gone: {sorted(volumes - store_volumes())}"

    rc, out = uninstall("uninstall-again", "-e", "slipway_uninstall_confirm=slipway")
    assert rc == 0 and recap_changed(out) == 0, out[-6000:]

    # a package installed meanwhile takes the git user's former id: the account made again gets another one
    sh(f"useradd --system --no-create-home --uid {git_uid} {SQUATTER}")
    log = LOGS / "reinstall-converge.log"
    try:
        assert previous.converge_current(log) == 0, log.read_text()[-6000:]
    finally:
        sh(f"userdel {SQUATTER}")
    assert sh("id -u git").stdout.strip() != git_uid
    assert secrets_digest() == secrets
    # the same database: the owner's token still works, the app and its history are there; the controller
    # deploys it again (its services went with the Swarm) with the release it served
    wait_for(lambda: release_answer(domain) == answer, 300, message=f"{app} serving again")
    assert app_state(owner, app) == before
    assert sh("stat -c %U:%G /etc/hostname /etc /etc/passwd").stdout.split() == ["root:root"] * 3
    assert sh(f"stat -c %U:%G {LEFT}/hostname {LEFT}/etc").stdout.split() == ["git:git"] * 2
    assert API(aio["api"], aio["admin_token"])("GET", "/v2/auth/whoami/")[0] == 200
