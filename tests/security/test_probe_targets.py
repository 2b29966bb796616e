"""A stranger's health checks aimed at the platform: probes the node agent runs on a tenant's say (exec, a port other
than PORT) stay inside the tenant's own container, and probe fields that would reach further are refused."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import sh, wait_for

from .tenant import Marker, hello, push_tree, stranger

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def world(aio, user_factory):
    world = stranger(aio, user_factory, "probe")
    rc, out = push_tree(world, hello(aio["registry"], "probe"))
    assert rc == 0, out[-2000:]
    return world


def containers(app: str) -> set[str]:
    return set(sh(f"docker ps -q --filter label=slipway.app={app}").stdout.split())


def set_check(world, check: dict, expect=(201,)):
    return world["owner"].api("POST", f"/v2/apps/{world['app']}/config/", {"healthcheck": {"web/cmd": check}},
                              expect=expect)


def test_a_probe_of_the_controllers_port_reaches_only_the_tenants_container(world):
    """tcpSocket 8000 is the controller's port on the node: probed there it would pass. The agent probes the
    container's own address, where nothing listens, so the liveness probe fails and the task is restarted."""
    set_check(world, {"livenessProbe": {"tcpSocket": {"port": 8000}, "periodSeconds": 1, "failureThreshold": 2,
                                        "initialDelaySeconds": 1}})
    first = containers(world["app"])
    wait_for(lambda: containers(world["app"]) - first, timeout=60, interval=0.5,
             message="the task restarted by its failing probe")
    set_check(world, {"readinessProbe": {"httpGet": {"path": "/"}}})


def test_an_exec_probe_runs_in_the_tenants_container_not_on_the_host(world):
    marker = Marker()
    set_check(world, {"readinessProbe": {"exec": {"command": ["sh", "-c", marker.command]}, "periodSeconds": 1}})
    # the new release's container (the replaced one may still be draining beside it)
    wait_for(lambda: any(sh(f"docker exec {c} test -e {marker.path}", check=False).returncode == 0
                         for c in containers(world["app"])),
             timeout=30, message="the probe's file inside the container")
    assert not marker.made()


@pytest.mark.parametrize("check", [
    {"readinessProbe": {"httpGet": {"path": "/", "host": "169.254.169.254"}}},
    {"readinessProbe": {"httpGet": {"path": "/", "httpHeaders": [{"name": "X", "value": "a\r\nHost: evil"}]}}},
    {"readinessProbe": {"httpGet": {"path": "/ HTTP/1.1\r\nX: y"}}},
    {"readinessProbe": {"tcpSocket": {"port": 0}}},
    {"readinessProbe": {"exec": {"command": "sh -c id"}}},
])
def test_probe_fields_that_reach_further_are_refused(world, check):
    status, answer = set_check(world, check, expect=None)
    assert status == 400 and "healthcheck" in answer, answer
