"""The node agent's probes (nodeprobes.py) and CPU rates (nodereport.py) against this machine's Docker Engine: real
Swarm services of the test image with the `slipway.healthcheck` label as the scheduler writes it (compact JSON), a
stand-in controller over real HTTP (fakes.py); the fixtures are test_node_agent.py's."""
from __future__ import annotations

import time

from conftest import wait_for
from test_node_agent import agent, controller, docker, entries, reported, run_id, services  # noqa: F401

HEADER_SERVER = (  # GET /cgi-bin/check: 200 when the request has "X-Probe: secret", else 403
    "mkdir -p /tmp/w/cgi-bin && printf '#!/bin/sh\\nif [ \"$HTTP_X_PROBE\" = secret ]; then "
    "printf \"Status: 200 OK\\\\r\\\\n\\\\r\\\\nok\\\\n\"; "
    "else printf \"Status: 403 Forbidden\\\\r\\\\n\\\\r\\\\nno\\\\n\"; "
    "fi\\n' >/tmp/w/cgi-bin/check && chmod 755 /tmp/w/cgi-bin/check && exec httpd -f -p 8080 -h /tmp/w")
ALSO_9090 = "httpd -p 9090 -h /www && exec /app/start"  # the app on PORT, and a second server on 9090
INIT = ("--init",)  # as the scheduler runs tasks: signals reach the shell's children


def ip(container: str) -> str:
    return docker("inspect", "--format", "{{.NetworkSettings.Networks.bridge.IPAddress}}", container)


def sleeps(container: str) -> int:
    return sum("sleep 30" in line for line in docker("top", container).splitlines())


def test_exec_readiness_of_a_type_that_publishes_no_port(controller, agent, services):
    """Healthy as its command says, the command running as the container's own user."""
    agent(controller.url)
    check = {"readiness": {"kind": "exec", "command": ["sh", "-c", "test -e /tmp/ready && test $(id -u) = 65534"],
                           "period": 1}}
    container = services.container(services.create("worker", check, "exec sleep 100000", proc_type="worker",
                                                    publish=False, extra=INIT + ("--user", "65534")))
    _, task = reported(controller, "worker", message="command exited with 1")
    assert not task["healthy"] and task["failures"] == 0 and task["port"] is None  # starting: no failure counted
    docker("exec", container, "touch", "/tmp/ready")
    _, task = reported(controller, "worker", healthy=True, timeout=10)
    assert task["message"] == "command exited with 0" and task["failures"] == 0


def test_an_exec_probe_that_hangs_times_out_and_never_piles_up(controller, agent, services):
    agent(controller.url)
    check = {"readiness": {"kind": "exec", "command": ["sleep", "30"], "timeout": 1, "period": 1}}
    container = services.container(services.create("hangs", check, "exec sleep 100000", proc_type="worker",
                                                   publish=False, extra=INIT))
    _, task = reported(controller, "hangs", message="command timed out after 1s", timeout=15)
    assert not task["healthy"]
    _, task = reported(controller, "hangs", message="the command of an earlier probe still runs", timeout=15)
    assert not task["healthy"]
    assert sleeps(container) == 1


def test_tcp_and_http_on_another_port_of_the_container(controller, agent, services):
    agent(controller.url)
    made = {"http9090": {"readiness": {"kind": "http", "port": 9090, "path": "/env/PORT", "timeout": 1}},
            "tcp9090": {"readiness": {"kind": "tcp", "port": 9090}},
            "tcp9191": {"readiness": {"kind": "tcp", "port": 9191}, "liveness": None}}
    containers = {app: services.container(services.create(app, check, ALSO_9090)) for app, check in made.items()}
    _, task = reported(controller, "http9090", healthy=True)
    assert task["message"] == f"{ip(containers['http9090'])}:9090 answered 200"
    _, task = reported(controller, "tcp9090", healthy=True)
    assert task["message"] == f"{ip(containers['tcp9090'])}:9090 accepted a connection"
    _, task = reported(controller, "tcp9191", message=f"{ip(containers['tcp9191'])}:9191 ConnectionRefusedError")
    assert not task["healthy"]
    assert not any(t["healthy"] for _, t in entries(controller, "tcp9191"))


def test_http_with_headers(controller, agent, services):
    """The app's headers go with the request; its Host is not the probe's."""
    agent(controller.url)
    for app, value in (("header-ok", "secret"), ("header-bad", "wrong")):
        services.create(app, {"readiness": {"kind": "http", "path": "/cgi-bin/check", "timeout": 2,
                                            "headers": [["X-Probe", value], ["Host", "evil.example"]]}},
                        HEADER_SERVER)
    _, task = reported(controller, "header-ok", healthy=True)
    assert task["message"].endswith("answered 200")
    task = wait_for(lambda: next((t for _, t in entries(controller, "header-bad")
                                  if t["message"].endswith("answered 403")), None), timeout=20, what="a 403")
    assert not task["healthy"]


