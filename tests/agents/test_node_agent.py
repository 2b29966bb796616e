"""The node agent (agents/bin/slipway-node-agent) against this machine's Docker Engine (a one-node Swarm): real
Swarm services of the test image, a stand-in controller over real HTTP (fakes.py).

Every service and container made here carries `slipway.test-node-agent=<run>` and the agent is told to watch only
those (`label_filter`), so the other suites' tasks on this Engine are neither probed nor touched."""
from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import threading
import time
import uuid

import pytest
from conftest import AGENTS, ROOT, SYSTEM_PYTHON, wait_for
from fakes import FakeController

LABEL = "slipway.test-node-agent"
IMAGE = "slipway-test/web:1"
DOCKER_SOCKET = "/var/run/docker.sock"


def docker(*args: str, check: bool = True) -> str:
    p = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {p.stderr}")
    return p.stdout.strip()


@pytest.fixture(scope="module")
def run_id():
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        pytest.skip("no Docker Engine")
    subprocess.run([os.path.join(ROOT, "scripts", "build-test-image.sh"), "web"], check=True)
    run = uuid.uuid4().hex[:10]
    yield run
    for service in docker("service", "ls", "-q", "--filter", f"label={LABEL}={run}").split():
        docker("service", "rm", service, check=False)
    for container in docker("ps", "-aq", "--filter", f"label={LABEL}={run}").split():
        docker("rm", "-f", container, check=False)


class Services:
    def __init__(self, run: str):
        self.run = run
        self.made: list[str] = []

    def create(self, app: str, healthcheck: dict | str | None = None, command: str | None = None,
               memory: str | None = None, proc_type: str = "web", publish: bool = True,
               extra: tuple[str, ...] = ()) -> str:
        """A service as the scheduler makes it; `healthcheck` is the label's value (a dict written as compact JSON),
        `extra` more `docker service create` options."""
        name = f"nodeagent-{self.run}-{app}"
        args = ["service", "create", "--quiet", "--detach", "--name", name, "--label", f"{LABEL}={self.run}",
                "--restart-condition", "none", "--env", "PORT=8080", *extra]
        if publish:
            args += ["--publish", "mode=host,target=8080"]
        labels = {LABEL: self.run, "slipway.managed": "1", "slipway.app": app, "slipway.deployment": "3",
                  "slipway.type": proc_type, "slipway.release": "5"}
        if healthcheck is not None:
            labels["slipway.healthcheck"] = healthcheck if isinstance(healthcheck, str) else json.dumps(
                healthcheck, separators=(",", ":"))
        for key, value in labels.items():
            args += ["--container-label", f"{key}={value}"]
        if memory:
            args += ["--limit-memory", memory]
        args.append(IMAGE)
        if command:
            args += ["/bin/sh", "-c", command]
        docker(*args)
        self.made.append(name)
        return name

    def container(self, name: str) -> str:
        return wait_for(lambda: docker("ps", "-q", "--no-trunc", "--filter", f"label=com.docker.swarm.service.name={name}"),
                        timeout=60, interval=0.2, what=f"a container of {name}")

    def remove(self) -> None:
        for name in self.made:
            docker("service", "rm", name, check=False)


@pytest.fixture
def services(run_id):
    s = Services(run_id)
    yield s
    s.remove()


@pytest.fixture
def controller():
    with FakeController() as fc:
        yield fc


