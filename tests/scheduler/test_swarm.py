"""The Swarm scheduler against the real single-node Swarm of this machine.

Needs a Docker Engine in Swarm mode (scripts/dev-services.sh starts one when absent) and builds the test
images with scripts/build-test-image.sh (no registry needed). Every test uses its own random app id and
removes only what carries that id: other suites share this Docker Engine. Traffic goes to 127.0.0.1 only.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request

import docker
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from controller_app.scheduler.base import ProcessSpec, SchedulerError  # noqa: E402
from controller_app.scheduler.names import parse_cpu, parse_memory, service_name  # noqa: E402
from controller_app.scheduler.swarm import SwarmScheduler  # noqa: E402
from tests.deploy.conftest import registry  # noqa: E402,F401 - a real registry on 127.0.0.1 (fixture)

WEB = "slipway-test/web:1"
TICKER = 'i=0; while true; i=$((i+1)); do echo "tick $i from $(hostname)"; sleep 0.5; done'

pytestmark = pytest.mark.timeout(120)


# ---- fixtures and helpers ----------------------------------------------------------------------
@pytest.fixture(scope="session")
def docker_client():
    client = docker.from_env(version="auto")
    try:
        client.ping()
        active = client.info()["Swarm"]["LocalNodeState"] == "active"
    except Exception:
        active = False
    if not active:
        subprocess.run([os.path.join(ROOT, "scripts", "dev-services.sh")], check=True, stdout=subprocess.DEVNULL)
        client = docker.from_env(version="auto")
    subprocess.run([os.path.join(ROOT, "scripts", "build-test-image.sh")], check=True)
    yield client
    client.close()


@pytest.fixture(scope="session")
def sched(docker_client):
    return SwarmScheduler(node_address="127.0.0.1", default_memory="64M")


@pytest.fixture
def app(sched, docker_client):
    """A fresh app id; afterwards its services and containers (only those) are removed."""
    name = "swt-" + secrets.token_hex(4)
    yield name
    try:
        sched.remove(name)
    finally:
        for svc in docker_client.services.list(filters={"label": f"slipway.app={name}"}):
            svc.remove()
        for c in docker_client.containers.list(all=True, filters={"label": f"slipway.app={name}"}):
            c.remove(force=True)


def spec(app, *, deployment=1, proc_type="web", replicas=1, env=None, command=None, routable=None,
         release=1, image=WEB, **kw):
    routable = proc_type in ("web", "cmd") if routable is None else routable
    env = {"PORT": "5000", "SLIPWAY_APP": app, "SLIPWAY_RELEASE": f"v{release}", **(env or {})}
    return ProcessSpec(app=app, release=release, deployment=deployment, proc_type=proc_type, image=image,
                       command=command, replicas=replicas, env=env, port=5000, routable=routable, **kw)


def wait_for(what, predicate, timeout=40.0, interval=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def running(sched, app, count, deployment=None, routable=True):
    """Wait until exactly `count` tasks run (with endpoints when routable); return them."""
    def check():
        tasks = sched.tasks(app, deployment)
        ok = len(tasks) == count and all(t.state == "running" for t in tasks)
        if routable:
            ok = ok and all(t.endpoint for t in tasks)
        return tasks if ok else None
    return wait_for(f"{count} running tasks of {app}", check)


def get(endpoint, path="/"):
    assert endpoint.address == "127.0.0.1"
    url = f"http://127.0.0.1:{endpoint.port}{path}"
    deadline = time.monotonic() + 15
    while True:  # the port is published a moment before httpd listens
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.status, resp.read().decode()
        except (urllib.error.URLError, ConnectionError) as exc:
            if isinstance(exc, urllib.error.HTTPError) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def service_of(docker_client, app, deployment=None, proc_type=None):
    labels = [f"slipway.app={app}"]
    if deployment is not None:
        labels.append(f"slipway.deployment={deployment}")
    if proc_type is not None:
        labels.append(f"slipway.type={proc_type}")
    services = docker_client.services.list(filters={"label": labels})
    assert len(services) == 1, services
    return services[0]


def container_ids(docker_client, app):
    return {c.id for c in docker_client.containers.list(filters={"label": f"slipway.app={app}"})}


# ---- services -----------------------------------------------------------------------------------
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


# ---- one-off containers ---------------------------------------------------------------------------
def oneoffs(docker_client, app):
    return docker_client.containers.list(all=True, filters={"label": [f"slipway.app={app}", "slipway.oneoff=1"]})


def test_run_returns_exit_code_and_output_and_leaves_nothing(sched, app, docker_client):
    cgroup = "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes"
    pids = "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max"
    result = sched.run(app, WEB, f'echo "out $GREETING"; echo err >&2; grep CapEff /proc/self/status; {cgroup}; '
                       f'echo "pids $({pids})"; exit 3', {"GREETING": "hi there"}, memory="32M")
    assert result.exit_code == 3
    assert "out hi there\n" in result.output and "err\n" in result.output
    assert "CapEff:\t0000000000000000" in result.output
    assert str(32 * 1024 ** 2) in result.output and "pids 1024\n" in result.output, result.output
    assert sched.run(app, WEB, "true", {}).exit_code == 0
    assert not oneoffs(docker_client, app)


def test_run_timeout_removes_the_container(sched, app, docker_client):
    started = time.monotonic()
    with pytest.raises(SchedulerError, match="timed out"):
        sched.run(app, WEB, "sleep 60", {}, timeout=2)
    assert time.monotonic() - started < 20
    assert not oneoffs(docker_client, app)


def test_run_errors_do_not_leak_env(sched, app, docker_client):
    with pytest.raises(SchedulerError) as err:
        sched.run(app, "127.0.0.1:1/none/such:1", "true", {"SECRET": "s3cr3t-value"})
    assert "s3cr3t-value" not in str(err.value)
    with pytest.raises(SchedulerError):
        sched.run(app, WEB, "true", {}, memory="lots")
    assert not oneoffs(docker_client, app)


# ---- logs -----------------------------------------------------------------------------------------
def test_logs_merge_two_replicas(sched, app):
    sched.create(spec(app, proc_type="worker", replicas=2, command=TICKER))
    running(sched, app, 2, routable=False)
    text = wait_for("lines of both replicas", lambda: (
        t if "worker.1: tick 3 " in (t := sched.logs(app, lines=200)) and "worker.2: tick 3 " in t else None))
    lines = text.splitlines()
    assert all(line.startswith(("worker.1: ", "worker.2: ")) for line in lines)
    # merged by time: each replica's own lines stay in order
    for slot in ("1", "2"):
        ticks = [int(line.split()[2]) for line in lines if line.startswith(f"worker.{slot}: tick ")]
        assert ticks == sorted(ticks) and len(ticks) >= 3
    assert len(sched.logs(app, lines=4).splitlines()) == 4
    assert sched.logs(app, proc_type="web") == ""


def test_follow_logs(sched, app):
    sched.create(spec(app, proc_type="worker", command=TICKER))
    running(sched, app, 1, routable=False)
    stream = sched.follow_logs(app, interval=0.3)
    got = []
    deadline = time.monotonic() + 20
    for line in stream:
        got.append(line)
        if len(got) >= 4 or time.monotonic() > deadline:
            break
    stream.close()
    assert len(got) >= 4 and all(line.startswith("worker.1: tick ") for line in got)
    numbers = [int(line.split()[2]) for line in got]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)  # no repeats


# ---- names and validation -------------------------------------------------------------------------
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


def test_removing_an_app_removes_its_running_one_offs(sched, app, docker_client):
    import threading
    outcome = []

    def one_off():
        try:
            outcome.append(sched.run(app, WEB, "sleep 60", {}, timeout=30))
        except SchedulerError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=one_off)
    worker.start()
    wait_for("the one-off", lambda: oneoffs(docker_client, app))
    sched.remove(app)
    assert not oneoffs(docker_client, app)
    worker.join(20)
    assert not worker.is_alive()
    [result] = outcome  # killed: an error, or a non-zero exit
    assert isinstance(result, SchedulerError) or result.exit_code != 0
