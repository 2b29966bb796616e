"""The node agent's view of its Docker Engine: the Slipway containers it runs, their events as they happen, and
what the probes ask of it (a command run in a container, a container stopped).

Both over the Engine's UNIX socket (engine.EngineConnection). The event stream (`GET /events`, container
events of `slipway.managed=1` containers) is followed by a thread of its own that puts each event in the
agent's inbox; when the stream ends (the Engine restarts, its socket goes) the thread says so and connects
again with a growing pause (0.5 s doubling to 5 s). Each (re)connection is announced once the stream is open,
so the listing the agent then makes misses nothing: what changes after it arrives as events.

An exec probe is `POST /containers/{id}/exec` (output not attached), `POST /exec/{id}/start` detached, then
`GET /exec/{id}/json` until it no longer runs; a liveness restart is `POST /containers/{id}/stop?t=10`.
"""
from __future__ import annotations

import http.client
import json
import logging
import queue
import threading
import urllib.parse

from .engine import EngineConnection

log = logging.getLogger("slipway.nodeagent")

EVENTS = ("start", "die", "stop", "kill", "destroy", "oom")
CONNECTED, DISCONNECTED, EVENT = "connected", "disconnected", "event"


BODY_LIMIT = 16 * 1024 * 1024  # an answer of the Engine's read at most (a listing of many containers fits)


class EngineError(OSError):
    pass


def quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _message(body: bytes) -> str:
    """The Engine's error message (printable, 200 characters at most)."""
    try:
        text = str(json.loads(body).get("message") or "")
    except (ValueError, AttributeError):
        text = body.decode("utf-8", "replace")
    return "".join(c if c.isprintable() else "?" for c in text)[:200]


class Engine:
    def __init__(self, socket_path: str, labels: list[str], timeout: float = 10.0):
        self.socket_path = socket_path
        self.labels = labels  # "key=value" filters every listed container (and event) must match
        self.timeout = timeout

    def call(self, method: str, path: str, query: dict | None = None, body: dict | None = None,
             timeout: float | None = None) -> tuple[int, bytes]:
        conn = EngineConnection(self.socket_path, timeout=timeout or self.timeout)
        target = path + ("?" + urllib.parse.urlencode(query) if query else "")
        try:
            conn.request(method, target, body=None if body is None else json.dumps(body).encode(),
                         headers={"Content-Type": "application/json"} if body is not None else {})
            r = conn.getresponse()
            data = r.read(BODY_LIMIT + 1)
        except http.client.HTTPException as e:
            raise EngineError(f"{method} {target}: {e!r}") from None
        finally:
            conn.close()
        if len(data) > BODY_LIMIT:
            raise EngineError(f"{method} {target}: an answer over {BODY_LIMIT} bytes")
        return r.status, data

    def get(self, path: str, query: dict | None = None):
        status, body = self.call("GET", path, query)
        if status == 404:
            return None
        if status != 200:
            raise EngineError(f"GET {path}: HTTP {status} {body[:200]!r}")
        return json.loads(body)

    def node_id(self) -> str:
        return str(((self.get("/info") or {}).get("Swarm") or {}).get("NodeID") or "")

    def container_ids(self) -> list[str]:
        """The running (and paused) containers that carry the labels."""
        listed = self.get("/containers/json", {"filters": json.dumps({"label": self.labels})}) or []
        return [c["Id"] for c in listed]

    def inspect(self, container: str) -> dict | None:
        return self.get(f"/containers/{quote(container)}/json")

    # ---- what the probes and the liveness restarts ask of it ------------------------------------------
    def exec_start(self, container: str, command: list[str]) -> str:
        """Start `command` in the container, detached, its output not attached (it goes nowhere): as the container's
        own user, in its own namespaces, cgroup and capabilities. The exec's id."""
        status, body = self.call("POST", f"/containers/{quote(container)}/exec", body={
            "Cmd": command, "AttachStdin": False, "AttachStdout": False, "AttachStderr": False, "Tty": False,
            "Privileged": False})
        if status != 201:
            raise EngineError(f"exec in {container[:12]}: HTTP {status} {_message(body)}")
        exec_id = str(json.loads(body).get("Id") or "")
        status, body = self.call("POST", f"/exec/{quote(exec_id)}/start", body={"Detach": True, "Tty": False})
        if status != 200:
            raise EngineError(f"exec in {container[:12]} did not start: HTTP {status} {_message(body)}")
        return exec_id

    def exec_state(self, exec_id: str) -> tuple[bool, int | None]:
        """(still running, exit code) of an exec; (False, None) for one the Engine no longer knows."""
        found = self.get(f"/exec/{quote(exec_id)}/json") or {}
        code = found.get("ExitCode")
        return bool(found.get("Running")), code if isinstance(code, int) else None

    def stop_container(self, container: str, grace: int = 10) -> None:
        """A graceful stop: SIGTERM (or the image's stop signal), SIGKILL after `grace` seconds."""
        status, body = self.call("POST", f"/containers/{quote(container)}/stop", {"t": str(grace)},
                                 timeout=grace + self.timeout)
        if status not in (204, 304, 404):  # stopped, already stopped, already gone
            raise EngineError(f"stop {container[:12]}: HTTP {status} {_message(body)}")


class Watcher:
    """Follows the Engine's container events of the labelled containers, for as long as the agent runs."""

    def __init__(self, engine: Engine, inbox: queue.Queue, stop: threading.Event):
        self.engine, self.inbox, self.stop = engine, inbox, stop
        self.conn: EngineConnection | None = None
        self.opened = False

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="slipway-node-events", daemon=True)
        thread.start()
        return thread

    def follow(self) -> None:
        filters = {"type": ["container"], "label": self.engine.labels, "event": list(EVENTS)}
        self.conn = EngineConnection(self.engine.socket_path, timeout=None)  # an idle stream waits for ever
        self.conn.request("GET", "/events?" + urllib.parse.urlencode({"filters": json.dumps(filters)}))
        r = self.conn.getresponse()
        if r.status != 200:
            raise EngineError(f"GET /events: HTTP {r.status}")
        self.opened = True
        self.inbox.put((CONNECTED, None))
        while not self.stop.is_set():
            line = r.readline()
            if not line:
                return
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                self.inbox.put((EVENT, event))

    def run(self) -> None:
        pause = 0.5
        while not self.stop.is_set():
            self.opened = False
            try:
                self.follow()
                if not self.stop.is_set():
                    log.warning("Engine event stream ended; connecting again")
            except (OSError, http.client.HTTPException) as e:
                log.warning("Engine events: %s (connecting again in %.1fs)", e, pause)
            finally:
                if self.conn is not None:
                    self.conn.close()
            if self.opened:
                self.inbox.put((DISCONNECTED, None))
                pause = 0.5
            if self.stop.wait(pause):
                return
            if not self.opened:
                pause = min(pause * 2, 5.0)

    def close(self) -> None:
        conn = self.conn
        if conn is not None and conn.sock is not None:
            try:
                conn.sock.shutdown(2)
            except OSError:
                pass
