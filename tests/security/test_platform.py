"""Security checks against the deployed all-in-one platform (issue 6), not a test controller:
- the authorization matrix of every route (tests/controller/test_authorization_matrix.py's table, run here
  against the platform's controller with its own builder and router keys);
- a config value never shows in the app's image, the deploy's ansible-runner artifacts, the journal or the
  router's logs; tokens and passwords are stored hashed (neither appears in a dump of the database);
- app containers: all capabilities dropped, none added, a memory limit, not privileged, no host paths, and
  no-new-privileges in force (the daemon-wide setting on serving nodes); API input cannot ask for more;
- login attempts are rate-limited."""
from __future__ import annotations

import json
import secrets
import types

import pytest
import requests

from tests.controller.conftest import Api, register
from tests.controller.test_authorization_matrix import (  # noqa: F401  (collected here, against the platform)
    shared_cast, test_builder_and_router_keys_open_their_routes_only, test_route_authorization)

from tests.e2e.conftest import git_repo, psql, push, router_key, sh, unique
from tests.e2e.forward import forwarded
from tests.e2e.ops import hello_source, new_app
from tests.e2e.test_push import dockerfile

pytestmark = pytest.mark.timeout(1800)
SECRET = "e2e-s3cr3t-" + secrets.token_hex(6)


@pytest.fixture(scope="module")
def ctl(aio):
    """The platform's controller as the authorization matrix addresses it: users through the router, the platform
    services' own routes directly from inside the host (as those services call them); its keys and settings."""
    key = router_key()
    assert aio["api"] and key
    env = dict(line.split("=", 1) for line in sh("cat /etc/slipway/controller.env").stdout.splitlines()
               if "=" in line and not line.startswith("#"))
    with forwarded(8000) as direct:
        yield types.SimpleNamespace(url=aio["api"], service_url=direct, builder_key=aio["builder_key"],
                                    router_key=key, env=env, admin_token=aio["admin_token"])


@pytest.fixture(scope="module")
def admin(ctl) -> Api:
    """A platform administrator of the tests' own (the first user, the role's admin, is not shared with tests)."""
    api = register(ctl, unique("secadmin"))
    psql(f"UPDATE users SET is_superuser = true WHERE username = '{api.username}'")
    assert api.get("/v2/users/").status_code == 200
    return api


@pytest.fixture
def new_user(ctl):
    return lambda prefix="user": register(ctl, unique(prefix + "-"))


@pytest.fixture
def anon(ctl) -> Api:
    return Api(ctl.url)


@pytest.fixture(scope="module")
def served(aio, user_factory):
    """An app pushed over SSH, with a secret in its config, serving."""
    world = new_app(aio, user_factory, "sec")
    user, app = world["owner"], world["app"]
    user.api("POST", f"/v2/apps/{app}/config/", {"values": {"API_SECRET": SECRET}})
    git_repo(world["src"], {"Dockerfile": dockerfile(aio["registry"]), "app.py": hello_source("sec")})
    rc, out, _ = push(user, app, world["src"])
    assert rc == 0, out[-3000:]
    return {"user": user, "app": app, "registry": aio["registry"]}


def test_config_values_stay_out_of_images_artifacts_journal_and_logs(served):
    app = served["app"]
    # the running task has it (injected at run time)...
    task = sh(f"docker ps -q --filter label=slipway.app={app} | head -1").stdout.strip()
    assert SECRET in sh(f"docker exec {task} env").stdout
    # ...nothing at rest has it
    image = f"{served['registry']}/{app}"
    assert sh(f"docker images -q {image}").stdout.strip(), "the app's image is on the host"
    assert SECRET not in sh(f"docker history --no-trunc $(docker images -q {image})").stdout
    assert SECRET not in sh(f"docker image inspect $(docker images -q {image})").stdout
    places = "/var/lib/slipway/deploy/artifacts/ /var/log/nginx/ /var/lib/slipway/builder/"
    assert sh(f"grep -rl -- {SECRET} {places} 2>/dev/null || true").stdout.strip() == ""
    assert sh(f"journalctl --no-pager --since -60min | grep -c -- {SECRET} || true").stdout.strip() == "0"


