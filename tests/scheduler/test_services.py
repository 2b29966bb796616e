"""Service life cycle in the Swarm scheduler, against this machine's single-node Swarm (real dockerd).

Creating, serving, scaling, side-by-side deployments, removing and restarting services, and images that fail.
Fixtures in conftest.py; every test uses its own app id and removes only what carries it.
"""
from __future__ import annotations

import subprocess
import urllib.error
import urllib.request

import pytest

from controller_app.scheduler.base import SchedulerError
from controller_app.scheduler.names import service_name
from controller_app.scheduler.swarm import SwarmScheduler
from tests.scheduler.swarm_helpers import TICKER, WEB, container_ids, get, running, service_of, spec, wait_for

pytestmark = pytest.mark.timeout(120)


def test_ping(sched):
    sched.ping()


def test_ping_unreachable_docker_is_a_scheduler_error():
    with pytest.raises(SchedulerError, match="cannot reach"):
        SwarmScheduler(docker_url="unix:///nonexistent/docker.sock").ping()


def test_web_service_serves_its_env_and_is_locked_down(sched, app, docker_client):
    s = spec(app, release=4, env={"MESSAGE": "greetings-from-" + app}, cpu="500m", memory="96M")
    sched.create(s)
    sched.create(s)  # idempotent
    [task] = running(sched, app, 1)
    assert task.name == service_name(app, "web", 1) + ".1"
    assert (task.app, task.release, task.deployment, task.proc_type) == (app, 4, 1, "web")
    assert task.desired_state == "running" and task.started and task.node and task.error is None
    status, body = get(task.endpoint)
    assert status == 200 and "greetings-from-" + app in body and "release=v4" in body
    assert get(task.endpoint, "/env/SLIPWAY_APP") == (200, app)

    service = service_of(docker_client, app)
    attrs = service.attrs["Spec"]
    assert attrs["Name"] == service_name(app, "web", 1)
    assert attrs["Labels"] == {"slipway.app": app, "slipway.release": "4", "slipway.deployment": "1",
                               "slipway.type": "web", "slipway.managed": "1"}
    cs = attrs["TaskTemplate"]["ContainerSpec"]
    assert cs["CapabilityDrop"] == ["ALL"]
    assert sorted(cs["Env"]) == sorted(f"{k}={v}" for k, v in s.env.items())  # exactly the spec's env
    assert "Command" not in cs and "Args" not in cs  # the image's CMD
    assert cs["StopGracePeriod"] == 10 * 10 ** 9
    assert not cs.get("Mounts") and not cs.get("Privileges", {}).get("CredentialSpec")
    limits = attrs["TaskTemplate"]["Resources"]["Limits"]
    assert limits == {"MemoryBytes": 96 * 1024 ** 2, "NanoCPUs": 500_000_000, "Pids": 1024}
    assert attrs["TaskTemplate"]["RestartPolicy"]["Condition"] == "any"
    assert attrs["EndpointSpec"]["Mode"] == "dnsrr"
    assert attrs["EndpointSpec"]["Ports"] == [{"Protocol": "tcp", "TargetPort": 5000, "PublishMode": "host"}]
    assert "VirtualIPs" not in service.attrs.get("Endpoint", {})

    [cid] = container_ids(docker_client, app)
    host = docker_client.api.inspect_container(cid)["HostConfig"]
    assert host["CapDrop"] == ["ALL"] and not host["Privileged"]
    assert host["Memory"] == 96 * 1024 ** 2 and host["NanoCpus"] == 500_000_000 and host["PidsLimit"] == 1024


def test_env_values_reach_the_task_verbatim_even_with_template_syntax(sched, app):
    """Swarm expands Go templates in a service's env ({{.Node.Hostname}}): a tenant's value is data all the same."""
    values = {"MESSAGE": "{{.Node.Hostname}} {{ lookup('pipe', 'id') }} }} {{", "OTHER": '{{"{{"}}'}
    sched.create(spec(app, env=values))
    [task] = running(sched, app, 1)
    for name, value in values.items():
        assert get(task.endpoint, f"/env/{name}") == (200, value)


