"""Service names and resource limits in the Swarm scheduler: what Swarm accepts, and what is refused up front.

The labelled-service test runs against this machine's single-node Swarm (real dockerd).
"""
from __future__ import annotations

import secrets

import pytest

from controller_app.scheduler.base import SchedulerError
from controller_app.scheduler.names import parse_cpu, parse_memory, service_name
from controller_app.scheduler.swarm import SwarmScheduler
from tests.scheduler.swarm_helpers import running, spec

pytestmark = pytest.mark.timeout(120)


def test_names_fit_swarm_and_stay_distinct():
    long_app = "a" + "b" * 61 + "c"
    long_type = "t" * 29 + "x"
    assert len(long_app) == 63 and len(long_type) == 30
    names = {
        service_name(long_app, long_type, 1), service_name(long_app, long_type, 2),
        service_name(long_app, "t" * 29 + "y", 1), service_name(long_app[:-1] + "d", long_type, 1),
        service_name(long_app, long_type, 10 ** 12), service_name("a-web", "x", 1), service_name("a", "web-x", 1),
        service_name(long_app, "web", 1), service_name(long_app[:55], "web", 1),
    }
    assert len(names) == 9
    assert all(len(n) <= 63 for n in names)
    assert service_name("myapp", "web", 3) == "myapp_web_3"
    for bad in [("Bad", "web", 1), ("a" * 64, "web", 1), ("app", "x" * 31, 1), ("app", "we_b", 1), ("app", "web", -1)]:
        with pytest.raises(SchedulerError):
            service_name(*bad)


def test_long_app_and_type_get_a_labelled_service(sched, docker_client):
    app = "swt-" + secrets.token_hex(4) + "-" + "x" * 49 + "z"
    assert len(app) == 63
    long_type = "worker-" + "q" * 23
    try:
        sched.create(spec(app, proc_type=long_type, command="sleep 1000"))
        sched.create(spec(app, proc_type=long_type[:-1] + "r", command="sleep 1000"))
        tasks = running(sched, app, 2, routable=False)
        services = docker_client.services.list(filters={"label": f"slipway.app={app}"})
        assert len({s.name for s in services}) == 2 and all(len(s.name) <= 63 for s in services)
        assert {s.attrs["Spec"]["Labels"]["slipway.type"] for s in services} == {long_type, long_type[:-1] + "r"}
        assert {t.proc_type for t in tasks} == {long_type, long_type[:-1] + "r"}
        assert sched.deployments(app) == [1]
    finally:
        sched.remove(app)
    assert not docker_client.services.list(filters={"label": f"slipway.app={app}"})


def test_resource_strings():
    assert parse_memory("256M") == 256 * 1024 ** 2
    assert parse_memory("1G") == 1024 ** 3
    assert parse_memory("8192K") == 8 * 1024 ** 2
    assert parse_memory("10485760B") == 10 * 1024 ** 2
    assert parse_cpu("500m") == 500_000_000
    assert parse_cpu("1.5") == 1_500_000_000
    assert parse_cpu("2") == 2_000_000_000
    for bad in ["", "256", "256MB", "1.5G", "-1M", "1T", "M", " ", "1M", "0G"]:
        with pytest.raises(SchedulerError):
            parse_memory(bad)
    for bad in ["", "0", "0m", "1.5m", "abc", "-1", "1e3"]:
        with pytest.raises(SchedulerError):
            parse_cpu(bad)


def test_bad_memory_is_refused_before_anything_is_created(sched, app, docker_client):
    for bad in ["256MB", "lots", "1.5G"]:
        with pytest.raises(SchedulerError, match="memory"):
            sched.create(spec(app, memory=bad))
    with pytest.raises(SchedulerError, match="cpu"):
        sched.create(spec(app, cpu="fast"))
    with pytest.raises(SchedulerError):
        SwarmScheduler(default_memory="512")
    assert not docker_client.services.list(filters={"label": f"slipway.app={app}"})
