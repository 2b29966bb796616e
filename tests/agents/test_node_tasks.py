"""The node agent's pure parts: the health check label, the published port, what a task container is, and the
cgroup figures (v1 and v2, cgroupfs and systemd layouts in folders of their own, and this host's real cgroups)."""
from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import AGENTS, SYSTEM_PYTHON

from slipway_agents import cgroupstats, nodetasks
from slipway_agents.nodetasks import Check, parse_checks, published


@pytest.mark.parametrize("label, check", [
    (None, Check("/", 1.0, False)),
    ('{"path": "/health", "timeout": 2}', Check("/health", 2.0, True)),
    ('{"path": "/a?b=c%20d"}', Check("/a?b=c%20d", 1.0, True)),
    ('{"timeout": 0.5}', Check("/", 0.5, False)),
    ('{"path": "/x", "timeout": 3, "interval": 9, "port": 22}', Check("/x", 3.0, True)),  # unknown keys aside
    ('{"path": "health"}', Check()),                       # not starting with /
    ('{"path": "/a\\r\\nX-Evil: 1"}', Check()),            # CR/LF
    ('{"path": "/a b"}', Check()),                          # a space would end the request target
    ('{"path": "/caf\\u00e9"}', Check()),                   # not ASCII
    ('{"path": "/' + "a" * 1024 + '"}', Check()),          # over 1024 characters
    ('{"path": 5}', Check()),
    ('{"path": "/", "timeout": 0.05}', Check()),
    ('{"path": "/", "timeout": 31}', Check()),
    ('{"path": "/", "timeout": true}', Check()),
    ('{"path": "/", "timeout": "2"}', Check()),
    ('["/"]', Check()),
    ("not json", Check()),
])
def test_health_check_label(label, check):
    assert parse_checks(label, 1.0) == (check, None)


def q(**fields) -> str:
    return json.dumps({"readiness": fields}, separators=(",", ":"))


@pytest.mark.parametrize("label, check", [
    (q(kind="http"), Check()),
    (q(kind="http", path="/ready", port=9090, headers=[["X-Token", "a b\tc"], ["Host", "x"], ["connection", "x"],
                                                        ["Content-Length", "5"]], timeout=5, period=10,
       initial_delay=30, success=2, failure=5),
     Check("/ready", 5.0, True, "http", 9090, (("X-Token", "a b\tc"),), (), 10.0, 30.0, 2, 5)),
    (q(kind="tcp", port=5432, path="/ignored", command=["ignored"]), Check(kind="tcp", port=5432)),
    (q(kind="tcp", port=None), Check(kind="tcp")),
    (q(kind="exec", command=["pg_isready", "-q"], port=22, timeout=60), Check(timeout=60.0, kind="exec",
                                                                            command=("pg_isready", "-q"))),
    (q(kind="http", initial_delay=0, period=3600, success=100, failure=1), Check(period=3600.0, success=100,
                                                                                failure=1)),
    (json.dumps({"liveness": {"kind": "exec", "command": ["true"]}}), Check()),
    (json.dumps({"readiness": None}), Check()),
    # refused: the default check
    (q(kind="ftp"), Check()), (q(), Check()), (q(kind="exec"), Check()), (q(kind="exec", command=[]), Check()),
    (q(kind="exec", command=["true"] * 33), Check()), (q(kind="exec", command=["x" * 1025]), Check()),
    (q(kind="exec", command=[""]), Check()), (q(kind="exec", command=["a\u0000b"]), Check()),
    (q(kind="exec", command="true"), Check()), (q(kind="exec", command=[1]), Check()),
    (q(kind="http", port=0), Check()), (q(kind="tcp", port=65536), Check()), (q(kind="tcp", port="80"), Check()),
    (q(kind="tcp", port=80.0), Check()), (q(kind="http", port=True), Check()),
    (q(kind="http", path="health"), Check()), (q(kind="http", path="/a b"), Check()),
    (q(kind="http", path="/" + "a" * 1024), Check()),
    (q(kind="http", headers=[["X-A", "b\r\nX-Evil: 1"]]), Check()), (q(kind="http", headers=[["X A", "b"]]), Check()),
    (q(kind="http", headers=[["X-A", "b\nc"]]), Check()), (q(kind="http", headers=[["X-A", "caf\u00e9"]]), Check()),
    (q(kind="http", headers=[["X-A"]]), Check()), (q(kind="http", headers={"X-A": "b"}), Check()),
    (q(kind="http", headers=[["X-A", "b"]] * 11), Check()), (q(kind="http", headers=[["", "b"]]), Check()),
    (q(kind="http", timeout=0.5), Check()), (q(kind="http", timeout=61), Check()), (q(kind="http", period=0.5),
                                                                                    Check()),
    (q(kind="http", initial_delay=-1), Check()), (q(kind="http", initial_delay=3601), Check()),
    (q(kind="http", success=0), Check()), (q(kind="http", failure=101), Check()),
    (q(kind="http", failure=2.5), Check()), (q(kind="http", success=True), Check()),
    (json.dumps({"readiness": "http"}), Check()), (json.dumps({"readiness": {"kind": "http"}}) + "x", Check()),
    ("{" * 5000, Check()), ("[" * 50000, Check()), (json.dumps({"readiness": {"kind": "exec", "command": [
        "x" * 1000] * 70}}), Check()),
])
def test_probe_labels(label, check):
    assert parse_checks(label, 1.0)[0] == check