def test_a_registry_image_runs_pinned_to_its_digest_even_after_the_tag_moves(sched, app, docker_client,
                                                                            registry):
    tag = f"{registry}/{app}:1"

    def push(source: str) -> None:
        subprocess.run(["docker", "tag", source, tag], check=True)
        subprocess.run(["docker", "push", "-q", tag], check=True, capture_output=True)

    push(WEB)
    try:
        sched.create(spec(app, image=tag))
        image = service_of(docker_client, app).attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
        assert image.startswith(tag + "@sha256:")
        push("slipway-test/broken:1")  # the tag now names an image that never listens
        sched.scale(app, 1, "web", 2)
        tasks = running(sched, app, 2)
        assert [get(t.endpoint)[0] for t in tasks] == [200, 200]  # both run the image the service was made with
    finally:
        subprocess.run(["docker", "image", "rm", tag], capture_output=True)


def test_an_image_without_a_registry_digest_is_used_as_named(sched, app, docker_client):
    sched.create(spec(app))
    assert service_of(docker_client, app).attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == WEB
    assert get(running(sched, app, 1)[0].endpoint)[0] == 200


def test_default_memory_and_constraints(sched, app, docker_client):
    sched.create(spec(app, proc_type="worker", command="sleep 1000", constraints=("node.role==manager",)))
    running(sched, app, 1, routable=False)
    attrs = service_of(docker_client, app).attrs["Spec"]["TaskTemplate"]
    assert attrs["Resources"]["Limits"]["MemoryBytes"] == 64 * 1024 ** 2  # the scheduler's default_memory
    assert attrs["Placement"]["Constraints"] == ["node.role==manager"]


