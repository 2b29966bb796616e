"""One-off containers of an app: `run` (wait, collect the output) and interactive sessions
(`attach_run`: a terminal over the container's attach socket)."""
from __future__ import annotations

import contextlib
import threading
import time

import docker.errors
import requests.exceptions

from ..base import RunResult, RunSession, SchedulerError
from ..names import check_app, parse_memory
from .engine import SwarmEngine
from .errors import redact
from .labels import L_APP, L_MANAGED, L_ONEOFF, L_SESSION_DEADLINE
from .sockets import raw_socket, shutdown

MAX_RUN_OUTPUT = 1024 * 1024
PIDS_LIMIT = 1024  # processes of one task or one-off container: a fork bomb stays in its container


class SwarmRuns(SwarmEngine):
    """One-off containers of an app, on the manager's engine."""

    def run(self, app: str, image: str, command: str, env: dict[str, str],
            memory: str | None = None, timeout: float = 300, registry: dict | None = None) -> RunResult:
        check_app(app)
        mem = parse_memory(memory or self.default_memory)
        secrets = list(env.values())
        options = dict(
            entrypoint=["/bin/sh", "-c"], command=[command],  # exactly `sh -c <command>`, whatever the image
            environment=[f"{k}={v}" for k, v in env.items()],
            labels={L_APP: app, L_ONEOFF: "1", L_MANAGED: "1"},
            init=True, cap_drop=["ALL"], mem_limit=mem, memswap_limit=mem, privileged=False,
            pids_limit=PIDS_LIMIT)
        container = None
        try:
            # containers.run() in two steps, so that a container whose start fails is removed too
            with self.errors(f"run a one-off container for app {app}", secrets):
                try:
                    container = self.client.containers.create(image, **options)
                except docker.errors.ImageNotFound:
                    self.pull(image, registry)
                    container = self.client.containers.create(image, **options)
                container.start()
            with self.errors(f"wait for a one-off container for app {app}", secrets):
                try:
                    status = container.wait(timeout=timeout)
                except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError) as exc:
                    if isinstance(exc, requests.exceptions.ReadTimeout) or "timed out" in str(exc):
                        raise SchedulerError(f"one-off command for app {app} timed out after {timeout:g}s") from None
                    raise
            with self.errors(f"collect the output of a one-off container for app {app}", secrets):
                output = container.logs(stdout=True, stderr=True)
            if len(output) > MAX_RUN_OUTPUT:
                output = output[-MAX_RUN_OUTPUT:]
            error = (status.get("Error") or {}).get("Message")
            if error:
                raise SchedulerError(f"one-off container for app {app} failed: {redact(error, secrets)}")
            return RunResult(exit_code=int(status.get("StatusCode", -1)), output=output.decode(errors="replace"))
        finally:
            if container is not None:
                self.remove_container(container.id)

    # ---- interactive one-off sessions -------------------------------------------------------------
    def attach_run(self, app: str, image: str, command: str, env: dict[str, str], memory: str | None = None,
                   cols: int | None = None, rows: int | None = None,
                   max_seconds: float | None = None, registry: dict | None = None) -> "SwarmRunSession":
        """`max_seconds` goes on the container as a deadline label: a session whose controller died (so
        nobody removes its container) is removed by the next session started after that deadline."""
        check_app(app)
        self.reap_expired_sessions()
        mem = parse_memory(memory or self.default_memory)
        secrets = list(env.values())
        what = f"start an interactive one-off container for app {app}"
        container_id = None
        try:
            with self.errors(what, secrets):
                host_config = self.api.create_host_config(init=True, cap_drop=["ALL"], mem_limit=mem,
                                                          memswap_limit=mem, privileged=False,
                                                          pids_limit=PIDS_LIMIT)
                options = dict(entrypoint=["/bin/sh", "-c"], command=[command], tty=True, stdin_open=True,
                               environment=[f"{k}={v}" for k, v in env.items()], host_config=host_config,
                               labels={L_APP: app, L_ONEOFF: "1", L_MANAGED: "1",
                                       L_SESSION_DEADLINE: str(int(time.time() + (max_seconds or 24 * 3600) + 60))})
                try:
                    container_id = self.api.create_container(image, **options)["Id"]
                except docker.errors.ImageNotFound:
                    self.pull(image, registry)
                    container_id = self.api.create_container(image, **options)["Id"]
                raw = self.api.attach_socket(container_id, params={"stdin": 1, "stdout": 1, "stderr": 1,
                                                                   "stream": 1})
                session = SwarmRunSession(self, container_id, raw)
                self.api.start(container_id)
                if cols and rows:
                    session.resize(cols, rows)
            return session
        except BaseException:
            if container_id is not None:
                self.remove_container(container_id)
            raise

    def reap_expired_sessions(self) -> int:
        """Remove interactive one-off containers past their deadline label (their controller is gone)."""
        removed = 0
        try:
            found = self.api.containers(all=True, filters={"label": [f"{L_ONEOFF}=1", L_SESSION_DEADLINE]})
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError):
            return 0
        now = time.time()
        for c in found:
            try:
                deadline = int((c.get("Labels") or {}).get(L_SESSION_DEADLINE, ""))
            except ValueError:
                continue
            if deadline < now:
                self.remove_container(c["Id"])
                removed += 1
        return removed


class SwarmRunSession(RunSession):
    def __init__(self, sched: SwarmEngine, container_id: str, stream):
        self.sched, self.container_id = sched, container_id
        self._stream = stream  # docker-py's attach stream: it holds the response that keeps a TLS socket open
        self._sock = raw_socket(stream)
        if self._sock is None:
            raise SchedulerError("the Docker Engine's attach stream is not a socket")
        self._sock.settimeout(None)
        self._closed = False
        self._lock = threading.Lock()

    def read(self, size: int = 65536) -> bytes:
        if self._closed:
            return b""
        try:
            return self._sock.recv(size)
        except OSError:
            return b""

    def write(self, data: bytes) -> None:
        if self._closed or not data:
            return
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise SchedulerError(f"the one-off container's terminal is gone ({type(exc).__name__})") from None

    def resize(self, cols: int, rows: int) -> None:
        cols, rows = max(1, min(int(cols), 1000)), max(1, min(int(rows), 1000))
        with self.sched.errors("resize the terminal"):
            with contextlib.suppress(docker.errors.NotFound):
                self.sched.api.resize(self.container_id, height=rows, width=cols)

    def wait(self, timeout: float = 30) -> int:
        with self.sched.errors("wait for the one-off container"):
            try:
                status = self.sched.api.wait(self.container_id, timeout=timeout)
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                raise SchedulerError("the one-off command did not end in time") from None
        return int(status.get("StatusCode", -1))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        shutdown(self._sock)
        with contextlib.suppress(Exception):
            self._stream.close()
        self.sched.remove_container(self.container_id)