def test_liveness_labels():
    both = {"readiness": {"kind": "tcp"}, "liveness": {"kind": "http", "path": "/alive", "failure": 2}}
    assert parse_checks(json.dumps(both), 1.0) == (Check(kind="tcp"), Check("/alive", explicit=True, failure=2))
    assert parse_checks(json.dumps({"liveness": {"kind": "http", "port": 0}}), 1.0) == (Check(), None)
    assert parse_checks('{"path": "/x"}', 1.0) == (Check("/x", 1.0, True), None)
    assert parse_checks(None, 2.0) == (Check(timeout=2.0), None)


def info(ports: dict, bindings: dict | None = None, labels: dict | None = None, running: bool = True) -> dict:
    base = {"slipway.managed": "1", "slipway.app": "shop", "slipway.deployment": "7", "slipway.type": "web",
            "slipway.release": "12", "com.docker.swarm.task.id": "abc123", "com.docker.swarm.node.id": "node1"}
    return {"Id": "c" * 64, "Config": {"Labels": {**base, **(labels or {})}},
            "State": {"Running": running, "Pid": 42, "StartedAt": "2026-01-01T00:00:00Z"},
            "HostConfig": {"PortBindings": bindings if bindings is not None else {k: [{}] for k in ports},
                           "Memory": 268435456, "NanoCpus": 500000000},
            "NetworkSettings": {"Ports": ports}}