def test_worker_runs_its_command_and_is_not_published(sched, app, docker_client):
    sched.create(spec(app, proc_type="worker", command=TICKER))
    [task] = running(sched, app, 1, routable=False)
    assert task.endpoint is None and task.proc_type == "worker"
    attrs = service_of(docker_client, app).attrs
    assert "Ports" not in attrs["Spec"]["EndpointSpec"]
    cs = attrs["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert cs["Command"] == ["/bin/sh", "-c"] and cs["Args"] == [TICKER]
    [cid] = container_ids(docker_client, app)
    ports = docker_client.api.inspect_container(cid)["NetworkSettings"]["Ports"] or {}
    assert not any(ports.values())  # the image EXPOSEs 8080, but nothing is bound on the host
    wait_for("ticks", lambda: "tick" in sched.logs(app, proc_type="worker"))


def test_scale_up_and_down(sched, app):
    sched.create(spec(app, replicas=1))
    running(sched, app, 1)
    sched.scale(app, 1, "web", 3)
    tasks = running(sched, app, 3)
    assert len({t.endpoint for t in tasks}) == 3
    assert sorted(t.name.rsplit(".", 1)[1] for t in tasks) == ["1", "2", "3"]
    for t in tasks:
        assert get(t.endpoint)[0] == 200
    sched.scale(app, 1, "web", 1)
    [task] = running(sched, app, 1)
    assert get(task.endpoint)[0] == 200
    sched.scale(app, 1, "web", 0)
    wait_for("no tasks", lambda: sched.tasks(app) == [])
    with pytest.raises(SchedulerError):
        sched.scale(app, 1, "worker", 1)
    with pytest.raises(SchedulerError):
        sched.scale(app, 2, "web", 1)


def test_two_deployments_side_by_side_then_remove_one(sched, app, docker_client):
    sched.create(spec(app, deployment=1, release=1, env={"MESSAGE": "blue"}))
    sched.create(spec(app, deployment=2, release=2, env={"MESSAGE": "green"}))
    sched.create(spec(app, deployment=2, release=2, proc_type="worker", command="sleep 1000"))
    [blue] = running(sched, app, 1, deployment=1)
    both = wait_for("green web and worker", lambda: (
        ts if len(ts := sched.tasks(app, 2)) == 2 and all(t.state == "running" for t in ts)
        and any(t.endpoint for t in ts) else None))
    [green] = [t for t in both if t.proc_type == "web"]
    assert sched.deployments(app) == [1, 2]
    assert len(sched.tasks(app)) == 3
    assert sched.tasks(app)[0].state == "running"
    assert "blue" in get(blue.endpoint)[1] and "green" in get(green.endpoint)[1]
    assert blue.name != green.name

    blue_containers = {c.id for c in docker_client.containers.list(
        filters={"label": [f"slipway.app={app}", "slipway.deployment=1"]})}
    assert blue_containers
    sched.remove(app, 1)
    assert sched.deployments(app) == [2]
    assert {t.deployment for t in sched.tasks(app)} == {2}
    # remove() returns once the old containers are gone
    assert not {c.id for c in docker_client.containers.list(all=True, filters={"label": f"slipway.app={app}"})} \
        & blue_containers
    assert "green" in get(green.endpoint)[1]
    sched.remove(app)
    assert sched.deployments(app) == [] and sched.tasks(app) == []
    assert not docker_client.containers.list(all=True, filters={"label": f"slipway.app={app}"})
    sched.remove(app)  # nothing left: no error


def test_restart_one_task_then_all(sched, app, docker_client):
    sched.create(spec(app, replicas=2))
    tasks = running(sched, app, 2)
    before = container_ids(docker_client, app)
    victim = tasks[0]
    sched.restart(app, 1, task=victim.name)
    after_one = wait_for("a replacement container", lambda: (
        ids if len(ids := container_ids(docker_client, app)) == 2 and ids != before
        and len(running(sched, app, 2)) == 2 else None))
    assert len(after_one & before) == 1  # only the named task was replaced
    for t in running(sched, app, 2):
        assert get(t.endpoint)[0] == 200
    assert {t.name for t in sched.tasks(app)} == {t.name for t in tasks}  # names are stable

    sched.restart(app, 1, proc_type="web")  # rolling: ForceUpdate
    assert service_of(docker_client, app).attrs["Spec"]["TaskTemplate"]["ForceUpdate"] == 1
    wait_for("every container replaced", lambda: (
        not (container_ids(docker_client, app) & after_one) and len(container_ids(docker_client, app)) == 2))
    for t in running(sched, app, 2):
        assert get(t.endpoint)[0] == 200

    assert "web.1: " in sched.logs(app) and "web.2: " in sched.logs(app)  # replaced containers are no bother

    with pytest.raises(SchedulerError, match="no task"):
        sched.restart(app, 1, task=victim.name.rsplit(".", 1)[0] + ".9")
    with pytest.raises(SchedulerError, match="no task"):
        sched.restart(app, 1, task="other_web_1.1")
    with pytest.raises(SchedulerError):
        sched.restart(app, 5)


def test_missing_image_surfaces_as_task_error_without_env(sched, app):
    sched.create(spec(app, image="slipway-test/none-such:1", env={"SECRET": "s3cr3t-value"}))
    task = wait_for("a task error", lambda: next((t for t in sched.tasks(app) if t.error), None))
    assert task.state != "running" and task.endpoint is None
    assert "s3cr3t-value" not in repr(task)


def test_broken_image_runs_but_never_answers(sched, app):
    """The scheduler reports tasks; only the controller's health probe tells a serving one (images: broken)."""
    sched.create(spec(app, image="slipway-test/broken:1"))
    [task] = running(sched, app, 1)
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"http://127.0.0.1:{task.endpoint.port}/", timeout=3)
    wait_for("its log line", lambda: "web.1: broken: never listening" in sched.logs(app))