def test_success_and_failure_thresholds(controller, agent, services):
    """Healthy after 2 passes in a row, unhealthy after 2 failures in a row, as it was in between."""
    agent(controller.url)
    check = {"readiness": {"kind": "http", "timeout": 1, "period": 1, "success": 2, "failure": 2}}
    container = services.container(services.create("thresholds", check))
    reported(controller, "thresholds", healthy=True)
    since = len(controller.reports)
    docker("pause", container)
    try:
        _, task = reported(controller, "thresholds", since=since, failures=1, timeout=10)
        assert task["healthy"]
        _, task = reported(controller, "thresholds", since=since, failures=2, timeout=10)
        assert not task["healthy"]
    finally:
        docker("unpause", container)
    since = len(controller.reports)
    _, passed = reported(controller, "thresholds", since=since, failures=0)
    assert not passed["healthy"] and passed["message"].endswith("answered 200")  # one pass: not yet
    _, task = reported(controller, "thresholds", since=since, healthy=True)
    assert task["checked_at"] - passed["checked_at"] >= 0.5  # the second pass, a period's slot later


def test_a_liveness_probe_that_fails_restarts_the_task(controller, agent, services):
    agent(controller.url, liveness_drain="1")
    check = {"liveness": {"kind": "http", "path": "/", "timeout": 1, "period": 1, "failure": 2}}
    container = services.container(services.create("lively", check, "httpd -p 8080 -h /www; exec sleep 100000",
                                                    extra=INIT))
    reported(controller, "lively", healthy=True)
    time.sleep(2.5)  # passing liveness probes: no restart
    assert not any(t["state"] != "running" for _, t in entries(controller, "lively"))
    docker("exec", container, "killall", "httpd")  # the container runs on, answering nothing
    report, task = reported(controller, "lively", state="stopping", timeout=15)
    assert not task["healthy"] and not report["full"]
    assert task["message"].startswith("restarted: liveness probe failed 2 times: 127.0.0.1:")
    ended, task = reported(controller, "lively", state="gone", timeout=20)
    assert ended["received"] - report["received"] >= 1.0  # the drain
    assert task["message"].startswith("restarted: liveness probe failed 2 times: ") and "exited with" in task["message"]
    assert docker("inspect", "--format", "{{.State.Running}}", container) == "false"


def test_hostile_labels_fall_back_to_the_default_check(controller, agent, services):
    agent(controller.url)
    hostile = {
        "bad-json": '{"readiness": {"kind": "exec"',
        "huge-command": {"readiness": {"kind": "exec", "command": ["true"] * 33},
                         "liveness": {"kind": "exec", "command": ["x" * 1025]}},
        "crlf-header": {"readiness": {"kind": "http", "headers": [["X-A", "b\r\nX-Evil: 1"]]},
                        "liveness": {"kind": "http", "path": "/nowhere", "headers": [["X A", "b"]]}},
        "port-zero": {"readiness": {"kind": "tcp", "port": 0}, "liveness": {"kind": "tcp", "port": 70000}},
        "nested": "[" * 50000,
        "odd-values": {"readiness": {"kind": "ftp"}, "liveness": {"kind": "http", "timeout": 0.5, "failure": 0}},
    }
    for app, label in hostile.items():
        services.create(app, label)
    for app in hostile:
        _, task = reported(controller, app, healthy=True, timeout=30)
        assert task["message"].endswith("answered 200"), (app, task)
    time.sleep(3)  # no liveness probe was kept: nothing restarts
    for app in hostile:
        seen = [t for _, t in entries(controller, app)]
        # a slow start may fail the default check a few times first; once it answers, it stays up
        since = next(i for i, t in enumerate(seen) if t["healthy"])
        assert all(t["state"] == "running" and t["healthy"] for t in seen[since:]), (app, seen[since:])


def test_cpu_rate(controller, agent, services):
    """A task burning CPU under a limit of half a core reports a rate near it, an idle one ~0 and no change."""
    services.create("burns", None, "(while :; do :; done) & exec /app/start", extra=("--limit-cpu", "0.5"))
    services.create("idles")
    agent(controller.url, usage_interval="1", heartbeat="4")
    reported(controller, "idles", healthy=True, timeout=30)
    _, task = wait_for(lambda: next(((r, t) for r, t in entries(controller, "burns")
                                     if not r["full"] and (t["cpu_rate"] or 0) > 0.3), None),
                       timeout=30, what="a change of the burning task's CPU rate")
    assert 0.3 < task["cpu_rate"] < 0.65, task
    since = len(controller.reports)
    time.sleep(9)
    later = entries(controller, "idles", since)
    assert later and all(r["full"] for r, _ in later), later  # heartbeats only: an idle task makes no change
    assert all(t["cpu_rate"] is not None and t["cpu_rate"] < 0.05 for _, t in later), later
    burning = [t["cpu_rate"] for r, t in entries(controller, "burns", since) if r["full"]]
    assert burning and all(0.05 < rate < 0.65 for rate in burning), burning  # (less on a busy host)
