"""Health checks in Deis Workflow's shape through the config API: liveness and readiness probes per process type,
stored complete, the former shape converted (on input, and in stored configs by migration 0009), web/cmd as the
app's routable type, and every bad value refused with a 400 naming `healthcheck`."""
from __future__ import annotations

import json
import subprocess
import sys

import psycopg2
import pytest

from tests.live import ROOT

TIMINGS = {"initialDelaySeconds": 0, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
           "failureThreshold": 3}
HTTP = {"initialDelaySeconds": 5, "timeoutSeconds": 2, "periodSeconds": 3, "successThreshold": 2,
        "failureThreshold": 4,
        "httpGet": {"path": "/ready?x=1", "port": 8080, "httpHeaders": [{"name": "X-Probe", "value": "yes: 1"}]}}


def path(app_id: str) -> str:
    return f"/v2/apps/{app_id}/config/"


def test_each_handler_is_stored_complete_and_listed_in_one_shape(owner, app_id):
    body = {"web": {"readinessProbe": HTTP, "livenessProbe": {"tcpSocket": {"port": 8080}}},
            "worker": {"livenessProbe": {"exec": {"command": ["/bin/check", "--quick"]}, "failureThreshold": 5}}}
    r = owner.post(path(app_id), {"healthcheck": body})
    assert r.status_code == 201, r.text
    stored = owner.get(path(app_id)).json()["healthcheck"]
    assert stored == {"web": {"readinessProbe": HTTP, "livenessProbe": {**TIMINGS, "tcpSocket": {"port": 8080}}},
                      "worker": {"livenessProbe": {**TIMINGS, "failureThreshold": 5,
                                                   "exec": {"command": ["/bin/check", "--quick"]}}}}


def test_a_types_value_replaces_the_previous_one_and_null_unsets_it(owner, app_id):
    first = {"readinessProbe": {"tcpSocket": {}}, "livenessProbe": {"tcpSocket": {}}}
    assert owner.post(path(app_id), {"healthcheck": {"web": first}}).status_code == 201
    assert owner.post(path(app_id), {"healthcheck": {"web": {"livenessProbe": {"exec": {"command": ["true"]}}}}}
                      ).status_code == 201
    assert owner.get(path(app_id)).json()["healthcheck"] == {
        "web": {"livenessProbe": {**TIMINGS, "exec": {"command": ["true"]}}}}
    r = owner.post(path(app_id), {"healthcheck": {"web": None}})
    assert r.status_code == 201 and r.json()["healthcheck"] == {}
    assert owner.post(path(app_id), {"healthcheck": {"web": None}}).status_code == 422


def test_the_former_shape_becomes_a_readiness_http_probe(owner, app_id):
    old = {"path": "/health", "timeout": 2.5, "interval": 0, "initial_delay": 7, "healthy_threshold": 2}
    r = owner.post(path(app_id), {"healthcheck": {"web": old, "worker": {"timeout": 600}}})
    assert r.status_code == 201, r.text
    assert r.json()["healthcheck"] == {
        "web": {"readinessProbe": {**TIMINGS, "timeoutSeconds": 3, "periodSeconds": 1, "initialDelaySeconds": 7,
                                   "successThreshold": 2, "httpGet": {"path": "/health", "httpHeaders": []}}},
        "worker": {"readinessProbe": {**TIMINGS, "timeoutSeconds": 60, "httpGet": {"path": "/", "httpHeaders": []}}}}


def test_web_cmd_is_the_routable_type(owner, app_id):
    """An app without a build runs `cmd` (structure_for); an app whose Procfile has `web`: test_deploy_probes.py."""
    probe = {"readinessProbe": {"tcpSocket": {}}}
    r = owner.post(path(app_id), {"healthcheck": {"web/cmd": probe}})
    assert r.status_code == 201 and set(r.json()["healthcheck"]) == {"cmd"}, r.text
    r = owner.post(path(app_id), {"healthcheck": {"web/cmd": probe, "cmd": probe}})
    assert r.status_code == 400 and r.json()["healthcheck"], r.text
    assert owner.post(path(app_id), {"healthcheck": {"web/cmd": None}}).json()["healthcheck"] == {}


def probe(**over) -> dict:
    return {"web": {"readinessProbe": {"httpGet": {"path": "/"}, **over}}}


def http(**over) -> dict:
    return {"web": {"readinessProbe": {"httpGet": {"path": "/", **over}}}}


