"""The scheduler's narrow interface: the only way the controller touches containers.

API routers never import a backend; they call the deploy service, which calls a Scheduler.
Backends (Swarm today) implement every method; nothing here knows about HTTP or the database.
"""
from __future__ import annotations

import abc
import dataclasses
import hashlib
import threading
from typing import Callable, Iterator


class SchedulerError(Exception):
    """A backend failure with a message fit for an API user (no secrets in it)."""


@dataclasses.dataclass(frozen=True)
class ProcessSpec:
    """One process type of one deployment: what becomes one Swarm service."""

    app: str
    release: int  # release version (vN)
    deployment: int  # deployment id, unique per app; names services (blue/green)
    proc_type: str  # "web", "cmd", "worker", ...
    image: str
    command: str | None  # Procfile command; None runs the image's own CMD
    replicas: int
    env: dict[str, str]  # config values + PORT + SLIPWAY_APP/SLIPWAY_RELEASE (added by the caller)
    port: int  # the PORT the process listens on (published for routable types)
    routable: bool  # web/cmd: publish `port` in host mode on a dynamic host port
    memory: str | None = None  # e.g. "256M" (docker-style); None = platform default
    cpu: str | None = None  # e.g. "500m" or "1.5" cores
    constraints: tuple[str, ...] = ()  # Swarm placement constraints, e.g. "node.labels.tier==fast"
    healthcheck: dict | None = None  # the release's health check of this type (liveness and readiness, probes.py)
    # a private registry's credentials for `image` ({"username", "password", "hostname"?}); never printed
    registry: dict | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True)
class Endpoint:
    address: str
    port: int


@dataclasses.dataclass(frozen=True)
class Task:
    """One running (or starting, or dead) container of a deployment."""

    name: str  # stable, user-facing: "<service>.<slot>"
    app: str
    release: int
    deployment: int
    proc_type: str
    state: str  # Swarm task state: new, pending, starting, running, failed, shutdown, ...
    desired_state: str
    node: str | None
    endpoint: Endpoint | None  # only for routable types once the port is published
    started: str | None  # ISO timestamp
    error: str | None = None
    failed_tries: int = 0  # tries of this slot that failed or were rejected (Swarm keeps a few per slot)


@dataclasses.dataclass(frozen=True)
class Node:
    """One machine of the cluster that runs app tasks."""

    id: str
    hostname: str
    role: str  # manager | worker
    availability: str  # active | pause | drain
    state: str  # ready | down | unknown | disconnected
    address: str | None
    labels: dict[str, str]
    leader: bool = False


@dataclasses.dataclass(frozen=True)
class RunResult:
    exit_code: int
    output: str


