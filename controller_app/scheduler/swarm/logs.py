"""Logs of an app's Swarm services: the recent lines (`logs`), and a live stream of new lines
(`open_log_stream`, `follow_logs`) that also picks up the services of new deployments."""
from __future__ import annotations

import contextlib
import datetime
import heapq
import threading
import time
from typing import Iterator

import docker.errors

from ..base import LogPosition, LogStream, SchedulerError, line_digest
from ..names import check_app, check_type
from .engine import SwarmEngine, log
from .labels import L_TYPE
from .sockets import response_socket, shutdown


def _ts_key(ts: str) -> str:
    """RFC 3339 (nano) timestamp -> a string that sorts chronologically (fraction padded to 9 digits)."""
    if not ts:
        return ""
    base, _unused, frac = ts.rstrip("Z").partition(".")
    return f"{base}.{frac.ljust(9, '0')[:9]}"


def _stamp_key(epoch: float) -> str:
    """A time.time() value -> the sort key of a log line stamped then."""
    return _ts_key(datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def _ts_epoch(ts: str) -> str:
    """RFC 3339 (nano) timestamp -> "<seconds>.<nanos>" for the logs API's `since`."""
    base, _unused, frac = ts.rstrip("Z").partition(".")
    seconds = int(datetime.datetime.fromisoformat(base).replace(tzinfo=datetime.timezone.utc).timestamp())
    return f"{seconds}.{frac.ljust(9, '0')[:9]}"


class SwarmLogs(SwarmEngine):
    """The recent lines of an app's services, and live streams of them."""

    def _log_entries(self, services: list[dict], tail: int | str = "all", since: str | None = None):
        """(sort key, timestamp, prefix, message) of the services' log lines (not merged)."""
        slots = {t["ID"]: t.get("Slot") for t in self.service_tasks(services)}
        entries = []
        for service in services:
            proc_type = service["Spec"].get("Labels", {}).get(L_TYPE, "?")
            kwargs = {"since": since} if since else {}
            with self.errors(f"read logs of service {service['Spec']['Name']}"):
                try:
                    chunks = self.api.service_logs(service["ID"], details=True, stdout=True, stderr=True,
                                                   timestamps=True, tail=tail, is_tty=False, **kwargs)
                    data = b"".join(chunks)
                except docker.errors.NotFound:
                    continue
            for raw in data.decode(errors="replace").splitlines():
                ts, _unused, rest = raw.partition(" ")
                details, _unused, message = rest.partition(" ")
                if "com.docker.swarm" not in details:  # no details field: the message starts here
                    details, message = "", rest
                attrs = dict(kv.split("=", 1) for kv in details.split(",") if "=" in kv)
                slot = slots.get(attrs.get("com.docker.swarm.task.id", ""))
                prefix = f"{proc_type}.{slot if slot is not None else '?'}"
                entries.append((_ts_key(ts), ts, prefix, message))
        entries.sort(key=lambda e: e[0])
        return entries

    def logs(self, app: str, lines: int = 100, proc_type: str | None = None) -> str:
        return "".join(line + "\n" for _key, line in self.log_entries(app, lines, proc_type))

    def log_entries(self, app: str, lines: int = 100, proc_type: str | None = None) -> list[tuple[str, str]]:
        lines = max(0, int(lines))
        if lines == 0:
            return []
        services = self.services(app, proc_type=proc_type)
        entries = self._log_entries(services, tail=lines)[-lines:]
        return [(key, f"{prefix}: {message}") for key, _unused, prefix, message in entries]

    def follow_logs(self, app: str, proc_type: str | None = None, interval: float = 1.0) -> Iterator[str]:
        """New log lines as they come (new deployments included); closing the generator stops the streams."""
        stream = self.open_log_stream(app, proc_type=proc_type, poll=interval)
        try:
            while True:
                yield from stream.read(timeout=1.0)
        finally:
            stream.close()

    def open_log_stream(self, app: str, proc_type: str | None = None, lines: int = 0,
                        poll: float = 1.0, after: LogPosition | None = None) -> "SwarmLogStream":
        check_app(app)
        if proc_type is not None:
            check_type(proc_type)
        start = time.time()
        backlog = []
        if lines > 0 and after is None:
            # the recent lines are those before the stream's start: what comes while they are read is the
            # stream's, so each task's lines stay in order however long the read takes
            services = self.services(app, proc_type=proc_type)
            start_key = _stamp_key(start)
            entries = self._log_entries(services, tail=lines) if services else []
            backlog = [e for e in entries if e[0] < start_key][-lines:]
        return SwarmLogStream(self, app, proc_type, start, backlog, poll, after)


class SwarmLogStream(LogStream):
    """One thread per service streams its logs (`follow`); a watcher thread finds new services (a new
    release) every `poll` seconds and refreshes task slots. Lines wait `reorder` seconds in a heap so that
    lines of different tasks come out by their timestamps. Resuming `after` a position, the streams start at
    its time and skip the lines it saw there. close() shuts every HTTP stream down."""

    reorder = 0.3
    max_pending = 20000

    def __init__(self, sched: SwarmEngine, app: str, proc_type: str | None, start: float,
                 backlog: list, poll: float, after: LogPosition | None = None):
        self.sched, self.app, self.proc_type, self.poll = sched, app, proc_type, max(0.2, poll)
        self.start_key = _stamp_key(start)
        self.since = f"{start:.6f}"
        self._skip: frozenset[str] = frozenset()
        if after is not None:
            self.start_key, self.since, self._skip = after.key, _ts_epoch(after.key), after.seen
        self._ready = [(key, f"{prefix}: {message}") for key, _unused, prefix, message in backlog]
        self._heap: list = []
        self._seq = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._streams: dict[str, dict] = {}  # service id -> {"thread", "response", "last": ts}
        self._slots: dict[str, int] = {}
        self._lock = threading.Lock()
        self.error: str | None = None
        self._watcher = threading.Thread(target=self._watch, name=f"logs-{app}", daemon=True)
        self._watcher.start()

    # -- consumer side
    def read(self, timeout: float = 1.0) -> list[str]:
        return [line for _key, line in self.read_entries(timeout)]

    def read_entries(self, timeout: float = 1.0) -> list[tuple[str, str]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                out, self._ready = self._ready, []
                while self._heap and (self._heap[0][2] + self.reorder <= now or self._stop.is_set()):
                    key, _seq, _arrived, line = heapq.heappop(self._heap)
                    out.append((key, line))
                if out or self._stop.is_set() or now >= deadline:
                    return out
                wait = deadline - now
                if self._heap:
                    wait = min(wait, max(0.01, self._heap[0][2] + self.reorder - now))
                self._cond.wait(wait)

    def close(self) -> None:
        with self._lock:  # under the lock: the watcher starts no stream after this
            if self._stop.is_set():
                return
            self._stop.set()
            streams = list(self._streams.values())
        for st in streams:
            response = st.get("response")
            if response is not None:
                shutdown(response_socket(response))
                with contextlib.suppress(Exception):
                    response.close()
        with self._cond:
            self._cond.notify_all()
        for st in streams:
            thread = st.get("thread")
            if thread is not None and thread is not threading.current_thread():
                thread.join(5)
        if self._watcher is not threading.current_thread():
            self._watcher.join(5)

    @property
    def threads(self) -> list[threading.Thread]:
        """Threads still alive (tests check that close() ended them all)."""
        with self._lock:
            found = [st["thread"] for st in self._streams.values() if st.get("thread")]
        return [t for t in [self._watcher, *found] if t.is_alive()]

    # -- producer side
    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                services = self.sched.services(self.app, proc_type=self.proc_type)
                slots = {t["ID"]: t.get("Slot") for t in self.sched.service_tasks(services)}
                with self._lock:
                    if self._stop.is_set():
                        return
                    self._slots.update(slots)
                    for service in services:
                        st = self._streams.get(service["ID"])
                        if st is None or not st["thread"].is_alive():
                            since = self.since if st is None or not st.get("last") else _ts_epoch(st["last"])
                            st = {"last": (st or {}).get("last"), "response": None}
                            st["thread"] = threading.Thread(target=self._follow, args=(service, since, st),
                                                            name=f"logs-{service['Spec']['Name']}", daemon=True)
                            self._streams[service["ID"]] = st
                            st["thread"].start()
                    live = {s["ID"] for s in services}
                    for sid in [sid for sid, st in self._streams.items()
                                if sid not in live and not st["thread"].is_alive()]:
                        del self._streams[sid]
                self.error = None
            except SchedulerError as exc:
                self.error = str(exc)
                log.warning("following logs of %s: %s", self.app, exc)
            except Exception:  # noqa: BLE001 - the watcher must outlive one bad answer
                log.exception("following logs of %s", self.app)
            self._stop.wait(self.poll)

    def _follow(self, service: dict, since: str, st: dict) -> None:
        api = self.sched.api
        proc_type = service["Spec"].get("Labels", {}).get(L_TYPE, "?")
        params = {"follow": 1, "stdout": 1, "stderr": 1, "timestamps": 1, "details": 1, "since": since,
                  "tail": "all"}
        try:
            url = api._url("/services/{0}/logs", service["ID"])  # noqa: SLF001
            # bounded wait for the answer's head (a stream must not hang where close() cannot reach it);
            # the stream helper below lifts the socket timeout for the endless body
            response = api._get(url, params=params, stream=True, timeout=(10, 10))  # noqa: SLF001
            with self._lock:
                st["response"] = response
                stopped = self._stop.is_set()
            if stopped:
                return
            api._raise_for_status(response)  # noqa: SLF001
            pending = b""
            for chunk in api._multiplexed_response_stream_helper(response):  # noqa: SLF001
                if self._stop.is_set():
                    break
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for raw in complete:
                    self._line(raw.decode(errors="replace"), proc_type, st)
            if pending and not self._stop.is_set():
                self._line(pending.decode(errors="replace"), proc_type, st)
        except Exception as exc:  # noqa: BLE001 - a stream that ends (service removed, close()) just ends
            if not self._stop.is_set():
                log.debug("log stream of %s ended: %s", service["Spec"]["Name"], type(exc).__name__)
        finally:
            response = st.get("response")
            if response is not None:
                with contextlib.suppress(Exception):
                    response.close()

    def _line(self, raw: str, proc_type: str, st: dict) -> None:
        ts, _unused, rest = raw.partition(" ")
        details, _unused, message = rest.partition(" ")
        if "com.docker.swarm" not in details:
            details, message = "", rest
        attrs = dict(kv.split("=", 1) for kv in details.split(",") if "=" in kv)
        task_id = attrs.get("com.docker.swarm.task.id", "")
        with self._lock:
            slot = self._slots.get(task_id)
        if slot is None and task_id:
            with contextlib.suppress(Exception):
                for t in self.sched.api.tasks(filters={"id": task_id}):
                    slot = t.get("Slot")
                    with self._lock:
                        self._slots[task_id] = slot
        prefix = f"{proc_type}.{slot if slot is not None else '?'}"
        key = _ts_key(ts)
        if key < self.start_key:
            return
        if key == self.start_key and self._skip and line_digest(f"{prefix}: {message}") in self._skip:
            return
        if st.get("last") and key <= _ts_key(st["last"]) and (key, prefix, message) in st.setdefault("recent", set()):
            return
        if st.get("last") != ts:
            st["recent"] = set()
        st["last"] = ts
        st.setdefault("recent", set()).add((key, prefix, message))
        with self._cond:
            if len(self._heap) >= self.max_pending:  # a reader that does not keep up loses the oldest lines
                heapq.heappop(self._heap)
            self._seq += 1
            heapq.heappush(self._heap, (key, self._seq, time.monotonic(), f"{prefix}: {message}"))
            self._cond.notify_all()
