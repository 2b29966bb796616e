"""The node agent's table of local tasks: what a task container is (read from the Engine's inspect), its probes,
and its health as the probes see it, with the rule for what counts as a change worth reporting.

A task is a running container of a Slipway service: labelled `slipway.managed=1` by the scheduler, with the
Swarm task id Swarm's executor adds, and not a one-off (`slipway.oneoff`). Routable tasks publish their PORT
on a dynamic host port. A probe connects to that published port, or to another port of the container's own
address on its Docker network (NetworkSettings.Networks), never to an address the label names.

The probes are the scheduler's `slipway.healthcheck` label, compact JSON, each probe optional:

    {"readiness": Q, "liveness": Q}
    Q = {"kind": "http" | "tcp" | "exec", "path": "/x", "port": N, "headers": [["Name", "value"], ...],
         "command": ["argv0", ...], "timeout": s, "period": s, "initial_delay": s, "success": n, "failure": n}

- kind http: path (printable ASCII, no space, up to 1024 characters; named: 200-399 passes, else any status
  below 500), port, headers (up to 10; names HTTP tokens, values printable ASCII without CR/LF; Host,
  Connection, Content-Length and Transfer-Encoding stay the probe's); tcp: port; exec: command (1 to 32
  strings of up to 1024 characters). port 1-65535, null or absent: the task's PORT.
- timeout 1-60 s (default: the agent's probe_timeout), period 1-3600 s (the agent's probe_interval),
  initial_delay 0-3600 s (0), success and failure 1-100 (1 and 3).
- The label's older form `{"path": "/x", "timeout": 2}` (a timeout of 0.1-30 s) is a readiness http probe on
  PORT. No label, or none for readiness: GET / on PORT, any status below 500 (a task that publishes no port:
  healthy while it runs).
- The label's values come from the app's config: a probe with any value out of its bounds is dropped and
  logged (readiness then the default one), and so is a probe on PORT of a task that publishes none. Keys
  this agent does not know are left aside.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
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
L_HEALTHCHECK = "slipway.healthcheck"  # JSON {"readiness": {...}, "liveness": {...}}, written by the scheduler
L_TASK = "com.docker.swarm.task.id"
L_NODE = "com.docker.swarm.node.id"

TYPE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,28}[a-z0-9])?$")  # the scheduler's process type rule (names.py)
PATH = re.compile(r"^/[\x21-\x7e]{0,1023}$")  # printable ASCII, no space, no CR/LF
TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")  # an HTTP header name (RFC 9110 token)
FIELD_VALUE = re.compile(r"^[\t\x20-\x7e]{0,4096}$")  # printable ASCII and tabs: no CR/LF, no NUL
FIXED_HEADERS = {"host", "connection", "content-length", "transfer-encoding"}
MAX_LABEL, MAX_HEADERS, MAX_ARGS, MAX_ARG = 65536, 10, 32, 1024
SWARM_ID = re.compile(r"^[a-z0-9]{1,64}$")
NUMBER = re.compile(r"^[0-9]{1,9}$")  # deployments (from 1) and releases: what the controller's columns hold
STOP_SIGNALS = {"2", "9", "15", "SIGINT", "SIGKILL", "SIGTERM"}
STOPPING_FOR = 30.0  # a task sent a stop signal counts as stopping this long, unless it dies first


@dataclasses.dataclass(frozen=True)
class Check:
    """One probe of a task: readiness (may it serve?) or liveness (should it be restarted?).

    `kind` http: GET `path` (`explicit` when the app named it: 200-399 passes, else any status below 500) with
    `headers`; tcp: a connection that opens; exec: `command` run in the container, exit status 0 passes. `port`
    None is the task's PORT, probed on its published port; another port is probed on the container's own
    address. Each probe runs every `period` seconds (None: the agent's probe_interval), the first `initial_delay`
    seconds after the task started; `success` passes in a row make a task healthy, `failure` failures in a row
    unhealthy (or, for liveness, restart it)."""

    path: str = "/"
    timeout: float = 1.0
    explicit: bool = False
    kind: str = "http"
    port: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    command: tuple[str, ...] = ()
    period: float | None = None
    initial_delay: float = 0.0
    success: int = 1
    failure: int = 3


class Refused(ValueError):
    """A probe the label asks for that is not exactly right."""


def _number(spec: dict, key: str, low: float, high: float, default, integer: bool = False):
    value = spec.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)) or not low <= value <= high:
        raise Refused(f"{key} must be {'an integer' if integer else 'a number'} from {low} to {high}")
    return value if integer else float(value)


def _headers(value) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_HEADERS:
        raise Refused(f"headers must be a list of at most {MAX_HEADERS} [name, value] pairs")
    out = []
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
                and TOKEN.match(pair[0]) and FIELD_VALUE.match(pair[1])):
            raise Refused("a header is not [token, value] (printable ASCII, no CR/LF, up to 4096 characters)")
        if pair[0].lower() not in FIXED_HEADERS:  # the probe's own framing: never the app's to set
            out.append((pair[0], pair[1]))
    return tuple(out)


def _command(value) -> tuple[str, ...]:
    if not (isinstance(value, list) and 1 <= len(value) <= MAX_ARGS and all(
            isinstance(a, str) and 0 < len(a) <= MAX_ARG and "\x00" not in a for a in value)):
        raise Refused(f"command must be 1 to {MAX_ARGS} strings of 1 to {MAX_ARG} characters")
    return tuple(value)


def _probe(spec, default_timeout: float) -> Check:
    """One probe ("Q") of the label's new form; Refused when any of its values is not within its bounds."""
    if not isinstance(spec, dict):
        raise Refused("not a JSON object")
    kind = spec.get("kind")
    if kind not in ("http", "tcp", "exec"):
        raise Refused("kind must be http, tcp or exec")
    path = spec.get("path") if kind == "http" else None
    if path is not None and not (isinstance(path, str) and PATH.match(path)):
        raise Refused("path must be printable ASCII without spaces, starting with /, up to 1024 characters")
    return Check(path=path or "/", explicit=path is not None, kind=kind,
                 timeout=_number(spec, "timeout", 1, 60, default_timeout),
                 port=_number(spec, "port", 1, 65535, None, integer=True) if kind != "exec" else None,
                 headers=_headers(spec.get("headers")) if kind == "http" else (),
                 command=_command(spec.get("command")) if kind == "exec" else (),
                 period=_number(spec, "period", 1, 3600, None),
                 initial_delay=_number(spec, "initial_delay", 0, 3600, 0.0),
                 success=_number(spec, "success", 1, 100, 1, integer=True),
                 failure=_number(spec, "failure", 1, 100, 3, integer=True))


def _old_form(spec: dict, default_timeout: float) -> Check:
    """`{"path": "/x", "timeout": 2}`: the readiness http probe on PORT the label asked for before probes had kinds
    (a timeout of 0.1-30 s)."""
    path, timeout = spec.get("path"), spec.get("timeout", default_timeout)
    if path is not None and not (isinstance(path, str) and PATH.match(path)):
        raise Refused("path must be printable ASCII without spaces, starting with /, up to 1024 characters")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0.1 <= timeout <= 30:
        raise Refused("timeout must be a number from 0.1 to 30")
    return Check(path=path or "/", timeout=float(timeout), explicit=path is not None)


def parse_checks(text: str | None, default_timeout: float) -> tuple[Check, Check | None]:
    """(readiness, liveness) a container's `slipway.healthcheck` label asks for. The label is the scheduler's,
    but its values come from the app's config: a probe that is not exactly right is dropped (and logged), readiness
    then being the default check (GET / on PORT, any status below 500), liveness none. Keys this agent does not
    know are left aside."""
    default = Check(timeout=default_timeout)
    if not text:
        return default, None
    try:
        spec = json.loads(text) if len(text) <= MAX_LABEL else None
    except (ValueError, RecursionError):
        spec = None
    if not isinstance(spec, dict):
        log.warning("health check label is not a JSON object (of up to %d bytes); using the default check",
                    MAX_LABEL)
        return default, None
    if "readiness" not in spec and "liveness" not in spec:
        try:
            return _old_form(spec, default_timeout), None
        except Refused as e:
            log.warning("health check label refused (%s); using the default check", e)
            return default, None
    found: dict[str, Check | None] = {}
    for which in ("readiness", "liveness"):
        found[which] = None
        if spec.get(which) is not None:
            try:
                found[which] = _probe(spec[which], default_timeout)
            except Refused as e:
                log.warning("%s probe refused (%s); %s", which, e,
                            "using the default check" if which == "readiness" else "no liveness probe")
    return found["readiness"] or default, found["liveness"]


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


def container_address(info: dict) -> str | None:
    """The container's own IPv4 address on its Docker network (the first network by name that gives one): where
    a probe of a port other than PORT goes, and nowhere else."""
    networks = (info.get("NetworkSettings") or {}).get("Networks") or {}
    for name in sorted(networks):
        text = str((networks[name] or {}).get("IPAddress") or "")
        try:
            if ipaddress.ip_address(text).version == 4:
                return text
        except ValueError:
            continue
    return None


def _epoch(text: str) -> float | None:
    """The Engine's StartedAt ("2026-01-01T00:00:00.123456789Z") as Unix time."""
    try:
        return dt.datetime.fromisoformat(text.rstrip("Z")[:26]).replace(tzinfo=dt.timezone.utc).timestamp()
    except ValueError:
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
    check: Check | None  # readiness; None: nothing to probe (no port, no probe), healthy while it runs
    liveness: Check | None = None
    address: str | None = None
    port: int | None = None
    target_port: int | None = None  # PORT, the container port published as `port`
    container_ip: str | None = None
    started: float = 0.0  # Unix time
    memory_limit: int = 0
    cpu_limit: float = 0.0
    # what the agent knows of it
    state: str = "running"  # running | stopping | gone
    healthy: bool = False
    failures: int = 0
    successes: int = 0
    message: str = "not probed yet"
    checked_at: float | None = None
    stopping_until: float = 0.0
    passed: bool = False  # readiness has been reached since it started
    live_failures: int = 0
    restarted: str = ""  # why the agent stops it (liveness)

    @property
    def routable(self) -> bool:
        return self.port is not None

    @property
    def counted_failures(self) -> int:
        """Failed probes in a row as reported: none before the task first passed. A task that is still starting
        has not failed yet, and the controller then confirms a routed one itself instead of dropping it (a deploy
        may route a task its own probes found ready before this agent's first probe passed)."""
        return self.failures if self.passed else 0

    def view(self) -> tuple:
        """What a report is sent for when it changes (the message alone is not, once the task passed; before,
        the message is all that tells why it is not ready yet)."""
        return self.state, self.healthy, self.counted_failures, None if self.passed else self.message

    def where(self, check: Check) -> tuple[str, int] | None:
        """(address, port) a probe connects to: PORT on its published port, another port on the container's own
        address; None for exec, or when there is no such place."""
        if check.kind == "exec":
            return None
        if check.port is None or check.port == self.target_port:
            return (self.address, self.port) if self.routable else None
        return (self.container_ip, check.port) if self.container_ip else None

    def probed(self, ok: bool, message: str, now: float) -> None:
        """A readiness probe's result: healthy after `success` passes in a row, unhealthy after `failure` failures
        in a row, as it was in between."""
        if self.state == "stopping" and (self.restarted or time.monotonic() < self.stopping_until):
            return  # stays out until it dies: a probe may still pass during a graceful stop
        check = self.check or Check()
        self.state = "running"
        self.failures = 0 if ok else self.failures + 1
        self.successes = self.successes + 1 if ok else 0
        if self.successes >= check.success:
            self.healthy = self.passed = True
        elif self.failures >= check.failure:
            self.healthy = False
        self.message = message
        self.checked_at = now

    def live(self, ok: bool) -> bool:
        """A liveness probe's result; True when the task is to be restarted."""
        self.live_failures = 0 if ok else self.live_failures + 1
        return self.liveness is not None and self.live_failures >= self.liveness.failure

    def restart(self, why: str) -> None:
        self.state, self.healthy = "stopping", False
        self.message = self.restarted = why

    def stopping(self, signal: str) -> None:
        self.state, self.healthy = "stopping", False
        self.message = self.restarted or f"stopping (signal {signal})"
        self.stopping_until = time.monotonic() + STOPPING_FOR

    def gone(self, message: str) -> None:
        self.state, self.healthy = "gone", False
        self.message = f"{self.restarted}; {message}" if self.restarted else message

    def entry(self) -> dict:
        """This task in a report (without the usage figures, which the reporter adds)."""
        message = "".join(c if c.isprintable() else "?" for c in self.message[:500])
        return {"task": self.task, "container": self.container, "app": self.app, "deployment": self.deployment,
                "type": self.type, "release": self.release, "port": self.port, "state": self.state,
                "healthy": self.healthy, "failures": self.counted_failures, "message": message,
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
    targets = sorted(k for k in host.get("PortBindings") or {} if k.endswith("/tcp") and k[:-4].isdigit())
    readiness, liveness = parse_checks(labels.get(L_HEALTHCHECK), default_timeout)
    out = Task(task=task, container=str(info["Id"]), app=app, deployment=int(deployment), type=kind,
               release=int(release), node=labels.get(L_NODE, ""), pid=int(state.get("Pid") or 0),
               started_at=str(state.get("StartedAt") or ""), check=readiness, liveness=liveness,
               address=where[0] if where else None, port=where[1] if where else None,
               target_port=int(targets[0][:-4]) if targets else None, container_ip=container_address(info),
               started=_epoch(str(state.get("StartedAt") or "")) or time.time(),
               memory_limit=int(host.get("Memory") or 0), cpu_limit=int(host.get("NanoCpus") or 0) / 1e9)
    for which, check in (("readiness", readiness), ("liveness", liveness)):
        if check is not None and check.kind != "exec" and check.port is None and not out.routable:
            if check != Check(timeout=default_timeout):
                log.warning("task %s: its %s probe is on PORT, which it does not publish: dropped", task, which)
            setattr(out, "check" if which == "readiness" else "liveness", None)
    return out


def end_message(action: str, attributes: dict, oom: bool) -> str:
    """Why a task ended, from the Engine's event."""
    if action == "die":
        code = str(attributes.get("exitCode", "?"))
        return f"exited with {code}" + (" (out of memory)" if oom else "")
    return {"destroy": "removed", "stop": "stopped"}.get(action, action)
