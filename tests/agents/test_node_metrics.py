"""The node agent's GET /metrics (agents/slipway_agents/nodemetrics.py), the agent run for real against this
machine's Docker Engine and real Swarm tasks of the test image (the fixtures of test_node_agent.py)."""
from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request

from conftest import wait_for
from prometheus_client.parser import text_string_to_metric_families
from test_node_agent import agent, controller, docker, reported, run_id, services  # noqa: F401 - fixtures

KEY = "metrics-secret-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port: int, key: str | None = KEY) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                     headers={"Authorization": f"Bearer {key}"} if key is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


def samples(port: int) -> dict[tuple[str, tuple], float]:
    status, text = fetch(port)
    assert status == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def task_value(found: dict, name: str, app: str) -> float | None:
    return next((v for (n, labels), v in found.items() if n == name and ("app", app) in labels), None)


def test_task_usage_and_the_key(controller, agent, services):  # noqa: F811 - fixtures
    port = free_port()
    busy = "(i=0; while [ $i -lt 4000000 ]; do i=$((i+1)); done) & exec /app/start"
    services.create("metered", command=busy, memory="64M")
    agent(controller.url, metrics_port=str(port), metrics_key=KEY)
    reported(controller, "metered", healthy=True, timeout=60)
    assert fetch(port, None)[0] == 401
    assert fetch(port, "wrong")[0] == 401
    first = samples(port)
    labels = next(dict(labels) for (n, labels), _ in first.items()
                  if n == "slipway_task_cpu_seconds_total" and ("app", "metered") in labels)
    assert labels["type"] == "web" and labels["task"] and labels["node"] == socket.gethostname()
    before = task_value(first, "slipway_task_cpu_seconds_total", "metered")
    assert task_value(first, "slipway_task_memory_bytes", "metered") > 0
    assert task_value(first, "slipway_task_memory_limit_bytes", "metered") == 64 * 1024 * 1024
    # the shell loop keeps a core busy: its counter grows by CPU seconds, however loaded the machine is
    deadline = time.monotonic() + 30
    while (after := task_value(samples(port), "slipway_task_cpu_seconds_total", "metered")) - before <= 0.3:
        assert time.monotonic() < deadline, (before, after)
        time.sleep(0.5)


def test_restarts_and_probe_failures(controller, agent, services):  # noqa: F811 - fixtures
    port = free_port()
    agent(controller.url, metrics_port=str(port), metrics_key=KEY)
    services.create("crashing", command="sleep 2; exit 3", publish=False)
    reported(controller, "crashing", state="gone", timeout=60)
    found = samples(port)
    assert task_value(found, "slipway_task_restarts_total", "crashing") == 1
    container = services.container(services.create("stalls", healthcheck={"path": "/", "timeout": 0.3}))
    reported(controller, "stalls", healthy=True, timeout=60)
    assert task_value(samples(port), "slipway_node_agent_probe_failures_total", "stalls") is None
    docker("pause", container)
    try:
        wait_for(lambda: (task_value(samples(port), "slipway_node_agent_probe_failures_total", "stalls") or 0) >= 2,
                 timeout=20, what="two failed probes counted")
    finally:
        docker("unpause", container)
    assert task_value(samples(port), "slipway_task_restarts_total", "stalls") is None  # paused is not ended
