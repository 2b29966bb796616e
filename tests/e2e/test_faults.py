"""Fault drills on the converged all-in-one host (issue 6), each printing what it measured:
- an app's container killed under load → Swarm replaces it, the router stops sending to it (failed requests
  counted; the router retries the next upstream);
- the controller restarted in the middle of a deploy → that deploy is finished or marked failed, the app is
  not left locked, the next push works and the app kept serving meanwhile;
- the builder's warm-start server restarted in the middle of a push → the push finishes, the next starts warm;
- schemathesis against the platform's own /openapi.json, authenticated as a user, the builder and the router:
  no server error, every answer matching its schema."""
from __future__ import annotations

import json
import threading
import time

import pytest

from tests.controller.test_fuzz import schemathesis

from .conftest import API, Load, get, git_repo, psql, push, router_key, sh, wait_for
from .forward import forwarded
from .ops import hello_source, new_app
from .test_push import dockerfile

pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def world(aio, user_factory):
    world = new_app(aio, user_factory, "fault")
    git_repo(world["src"], {"Dockerfile": dockerfile(aio["registry"]), "app.py": hello_source("v1:")})
    rc, out, _ = push(world["owner"], world["app"], world["src"])
    assert rc == 0, out[-3000:]
    return {**world, "user": world["owner"]}


def tasks(app: str) -> list[str]:
    return sh(f"docker ps -q --filter label=slipway.app={app}").stdout.split()


def routed(app: str) -> set[tuple[str, int]]:
    """The app's endpoints as the routers are told them."""
    answer = sh(f"curl -fsS -H 'X-Slipway-Router-Auth: {router_key()}' http://127.0.0.1:8000/v2/routes").stdout
    return {(e["address"], e["port"]) for a in json.loads(answer)["apps"] if a["id"] == app for e in a["endpoints"]}


def test_killed_container_is_replaced_and_routed_around(world):
    """With the node agent reporting (the monitor itself polls nothing then), the killed task leaves the routes as
    soon as the agent sees it die."""
    app, domain = world["app"], world["domain"]
    _, nodes = API(world["aio"]["api"], world["aio"]["admin_token"])("GET", "/v2/nodes/")
    assert [n["agent"]["reporting"] for n in nodes["results"]] == [True], nodes
    world["user"].api("POST", f"/v2/apps/{app}/scale/", {"cmd": 2})
    wait_for(lambda: len(tasks(app)) == 2 and len(routed(app)) == 2, timeout=60, message="two routed tasks")
    before, endpoints = set(tasks(app)), routed(app)
    load = Load(domain, f"kill-{app}")
    killed_at = time.monotonic()
    sh(f"docker kill {sorted(before)[0]}")
    wait_for(lambda: len(routed(app) & endpoints) == 1, timeout=30, interval=0.05, message="the endpoint leaving")
    left = time.monotonic() - killed_at
    replaced = wait_for(lambda: (lambda now: now if len(now) == 2 and now != before else None)(set(tasks(app))),
                        timeout=60, message="a replacement task")
    recovery = time.monotonic() - killed_at
    time.sleep(2)  # the replacement healthy and routed
    result = load.finish()
    print(f"\n[container killed] requests={result['requests']} failures={result['failures']} "
          f"out of the routes after {left:.2f}s, replacement running after {recovery:.1f}s errors={result['errors']}")
    assert replaced and result["failures"] == 0, result
    assert get(domain)[0] == 200


def newest_deployment(app: str) -> str:
    return psql("SELECT coalesce(max(d.id), 0) FROM deployments d JOIN apps a ON a.uuid = d.app_uuid "
                f"WHERE a.id = '{app}'", check=False)


def push_until_deploying(world, banner: str) -> tuple[threading.Thread, dict]:
    """Push a new version in the background; return once its release is being deployed (a deployment newer than
    the serving one). The outcome (rc, out, s) fills in when the push ends."""
    app, user, src = world["app"], world["user"], world["src"]
    git_repo(src, {"app.py": hello_source(banner)}, message=banner)
    outcome = {}
    pusher = threading.Thread(target=lambda: outcome.update(zip(("rc", "out", "s"), push(user, app, src))))
    serving = newest_deployment(app)
    pusher.start()
    wait_for(lambda: newest_deployment(app) not in ("", serving), timeout=300, interval=0.2,
             message="the deploy to start")
    return pusher, outcome