def test_published_port():
    # the Engine may publish IPv4 and IPv6 on different ports: the first is Swarm's first PortStatus entry
    both = {"5000/tcp": [{"HostIp": "0.0.0.0", "HostPort": "32836"}, {"HostIp": "::", "HostPort": "32834"}],
            "8080/tcp": None}
    assert published(info(both, {"5000/tcp": [{}]})) == ("127.0.0.1", 32836)
    assert published(info(both, {"5000/tcp": [{}]}), "10.0.0.5") == ("10.0.0.5", 32836)
    # a port the image EXPOSEs but the scheduler did not publish is not probed
    assert published(info({"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "31000"}]}, {})) is None
    assert published(info({"5000/tcp": [{"HostIp": "::", "HostPort": "31001"}]})) == ("::1", 31001)
    assert published(info({"5000/tcp": [{"HostIp": "192.0.2.7", "HostPort": "31002"}]})) == ("192.0.2.7", 31002)
    assert published(info({"5000/tcp": [{"HostIp": "", "HostPort": "0"}]})) is None


def test_what_a_task_is():
    ports = {"5000/tcp": [{"HostIp": "0.0.0.0", "HostPort": "32836"}]}
    task = nodetasks.from_inspect(info(ports), 1.0)
    assert (task.task, task.app, task.deployment, task.type, task.release, task.node, task.port) == (
        "abc123", "shop", 7, "web", 12, "node1", 32836)
    assert (task.memory_limit, task.cpu_limit, task.healthy, task.failures) == (268435456, 0.5, False, 0)
    assert nodetasks.from_inspect(info({}), 1.0).routable is False
    for labels in ({"slipway.oneoff": "1"}, {"slipway.managed": "0"}, {"com.docker.swarm.task.id": ""},
                   {"slipway.app": "Not_An_App"}, {"slipway.deployment": "x"}, {"slipway.deployment": "0"},
                   {"slipway.release": "9" * 12}, {"slipway.type": "a_b"}, {"slipway.type": "w" * 31}):
        assert nodetasks.from_inspect(info(ports, labels=labels), 1.0) is None, labels
    assert nodetasks.from_inspect(info(ports, running=False), 1.0) is None


def test_where_a_probe_connects():
    label = {"readiness": {"kind": "tcp", "port": 9090}, "liveness": {"kind": "http", "port": 8080}}
    data = info({"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "32836"}]},
                labels={"slipway.healthcheck": json.dumps(label)})
    data["NetworkSettings"]["Networks"] = {"a": {"IPAddress": ""}, "bridge": {"IPAddress": "172.17.0.5"}}
    task = nodetasks.from_inspect(data, 1.0)
    assert task.where(task.check) == ("172.17.0.5", 9090)  # another port: the container's own address
    assert task.where(task.liveness) == ("127.0.0.1", 32836)  # PORT named: its published port
    assert task.where(Check(kind="exec", command=("true",))) is None
    data["NetworkSettings"]["Networks"] = {"bridge": {"IPAddress": "not an address"}}
    assert nodetasks.from_inspect(data, 1.0).where(task.check) is None
    # a type that publishes no port: no probe on PORT (healthy while it runs), others kept
    label = {"readiness": {"kind": "http"}, "liveness": {"kind": "exec", "command": ["true"]}}
    worker = nodetasks.from_inspect(info({}, labels={"slipway.healthcheck": json.dumps(label)}), 1.0)
    assert worker.check is None and worker.liveness.kind == "exec"
    assert nodetasks.from_inspect(info({}), 1.0).check is None
    assert nodetasks.from_inspect(info({}, labels={"slipway.healthcheck": json.dumps(
        {"readiness": {"kind": "tcp", "port": 5432}})}), 1.0).check == Check(kind="tcp", port=5432)


def test_thresholds_and_liveness():
    label = {"readiness": {"kind": "http", "success": 2, "failure": 2}, "liveness": {"kind": "tcp", "failure": 2}}
    task = nodetasks.from_inspect(info({"5000/tcp": [{"HostIp": "", "HostPort": "30000"}]},
                                       labels={"slipway.healthcheck": json.dumps(label)}), 1.0)
    seen = []
    for ok in (True, True, False, True, False, False, True, True):
        task.probed(ok, "", 1.0)
        seen.append((task.healthy, task.failures))
    assert seen == [(False, 0), (True, 0), (True, 1), (True, 0), (True, 1), (False, 2), (False, 0), (True, 0)]
    assert [task.live(ok) for ok in (False, True, False, False)] == [False, False, False, True]
    task.restart("restarted: liveness probe failed 2 times: refused")
    task.stopping("15")
    task.probed(True, "answered 200", 2.0)
    assert (task.state, task.healthy, task.message) == ("stopping", False, task.restarted)
    task.gone("exited with 143")
    assert task.entry()["message"] == "restarted: liveness probe failed 2 times: refused; exited with 143"
    task.message = "a\x00b\r\nc"
    assert task.entry()["message"] == "a?b??c"


def test_failures_and_stopping():
    task = nodetasks.from_inspect(info({"5000/tcp": [{"HostIp": "", "HostPort": "30000"}]}), 1.0)
    task.probed(False, "refused", 1.0)
    task.probed(False, "refused", 2.0)
    assert (task.healthy, task.failures) == (False, 2)
    assert task.entry()["failures"] == 0  # still starting: no failure counted, the controller confirms itself
    task.probed(True, "answered 200", 3.0)
    assert (task.healthy, task.failures, task.checked_at) == (True, 0, 3.0)
    for n in (1, 2, 3):
        task.probed(False, "refused", 3.0 + n)
    assert (task.entry()["healthy"], task.entry()["failures"]) == (False, 3)  # it passed once: failures count
    task.stopping("15")
    task.probed(True, "answered 200", 4.0)  # a graceful stop still answers: it stays out
    assert (task.state, task.healthy) == ("stopping", False)
    assert nodetasks.end_message("die", {"exitCode": "137"}, True) == "exited with 137 (out of memory)"


def write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)


@pytest.mark.parametrize("layout", ["v2-systemd", "v2-cgroupfs", "v1-systemd", "v1-cgroupfs-parent"])
def test_cgroup_layouts(tmp_path, layout):
    cid = "f" * 64
    proc, sys_fs = str(tmp_path / "proc"), str(tmp_path / "sys")
    version, driver = layout.split("-", 1)
    rel = f"/system.slice/docker-{cid}.scope" if driver == "systemd" else f"/docker/{cid}"
    if driver == "cgroupfs-parent":
        rel = f"/slipway-tasks/{cid}"
    if version == "v2":
        write(f"{proc}/self/mountinfo", f"30 23 0:26 / {sys_fs} rw - cgroup2 cgroup2 rw,nsdelegate\n")
        write(f"{proc}/42/cgroup", f"0::{rel}\n")
        write(f"{sys_fs}{rel}/cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
        write(f"{sys_fs}{rel}/memory.current", "10485760\n")
        write(f"{sys_fs}{rel}/memory.stat", "anon 6291456\nfile 4194304\ninactive_file 2097152\n")
    else:
        write(f"{proc}/self/mountinfo",
              f"32 31 0:29 / {sys_fs}/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
              f"35 31 0:32 / {sys_fs}/memory rw - cgroup cgroup rw,memory\n"
              f"41 31 0:38 / {sys_fs}/unified rw - cgroup2 cgroup2 rw\n")
        write(f"{proc}/42/cgroup", f"4:memory:{rel}\n2:cpu,cpuacct:{rel}\n0::{rel}\n")
        write(f"{sys_fs}/cpu,cpuacct{rel}/cpuacct.usage", "2500000000\n")
        write(f"{sys_fs}/memory{rel}/memory.usage_in_bytes", "10485760\n")
        write(f"{sys_fs}/memory{rel}/memory.stat", "cache 4194304\ntotal_inactive_file 2097152\n")
    cgroups = cgroupstats.Cgroups(proc)
    for pid in (42, 0):  # from the process, then from the drivers' usual places
        place = cgroups.locate(pid, cid)
        if pid == 0 and driver == "cgroupfs-parent":
            assert place.cpu is None and cgroupstats.cpu_seconds(place) is None
            continue
        assert cgroupstats.cpu_seconds(place) == 2.5, place
        assert cgroupstats.memory_bytes(place) == 8388608, place


def test_this_hosts_cgroups():
    """The real thing: a process of this host's (this test's own) read through its cgroup."""
    cgroups = cgroupstats.Cgroups()
    place = cgroups.locate(os.getpid(), "")
    assert place.cpu is not None and place.memory is not None, (cgroups.v1, cgroups.v2)
    assert cgroupstats.cpu_seconds(place) > 0 and cgroupstats.memory_bytes(place) > 0


def test_runs_on_the_hosts_python():
    p = subprocess.run([SYSTEM_PYTHON, "-m", "slipway_agents.nodeagent", "--help"], capture_output=True, text=True,
                       env={"PYTHONPATH": AGENTS})
    assert p.returncode == 0 and "--config" in p.stdout, p.stderr


def test_the_schedulers_label_is_what_the_agent_reads():
    """A health check in Deis's shape, stored as the controller stores it, written as the scheduler labels a task,
    and read by the agent: the same probes, the ports placed as the agent probes them."""
    from controller_app.probes import check as stored
    from controller_app.scheduler.swarm.labels import healthcheck_label

    deis = {"livenessProbe": {"tcpSocket": {"port": 5000}, "periodSeconds": 3, "failureThreshold": 4},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 9090,
                                           "httpHeaders": [{"name": "X-Probe", "value": "yes"}]},
                               "timeoutSeconds": 2, "successThreshold": 2, "initialDelaySeconds": 5}}
    readiness, liveness = parse_checks(healthcheck_label(stored("web", deis), 5000), 1.0)
    assert (readiness.kind, readiness.path, readiness.port, readiness.headers) == ("http", "/ready", 9090,
                                                                                   (("X-Probe", "yes"),))
    assert (readiness.timeout, readiness.success, readiness.initial_delay) == (2, 2, 5)
    assert (liveness.kind, liveness.port, liveness.period, liveness.failure) == ("tcp", None, 3, 4)
    exec_only = {"readinessProbe": {"exec": {"command": ["test", "-f", "/tmp/ready"]}}}
    readiness, liveness = parse_checks(healthcheck_label(stored("worker", exec_only), 5000), 1.0)
    assert (readiness.kind, readiness.command, liveness) == ("exec", ("test", "-f", "/tmp/ready"), None)
    old = stored("web", {"path": "/health", "timeout": 3})
    assert parse_checks(healthcheck_label(old, 5000), 1.0)[0].path == "/health"