@pytest.mark.parametrize("check", [
    {"web": "tcp"},
    {"web": {"startupProbe": {"tcpSocket": {}}}},
    {"web": {"readinessProbe": {}}},  # no handler
    {"web": {"readinessProbe": {"tcpSocket": {}, "exec": {"command": ["true"]}}}},  # two
    {"web": {"readinessProbe": {"tcpSocket": {"port": 80, "host": "10.0.0.1"}}}},
    {"web": {"readinessProbe": {"tcpSocket": {"port": "http"}}}},  # named ports
    {"web": {"readinessProbe": {"tcpSocket": {"port": 0}}}},
    {"web": {"readinessProbe": {"tcpSocket": {"port": 65536}}}},
    {"web": {"livenessProbe": {"tcpSocket": {}, "successThreshold": 2}}},  # liveness: 1, as Kubernetes
    probe(timeoutSeconds=0), probe(timeoutSeconds=61), probe(periodSeconds=0), probe(initialDelaySeconds=3601),
    probe(failureThreshold=101), probe(successThreshold=0), probe(timeoutSeconds=1.5), probe(periodSeconds=True),
    probe(unknown=1),
    http(path="no-slash"), http(path="/a b"), http(path="/é"), http(path="/" + "a" * 1024), http(scheme="HTTPS"),
    http(httpHeaders=[{"name": "Bad Name", "value": "x"}]),
    http(httpHeaders=[{"name": "X-A", "value": "a\r\nInjected: 1"}]),
    http(httpHeaders=[{"name": "X-A", "value": "x", "extra": 1}]),
    http(httpHeaders=[{"name": f"X-{i}", "value": "x"} for i in range(11)]),
    http(httpHeaders={"X-A": "x"}),
    {"web": {"readinessProbe": {"exec": {"command": []}}}},
    {"web": {"readinessProbe": {"exec": {"command": "curl -f localhost"}}}},
    {"web": {"readinessProbe": {"exec": {"command": ["x"] * 33}}}},
    {"web": {"readinessProbe": {"exec": {"command": ["sh", "a" * 1025]}}}},
    {"web": {"readinessProbe": {"exec": {"command": ["sh", 1]}}}},
    {"web": {"path": "/", "timeout": "slow"}},  # the former shape, checked as before
    {"web": {"path": "/", "timeout": 601}},
])
def test_bad_health_checks_are_refused_naming_the_field(owner, app_id, check):
    before = owner.get(f"/v2/apps/{app_id}/releases/").json()["count"]
    r = owner.post(path(app_id), {"healthcheck": check})
    assert r.status_code == 400 and r.json()["healthcheck"] and r.json()["detail"], r.text
    assert owner.get(f"/v2/apps/{app_id}/releases/").json()["count"] == before


def alembic(ctl, *steps: str) -> None:
    for step in steps:
        code = ("import sys; from alembic import command; from controller_app.migrate import alembic_config; "
                f"command.{step}(alembic_config(), sys.argv[1])")
        target = "autoscale" if step == "downgrade" else "head"
        subprocess.run([sys.executable, "-c", code, target], env=ctl.env, cwd=ROOT, check=True)


def test_the_migration_converts_stored_checks_of_the_former_shape(ctl, owner, app_id):
    new = {"cmd": {"livenessProbe": {**TIMINGS, "tcpSocket": {}}}}
    assert owner.post(path(app_id), {"healthcheck": new}).status_code == 201
    alembic(ctl, "downgrade")  # the data is left as it is; the former shape written as that controller did
    old = {"cmd": {"livenessProbe": {**TIMINGS, "tcpSocket": {}}},
           "web": {"path": "/up", "timeout": 2.5, "interval": 0, "port": 5432},  # a port stored before it was refused
           "worker": {"path": "/a b", "timeout": 900}, "clock": "junk", "empty": {}}
    with psycopg2.connect(ctl.database_url) as conn, conn.cursor() as cur:
        cur.execute("UPDATE configs SET healthcheck = %s WHERE uuid = %s",
                    (json.dumps(old), owner.get(path(app_id)).json()["uuid"]))
    alembic(ctl, "upgrade")
    assert owner.get(path(app_id)).json()["healthcheck"] == {
        "cmd": new["cmd"],
        "web": {"readinessProbe": {**TIMINGS, "timeoutSeconds": 3, "periodSeconds": 1,
                                   "httpGet": {"path": "/up", "httpHeaders": []}}},
        "worker": {"readinessProbe": {**TIMINGS, "timeoutSeconds": 60, "httpGet": {"path": "/", "httpHeaders": []}}},
        "empty": {}}
