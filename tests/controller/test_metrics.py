"""GET /metrics on a live controller run as the role runs it: two uvicorn workers sharing a multiprocess folder,
so every count below is the sum of both workers' counts."""
from __future__ import annotations

import secrets
import subprocess
import sys

import pytest
import requests
from cryptography import x509
from prometheus_client.parser import text_string_to_metric_families

from tests.live import (ROOT, Controller, bootstrap_admin, controller_env, free_port, fresh_database, migrate, stop,
                        wait_http)

from .certgen import self_signed
from .conftest import REGISTRY, register
from .deployhelp import BROKEN, build

KEY = "metrics-" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def mctl(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prometheus-multiproc")
    with fresh_database() as db_url:
        env = controller_env(db_url, SLIPWAY_METRICS_KEY=KEY, SLIPWAY_HEALTH_TIMEOUT="20", SLIPWAY_DRAIN_SECONDS="0.5",
                             SLIPWAY_REGISTRY=REGISTRY, PROMETHEUS_MULTIPROC_DIR=str(folder))
        migrate(env)
        password, token = bootstrap_admin(env)
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "controller_app.main:app", "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", "2", "--log-level", "warning",
                                 "--no-proxy-headers"], env=env, cwd=ROOT)
        try:
            wait_http(f"http://127.0.0.1:{port}/readiness")
            yield Controller(f"http://127.0.0.1:{port}", db_url, env["SLIPWAY_BUILDER_KEY"],
                             env["SLIPWAY_ROUTER_KEY"], env, proc, token, password)
        finally:
            stop(proc)


@pytest.fixture(scope="module")
def images():
    subprocess.run(["scripts/build-test-image.sh"], check=True, cwd=ROOT)


def scrape(ctl, key: str | None = KEY) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return requests.get(ctl.url + "/metrics", headers=headers, timeout=30)


def samples(ctl) -> dict[tuple[str, tuple], float]:
    r = scrape(ctl)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_metrics_key_is_required(mctl):
    assert scrape(mctl, None).status_code == 401
    assert scrape(mctl, "wrong").status_code == 401
    assert requests.get(mctl.url + "/metrics", headers={"Authorization": f"token {KEY}"}, timeout=30).status_code == 401
    assert scrape(mctl).status_code == 200


def test_requests_are_counted_by_route_template_across_workers(mctl):
    owner = register(mctl, f"owner-{secrets.token_hex(3)}")
    app = f"m-{secrets.token_hex(4)}"
    assert owner.post("/v2/apps/", {"id": app}).status_code == 201
    route = "/v2/apps/{id}/config/"
    before = samples(mctl)
    for _ in range(12):  # new connections: both workers answer some
        assert requests.get(f"{mctl.url}/v2/apps/{app}/config/", headers=owner.headers(), timeout=30).status_code == 200
    stranger = f"nosuch-{secrets.token_hex(6)}"
    assert owner.get(f"/v2/apps/{stranger}/").status_code == 404
    assert requests.get(f"{mctl.url}/{stranger}/deeper", timeout=30).status_code == 404
    after = samples(mctl)
    grew = value(after, "slipway_api_requests_total", method="GET", route=route, status="200") - value(
        before, "slipway_api_requests_total", method="GET", route=route, status="200")
    assert grew == 12
    assert value(after, "slipway_api_request_duration_seconds_count", method="GET", route=route) >= 12
    assert value(after, "slipway_api_requests_total", method="GET", route="/v2/apps/{id}/", status="404") >= 1
    assert value(after, "slipway_api_requests_total", method="GET", route="unmatched", status="404") >= 1
    text = scrape(mctl).text
    assert stranger not in text
    assert f'app="{app}"' in text  # the app's own release count: a name the platform holds
    assert value(after, "slipway_app_releases", app=app) == 1
    assert value(after, "slipway_apps") >= 1


def test_deploys_are_counted_by_outcome(mctl, images):
    owner = register(mctl, f"owner-{secrets.token_hex(3)}")
    app = f"d-{secrets.token_hex(4)}"
    assert owner.post("/v2/apps/", {"id": app}).status_code == 201
    try:
        assert build(owner, app).status_code == 201
        r = build(owner, app, image=BROKEN)
        assert r.status_code == 400, r.text
        found = samples(mctl)
        assert value(found, "slipway_deploys_total", app=app, outcome="succeeded") == 1
        assert value(found, "slipway_deploys_total", app=app, outcome="failed") == 1
        assert value(found, "slipway_deploy_duration_seconds_count", outcome="succeeded") >= 1
        assert value(found, "slipway_deploy_duration_seconds_count", outcome="failed") >= 1
        assert value(found, "slipway_deploy_duration_seconds_sum", outcome="failed") > 0
        assert value(found, "slipway_app_releases", app=app) == 3  # v1, the good build, the broken one
    finally:
        owner.delete(f"/v2/apps/{app}/")


def test_certificate_expiry_is_its_not_after(mctl):
    owner = register(mctl, f"owner-{secrets.token_hex(3)}")
    app = f"c-{secrets.token_hex(4)}"
    host = f"{app}.example.com"
    assert owner.post("/v2/apps/", {"id": app}).status_code == 201
    assert owner.post(f"/v2/apps/{app}/domains/", {"domain": host}).status_code == 201
    cert, key = self_signed(host, days=40)
    name = f"cert-{secrets.token_hex(3)}"
    assert owner.post("/v2/certs/", {"name": name, "certificate": cert, "key": key}).status_code == 201
    not_after = x509.load_pem_x509_certificate(cert.encode()).not_valid_after_utc.timestamp()
    # held but not attached: counted under its common name, no app
    assert value(samples(mctl), "slipway_certificate_expiry_timestamp_seconds", domain=host, app="") == not_after
    assert owner.post(f"/v2/certs/{name}/domain/", {"domain": host}).status_code == 201
    assert value(samples(mctl), "slipway_certificate_expiry_timestamp_seconds", domain=host, app=app) == not_after


def test_nodes_and_their_agents(mctl):
    hostname = subprocess.run(["docker", "info", "--format", "{{.Name}}"], capture_output=True, text=True,
                              check=True).stdout.strip()
    found = samples(mctl)
    assert value(found, "slipway_node_ready", node=hostname) == 1
    assert (("slipway_node_agent_reporting", (("node", hostname),)) in found)  # no agent reports here: 0
    assert value(found, "slipway_node_agent_reporting", node=hostname) == 0