def test_tokens_and_passwords_are_stored_hashed(served):
    dump = sh("cd / && runuser -u postgres -- pg_dump --data-only slipway_controller").stdout
    user = served["user"]
    assert user.api.token not in dump and user.password not in dump
    assert "scrypt" in psql(f"SELECT password_hash FROM users WHERE username = '{user.name}'")


def test_app_containers_are_confined(served):
    app = served["app"]
    daemon = json.loads(sh("cat /etc/docker/daemon.json").stdout)
    # no new privileges; containers talk to each other only through the router (icc off); no userland proxy, so
    # the walls see a published port's real client
    assert daemon.get("no-new-privileges") is True and daemon.get("icc") is False, daemon
    assert daemon.get("userland-proxy") is False, daemon
    assert sh("pgrep -x docker-proxy", check=False).stdout.strip() == "", "a userland proxy runs"
    assert sh(f"docker port $(docker ps -q --filter label=slipway.app={app} | head -1)").stdout.strip()
    for task in sh(f"docker ps -q --filter label=slipway.app={app}").stdout.split():
        host = json.loads(sh(f"docker inspect -f '{{{{json .HostConfig}}}}' {task}").stdout)
        assert host["CapDrop"] and "ALL" in host["CapDrop"] and not host["CapAdd"], host
        assert host["Memory"] > 0 and not host["Privileged"] and not host["Binds"], host
        assert not [m for m in json.loads(sh(f"docker inspect -f '{{{{json .Mounts}}}}' {task}").stdout)
                    if m.get("Type") == "bind"]
        assert "NoNewPrivs:\t1" in sh(f"docker exec {task} grep NoNewPrivs /proc/1/status").stdout
        assert "CapEff:\t0000000000000000" in sh(f"docker exec {task} grep CapEff /proc/1/status").stdout


def test_api_input_cannot_widen_a_container(served):
    """Fields a client might try (privileged, mounts, capabilities, host network) are part of no input: refused
    with 4xx; and a one-off `run` container is as confined as the app's tasks."""
    api, app = served["user"].api, served["app"]
    for body in ({"web": 1, "privileged": True}, {"web": 1, "mounts": ["/:/host"]}):
        status, answer = api("POST", f"/v2/apps/{app}/scale/", body, expect=None)
        assert status == 400, (status, answer)
    status, answer = api("POST", f"/v2/apps/{app}/config/", {"values": {"X": "1"}, "cap_add": ["SYS_ADMIN"],
                                                               "network_mode": "host"}, expect=None)
    assert status == 400, (status, answer)
    status, answer = api("POST", f"/v2/apps/{app}/run/", {"command": "id", "privileged": True,
                                                          "volumes": ["/:/host"]}, expect=None)
    assert status == 400, (status, answer)
    _, answer = api("POST", f"/v2/apps/{app}/run/",
                    {"command": "grep -E 'CapEff|NoNewPrivs' /proc/self/status; ls /host 2>&1; true"})
    assert answer["exit_code"] == 0, answer
    assert "CapEff:\t0000000000000000" in answer["output"] and "NoNewPrivs:\t1" in answer["output"], answer
    assert "No such file" in answer["output"], answer
    for task in sh(f"docker ps -q --filter label=slipway.app={app}").stdout.split():
        assert not json.loads(sh(f"docker inspect -f '{{{{json .HostConfig}}}}' {task}").stdout)["Privileged"]


def test_login_attempts_are_rate_limited(ctl, new_user):
    user = new_user("brute")
    codes = [requests.post(ctl.url + "/v2/auth/login/", json={"username": user.username, "password": "wrong"},
                           timeout=30).status_code for _ in range(40)]
    assert codes[0] == 400 and 429 in codes, codes  # a wrong password is a 400, as in Deis
    print(f"\n[login throttling] {codes.index(429)} wrong passwords answered before the first 429")