def test_controller_restarted_mid_deploy(world):
    app, domain, user, src = world["app"], world["domain"], world["user"], world["src"]
    load = Load(domain, f"restart-{app}")
    pusher, outcome = push_until_deploying(world, "v2:")
    sh("systemctl restart slipway-controller")
    pusher.join(900)
    wait_for(lambda: sh("curl -fsS http://127.0.0.1:8000/readiness", check=False).returncode == 0, timeout=90,
             message="the controller back")
    print(f"\n[controller restarted mid-deploy] push exit {outcome.get('rc')}; "
          f"its output ends: {outcome.get('out', '').strip().splitlines()[-3:]}")
    # the app is not left locked: the next push deploys and serves
    git_repo(src, {"app.py": hello_source("v3:")}, message="v3")
    rc, out, _ = push(user, app, src)
    assert rc == 0, out[-3000:]
    wait_for(lambda: get(domain)[1].startswith("v3:"), timeout=30, message="v3 serving")
    result = load.finish()
    print(f"[load through the restart and the next push] requests={result['requests']} "
          f"failures={result['failures']} bodies={result['bodies']}")
    assert result["failures"] == 0, result
    states = user.api("GET", f"/v2/apps/{app}/releases/")[1]["results"]
    assert states[0]["version"] > states[-1]["version"]


def test_controller_restarts_refuse_no_api_request(aio):
    """Three restarts of the controller (what an upgrade, a changed setting or a new certificate does) while clients
    call its API through the router: systemd holds the listening socket, so every request is answered, late at
    worst."""
    api = Load("localhost", "restart-api", threads=2, args=("--port", "443", "--tls", "/etc/slipway/tls/ca.crt",
                                                            "--path", "/readiness", "--pause", "0.02"))
    for _ in range(3):
        sh("systemctl restart slipway-controller")
        wait_for(lambda: sh("curl -fsS -m 5 http://127.0.0.1:8000/readiness", check=False).returncode == 0,
                 timeout=90, message="the controller back")
        time.sleep(1)
    result = api.finish()
    print(f"\n[three controller restarts] requests={result['requests']} failures={result['failures']} "
          f"slowest={result['slowest']} s errors={result['errors']}")
    assert result["requests"] > 100 and result["failures"] == 0, result


def test_warm_start_restarted_mid_push(world):
    """slipway-warmstart restarted while a push deploys: the push finishes, and the next one starts warm again."""
    app, domain, user, src = world["app"], world["domain"], world["user"], world["src"]
    pusher, outcome = push_until_deploying(world, "v4:")
    sh("systemctl restart slipway-warmstart")
    pusher.join(900)
    assert outcome.get("rc") == 0, outcome.get("out", "")[-3000:]
    wait_for(lambda: get(domain)[1].startswith("v4:"), timeout=30, message="v4 serving")
    since = sh("date +%s").stdout.strip()
    git_repo(src, {"app.py": hello_source("v5:")}, message="v5")
    rc, out, _ = push(user, app, src)
    assert rc == 0, out[-3000:]
    journal = sh(f"journalctl -u slipway-warmstart --since @{since} -o cat").stdout
    assert "template" in journal, journal  # the new server forked that deploy's ansible-playbook


@pytest.mark.parametrize("who", ["user", "builder", "router"])
def test_fuzzing_the_platform_api(world, who):
    aio = world["aio"]
    token = world["user"].api.token
    if who == "user":  # token-revoking calls would log the fuzzer out mid-run
        # POST builds included: a fuzzed image name ("0") no node can pull fails after Swarm's second
        # rejection (under a second), with a 400 naming the image
        r = schemathesis(aio["api"], f"Authorization: token {token}",
                         "--exclude-path-regex", "^/v2/(auth/(tokens|cancel)|hooks|routes|nodes)")
    elif who == "builder":  # not /v2/hooks/build/: a fuzzed build would deploy for minutes
        with forwarded(8000) as direct:  # as the builder calls it: directly, never through a router
            r = schemathesis(direct, f"X-Deis-Builder-Auth: {aio['builder_key']}",
                             "--include-path-regex", "^/v2/hooks/(key|push|config|images)")
    else:
        with forwarded(8000) as direct:
            r = schemathesis(direct, f"X-Slipway-Router-Auth: {router_key()}", "--include-path-regex", "^/v2/routes")
    print(f"\n[schemathesis as {who}] " + " ".join(r.stdout.strip().splitlines()[-1:]))
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