class Scheduler(abc.ABC):
    """What the controller asks of a container backend."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise SchedulerError when the backend cannot be reached."""

    @abc.abstractmethod
    def create(self, spec: ProcessSpec) -> None:
        """Create (idempotently) the service for one process type of a deployment."""

    @abc.abstractmethod
    def scale(self, app: str, deployment: int, proc_type: str, replicas: int) -> None:
        """Set the replica count of an existing service; SchedulerError when it does not exist."""

    @abc.abstractmethod
    def tasks(self, app: str, deployment: int | None = None) -> list[Task]:
        """Tasks of an app (all deployments, or one), running ones first; endpoints resolved."""

    @abc.abstractmethod
    def deployments(self, app: str) -> list[int]:
        """Deployment ids that still have services for this app."""

    @abc.abstractmethod
    def all_deployments(self) -> set[tuple[str, int]]:
        """(app, deployment id) of every service the platform manages, in one listing."""

    @abc.abstractmethod
    def remove(self, app: str, deployment: int | None = None) -> None:
        """Remove one deployment's services, or every service of the app."""

    @abc.abstractmethod
    def restart(self, app: str, deployment: int, proc_type: str | None = None, task: str | None = None) -> None:
        """Replace tasks: all of a deployment, one type's, or one task by name."""

    @abc.abstractmethod
    def run(self, app: str, image: str, command: str, env: dict[str, str],
            memory: str | None = None, timeout: float = 300, registry: dict | None = None) -> RunResult:
        """Run a one-off container to completion, return its exit code and output, remove it (`registry`: a
        private registry's credentials for the image, as ProcessSpec has them)."""

    @abc.abstractmethod
    def logs(self, app: str, lines: int = 100, proc_type: str | None = None) -> str:
        """Recent output of the app's tasks, oldest first, each line prefixed with type and task."""

    def log_entries(self, app: str, lines: int = 100, proc_type: str | None = None) -> list[tuple[str, str]]:
        """The same lines as `logs`, each with its time key (as LogStream.read_entries gives them); a backend that
        knows no times gives "" for each."""
        return [("", line) for line in self.logs(app, lines, proc_type).splitlines()]

    def nodes(self) -> list[Node]:
        """The cluster's nodes, by hostname."""
        raise SchedulerError("this scheduler has no nodes")

    def watch(self, changed: Callable[[str], None], stop: threading.Event) -> bool:
        """Tell changed(kind) of the cluster's node and service changes as they happen, until `stop`; False at
        once when this scheduler has no such events (its callers then list nodes as often as they need)."""
        return False

    def set_availability(self, node_id: str, availability: str) -> Node:
        """active (takes tasks), pause (keeps its tasks, takes no new ones) or drain (its tasks stop)."""
        raise SchedulerError("this scheduler has no nodes")

    def set_labels(self, node_id: str, changes: dict[str, str | None]) -> Node:
        """Set node labels (a value) or remove them (None); the node's other labels stay."""
        raise SchedulerError("this scheduler has no nodes")

    def apps_on_node(self, node_id: str) -> set[str]:
        """Ids of the apps that have live tasks on that node."""
        raise SchedulerError("this scheduler has no nodes")

    def follow_logs(self, app: str, proc_type: str | None = None) -> Iterator[str]:  # pragma: no cover
        raise SchedulerError("this scheduler cannot follow logs")

    def open_log_stream(self, app: str, proc_type: str | None = None, lines: int = 0,
                        poll: float = 1.0, after: "LogPosition | None" = None) -> "LogStream":
        """Follow an app's logs: first its last `lines` lines, then new lines of every task as they come,
        tasks of services created later (a new release) included. With `after` (a position `read_entries`
        gave), the lines after that position come first instead. Close the stream to stop."""
        raise SchedulerError("this scheduler cannot follow logs")

    def attach_run(self, app: str, image: str, command: str, env: dict[str, str], memory: str | None = None,
                   cols: int | None = None, rows: int | None = None,
                   max_seconds: float | None = None, registry: dict | None = None) -> "RunSession":
        """Start a one-off container with a terminal (the isolation of `run`) and attach to it; the backend
        may remove it once `max_seconds` have passed (a session whose controller died)."""
        raise SchedulerError("this scheduler cannot run interactive sessions")


@dataclasses.dataclass(frozen=True)
class LogPosition:
    """Where a reader of a LogStream got to: the time of the last line it read (`key`, a string that sorts as
    time does) and the digests (`line_digest`) of the lines it read with exactly that time."""
    key: str
    seen: frozenset[str]


def line_digest(line: str) -> str:
    return hashlib.blake2s(line.encode(errors="replace"), digest_size=4).hexdigest()


class LogStream(abc.ABC):
    """A live view of an app's output (every current and future service of the app, or of one type).

    `read()` hands back the lines that arrived, formatted `<type>.<slot>: <message>`, in time order;
    `read_entries()` the same lines with the time of each; `close()` stops every underlying stream (threads
    end, connections close). Use as a context manager."""

    @abc.abstractmethod
    def read(self, timeout: float = 1.0) -> list[str]:
        """Lines ready now (waits up to `timeout` for some); [] when none came."""

    def read_entries(self, timeout: float = 1.0) -> list[tuple[str, str]]:
        """(time key, line) of the lines ready now; a backend that knows no times gives "" for each."""
        return [("", line) for line in self.read(timeout)]

    @abc.abstractmethod
    def close(self) -> None:
        """Stop following; idempotent and safe from any thread."""

    def __enter__(self) -> "LogStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RunSession(abc.ABC):
    """An interactive one-off container (a TTY): bytes in and out, resize, exit status.

    The container is removed by `close()`, which callers must reach on every path."""

    @abc.abstractmethod
    def read(self, size: int = 65536) -> bytes:
        """Blocking: the next output bytes; b"" once the process closed its terminal."""

    @abc.abstractmethod
    def write(self, data: bytes) -> None:
        """Send bytes to the process' terminal."""

    @abc.abstractmethod
    def resize(self, cols: int, rows: int) -> None:
        """Set the terminal size."""

    @abc.abstractmethod
    def wait(self, timeout: float = 30) -> int:
        """The exit status, once the process ended."""

    @abc.abstractmethod
    def close(self) -> None:
        """Kill the process if it still runs and remove its container; idempotent, any thread."""