class Agent:
    def __init__(self, run: str, url: str, log: str, **settings: str):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SLIPWAY_PYTHON": SYSTEM_PYTHON,
               "SLIPWAY_CONTROLLER_URL": url, "SLIPWAY_NODE_KEY": "node-secret",
               "SLIPWAY_LABEL_FILTER": f"{LABEL}={run}", "SLIPWAY_LOG_LEVEL": "DEBUG",
               "SLIPWAY_PROBE_INTERVAL": "0.5", "SLIPWAY_HEARTBEAT": "60", "SLIPWAY_RESYNC": "600"}
        env.update({f"SLIPWAY_{k.upper()}": v for k, v in settings.items()})
        self.log = log
        self.fh = open(log, "a")
        self.proc = subprocess.Popen([os.path.join(AGENTS, "bin", "slipway-node-agent")], env=env,
                                     stdout=self.fh, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.fh.close()


@pytest.fixture
def agent(run_id, tmp_path):
    started = []

    def start(url: str, **settings: str) -> Agent:
        a = Agent(run_id, url, str(tmp_path / "agent.log"), **settings)
        started.append(a)
        return a

    yield start
    for a in started:
        a.stop()
    print(open(tmp_path / "agent.log").read()[-5000:] if (tmp_path / "agent.log").exists() else "")


def entries(fc: FakeController, app: str, since: int = 0) -> list[tuple[dict, dict]]:
    """(report, task entry) of an app, in the order they came."""
    return [(r, t) for r in fc.reports[since:] for t in r["tasks"] if t["app"] == app]


def reported(fc: FakeController, app: str, timeout: float = 20, since: int = 0, **want):
    def find():
        for r, t in entries(fc, app, since):
            if all(t.get(k) == v for k, v in want.items()):
                return r, t
        return None
    return wait_for(find, timeout=timeout, interval=0.05, what=f"a report of {app} with {want}")


def epoch(text: str) -> float:
    text = text.rstrip("Z")[:26]
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


def test_a_new_task_is_reported_healthy_within_seconds(controller, agent, services, run_id):
    agent(controller.url)
    name = services.create("fresh")
    container = services.container(name)
    report, task = reported(controller, "fresh", healthy=True)
    started = epoch(docker("inspect", "--format", "{{.State.StartedAt}}", container))
    assert report["at"] - started < 2.5, (report["at"] - started, task)
    assert task["container"] == container and task["state"] == "running" and task["failures"] == 0
    assert (task["deployment"], task["type"], task["release"]) == (3, "web", 5)
    assert task["port"] == int(docker("port", container, "8080/tcp").splitlines()[0].rsplit(":", 1)[1])
    assert task["task"] == docker("inspect", "--format", '{{index .Config.Labels "com.docker.swarm.task.id"}}',
                                  container)
    assert report["node"] == docker("info", "--format", "{{.Swarm.NodeID}}")
    # a one-off container (slipway.oneoff) of the same app is no task
    docker("run", "-d", "--label", f"{LABEL}={run_id}", "--label", "slipway.managed=1", "--label", "slipway.oneoff=1",
           "--label", "slipway.app=fresh", IMAGE, "sleep", "30")
    time.sleep(1.5)
    assert {t["container"] for _, t in entries(controller, "fresh")} == {container}


def test_a_killed_task_is_reported_gone_at_once(controller, agent, services):
    """Probes every 30 s and no listing: the report can only come from the Engine's event."""
    agent(controller.url, probe_interval="30")
    container = services.container(services.create("killed"))
    reported(controller, "killed", healthy=True)
    docker("kill", container)
    killed = time.monotonic()
    report, task = reported(controller, "killed", state="gone", timeout=5)
    assert report["received"] - killed < 1.0 and not report["full"]
    assert task["container"] == container and task["message"] == "exited with 137" and not task["healthy"]


def test_a_task_that_stops_answering_counts_failures(controller, agent, services):
    """It stays healthy through two failed probes in a row (the default failure threshold is 3)."""
    agent(controller.url)
    container = services.container(services.create("hung", healthcheck={"path": "/", "timeout": 0.3}))
    reported(controller, "hung", healthy=True)
    docker("pause", container)  # the server takes connections and never answers
    try:
        for n in (1, 2, 3):
            _, task = reported(controller, "hung", failures=n, timeout=15)
            assert task["healthy"] == (n < 3) and "TimeoutError" in task["message"]
    finally:
        docker("unpause", container)
    since = len(controller.reports)
    _, task = reported(controller, "hung", since=since, healthy=True, failures=0)
    assert task["message"].endswith("answered 200")


def test_an_agent_restart_reports_the_full_table(controller, agent, services):
    first = agent(controller.url)
    containers = {services.container(services.create(app)) for app in ("keep-a", "keep-b")}
    reported(controller, "keep-a", healthy=True)
    reported(controller, "keep-b", healthy=True)
    first.stop()
    since = len(controller.reports)
    agent(controller.url)
    wait_for(lambda: len(controller.reports) > since, what="a report from the new agent")
    report = controller.reports[since]
    ours = [t for t in report["tasks"] if t["app"] in ("keep-a", "keep-b")]
    assert report["full"] and {t["container"] for t in ours} == containers
    assert all(t["healthy"] and t["checked_at"] for t in ours), ours  # probed before the first report


def test_a_controller_outage_ends_with_a_full_report(controller, agent, services):
    agent(controller.url)
    stays = services.container(services.create("stays"))
    ends = services.container(services.create("ends"))
    reported(controller, "stays", healthy=True)
    reported(controller, "ends", healthy=True)
    port = int(controller.url.rsplit(":", 1)[1])
    controller.__exit__(None, None, None)  # the controller goes away
    docker("kill", ends)  # a change it misses
    time.sleep(2)
    with FakeController(port=port) as back:
        report = wait_for(lambda: back.reports and back.reports[0], timeout=15, what="a report after the outage")
    assert report["full"], report
    ours = {t["container"]: t for t in report["tasks"] if t["app"] in ("stays", "ends")}
    assert list(ours) == [stays] and ours[stays]["healthy"]


def test_busy_task_usage(controller, agent, services):
    busy = "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; exec /app/start"
    container = services.container(services.create("busy", command=busy, memory="64M"))
    agent(controller.url)
    _, task = reported(controller, "busy", healthy=True, timeout=60)
    assert task["cpu_seconds"] > 0.2, task
    assert task["memory_bytes"] > 0 and task["memory_limit_bytes"] == 64 * 1024 * 1024, task
    assert task["container"] == container


class SocketProxy:
    """The Engine's socket behind one of our own, which can go away and come back like a restarting Engine."""

    def __init__(self, path: str):
        self.path = path
        self.conns: list[socket.socket] = []
        self.server: socket.socket | None = None

    def start(self) -> None:
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(self.path)
        self.server.listen()
        threading.Thread(target=self.accept, args=(self.server,), daemon=True).start()

    def accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(DOCKER_SOCKET)
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        self.server.close()
        os.unlink(self.path)
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.conns = []


def test_an_engine_restart(controller, agent, services, tmp_path):
    """The Engine's socket goes (the event stream ends) and comes back: the agent lists the containers again and
    reports what ended while it could not see."""
    proxy = SocketProxy(str(tmp_path / "docker.sock"))
    proxy.start()
    agent(controller.url, docker_socket=proxy.path)
    container = services.container(services.create("engine"))
    reported(controller, "engine", healthy=True)
    proxy.stop()
    time.sleep(1)
    docker("kill", container)  # unseen: the agent has no Engine
    time.sleep(1)
    proxy.start()
    _, task = reported(controller, "engine", state="gone", timeout=15)
    assert task["container"] == container and task["message"] == "no longer running"
