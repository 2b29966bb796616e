"""The node agent's table of local tasks: what a task container is (read from the Engine's inspect), its health
check, and its health as the probes see it, with the rule for what counts as a change worth reporting.

A task is a running container of a Slipway service: labelled `slipway.managed=1` by the scheduler, with the
Swarm task id Swarm's executor adds, and not a one-off (`slipway.oneoff`). Routable tasks publish their PORT
on a dynamic host port; that published port is the only one ever probed.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import re
import time

from .common import APP_ID

log = logging.getLogger("slipway.nodeagent")

L_MANAGED = "slipway.managed"
L_ONEOFF = "slipway.oneoff"
L_APP = "slipway.app"
L_DEPLOYMENT = "slipway.deployment"
L_RELEASE = "slipway.release"
L_TYPE = "slipway.type"
L_HEALTHCHECK = "slipway.healthcheck"  # JSON {"path": "/health", "timeout": 2}, written by the scheduler
L_TASK = "com.docker.swarm.task.id"
L_NODE = "com.docker.swarm.node.id"

TYPE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,28}[a-z0-9])?$")  # the scheduler's process type rule (names.py)
PATH = re.compile(r"^/[\x21-\x7e]{0,1023}$")  # printable ASCII, no space, no CR/LF
SWARM_ID = re.compile(r"^[a-z0-9]{1,64}$")
NUMBER = re.compile(r"^[0-9]{1,9}$")  # deployments (from 1) and releases: what the controller's columns hold
STOP_SIGNALS = {"2", "9", "15", "SIGINT", "SIGKILL", "SIGTERM"}
STOPPING_FOR = 30.0  # a task sent a stop signal counts as stopping this long, unless it dies first


@dataclasses.dataclass(frozen=True)
class Check:
    """How a task is probed: GET `path` within `timeout` seconds; `explicit` when the app named the path."""

    path: str = "/"
    timeout: float = 1.0
    explicit: bool = False


def parse_check(text: str | None, default_timeout: float) -> Check:
    """The check a container's `slipway.healthcheck` label asks for. A label that is not exactly right (a path
    not starting with `/`, control characters or spaces, over 1024 characters; a timeout outside 0.1-30 s)
    gives the default check: the label is the scheduler's, but its values come from the app's config. Keys
    this agent does not know are left aside."""
    default = Check(timeout=default_timeout)
    if not text:
        return default
    try:
        spec = json.loads(text)
    except ValueError:
        spec = None
    if not isinstance(spec, dict):
        log.warning("health check label is not a JSON object; using the default check")
        return default
    path, timeout = spec.get("path"), spec.get("timeout", default_timeout)
    if path is not None and not (isinstance(path, str) and PATH.match(path)):
        log.warning("health check path refused (%r); using the default check", str(path)[:80])
        return default
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0.1 <= timeout <= 30:
        log.warning("health check timeout refused (%r); using the default check", str(timeout)[:80])
        return default
    return Check(path=path or "/", timeout=float(timeout), explicit=path is not None)


def published(info: dict, probe_address: str = "") -> tuple[str, int] | None:
    """(address to probe, published host port) of the task's target port, or None for a task that publishes
    nothing. The target port is the one the scheduler published (HostConfig.PortBindings: the image's EXPOSE
    lines appear only in NetworkSettings.Ports); the first binding is Swarm's first PortStatus entry, the one
    the controller routes to (the Engine may give the IPv4 and IPv6 bindings different ports)."""
    targets = sorted(k for k in (info.get("HostConfig") or {}).get("PortBindings") or {} if k.endswith("/tcp"))
    ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
    for target in targets:
        for binding in ports.get(target) or []:
            text = str(binding.get("HostPort") or "")
            if not text.isdigit() or not 0 < int(text) < 65536:
                continue
            host_ip = str(binding.get("HostIp") or "")
            if probe_address:
                address = probe_address
            elif host_ip in ("", "0.0.0.0"):
                address = "127.0.0.1"
            elif host_ip == "::":
                address = "::1"
            else:
                address = host_ip
            return address, int(text)
    return None


@dataclasses.dataclass
class Task:
    task: str
    container: str
    app: str
    deployment: int
    type: str
    release: int
    node: str
    pid: int
    started_at: str
    check: Check
    address: str | None = None
    port: int | None = None
    memory_limit: int = 0
    cpu_limit: float = 0.0
    # what the agent knows of it
    state: str = "running"  # running | stopping | gone
    healthy: bool = False
    failures: int = 0
    message: str = "not probed yet"
    checked_at: float | None = None
    stopping_until: float = 0.0
    passed: bool = False  # a probe has passed since it started

    @property
    def routable(self) -> bool:
        return self.port is not None

    def view(self) -> tuple:
        """What a report is sent for when it changes (the message alone is not)."""
        return self.state, self.healthy, self.failures

    def probed(self, ok: bool, message: str, now: float) -> None:
        if self.state == "stopping" and time.monotonic() < self.stopping_until:
            return  # stays out until it dies: a probe may still pass during a graceful stop
        self.state = "running"
        self.healthy = ok
        self.failures = 0 if ok else self.failures + 1
        self.passed = self.passed or ok
        self.message = message
        self.checked_at = now

    def stopping(self, signal: str) -> None:
        self.state, self.healthy = "stopping", False
        self.message = f"stopping (signal {signal})"
        self.stopping_until = time.monotonic() + STOPPING_FOR

    def gone(self, message: str) -> None:
        self.state, self.healthy = "gone", False
        self.message = message

    def entry(self) -> dict:
        """This task in a report (without the usage figures, which the reporter adds)."""
        return {"task": self.task, "container": self.container, "app": self.app, "deployment": self.deployment,
                "type": self.type, "release": self.release, "port": self.port, "state": self.state,
                "healthy": self.healthy, "failures": self.failures, "message": self.message[:500],
                "checked_at": self.checked_at, "started_at": self.started_at,
                "memory_limit_bytes": self.memory_limit, "cpu_limit": self.cpu_limit}


def from_inspect(info: dict, default_timeout: float, probe_address: str = "") -> Task | None:
    """The task a container is, or None when it is not a running task of a Slipway service (or its labels are
    not ones the scheduler writes)."""
    labels = (info.get("Config") or {}).get("Labels") or {}
    state = info.get("State") or {}
    if labels.get(L_MANAGED) != "1" or L_ONEOFF in labels or not state.get("Running"):
        return None
    task, app, kind = labels.get(L_TASK, ""), labels.get(L_APP, ""), labels.get(L_TYPE, "")
    deployment, release = labels.get(L_DEPLOYMENT, ""), labels.get(L_RELEASE, "")
    # as strict as the controller's check of a report, which refuses a report wrong anywhere as a whole
    if not (SWARM_ID.match(task) and APP_ID.match(app) and TYPE.match(kind) and NUMBER.match(deployment)
            and int(deployment) > 0 and NUMBER.match(release)):
        log.debug("container %s: not a Slipway task (labels %s)", str(info.get("Id"))[:12], sorted(labels))
        return None
    host = info.get("HostConfig") or {}
    where = published(info, probe_address)
    return Task(task=task, container=str(info["Id"]), app=app, deployment=int(deployment), type=kind,
                release=int(release), node=labels.get(L_NODE, ""), pid=int(state.get("Pid") or 0),
                started_at=str(state.get("StartedAt") or ""),
                check=parse_check(labels.get(L_HEALTHCHECK), default_timeout),
                address=where[0] if where else None, port=where[1] if where else None,
                memory_limit=int(host.get("Memory") or 0), cpu_limit=int(host.get("NanoCpus") or 0) / 1e9)


def end_message(action: str, attributes: dict, oom: bool) -> str:
    """Why a task ended, from the Engine's event."""
    if action == "die":
        code = str(attributes.get("exitCode", "?"))
        return f"exited with {code}" + (" (out of memory)" if oom else "")
    return {"destroy": "removed", "stop": "stopped"}.get(action, action)
