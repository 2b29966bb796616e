"""The node agent's view of its Docker Engine: the Slipway containers it runs, and their events as they happen.

Both over the Engine's UNIX socket (engine.EngineConnection). The event stream (`GET /events`, container
events of `slipway.managed=1` containers) is followed by a thread of its own that puts each event in the
agent's inbox; when the stream ends (the Engine restarts, its socket goes) the thread says so and connects
again with a growing pause (0.5 s doubling to 5 s). Each (re)connection is announced once the stream is open,
so the listing the agent then makes misses nothing: what changes after it arrives as events.
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


class EngineError(OSError):
    pass


class Engine:
    def __init__(self, socket_path: str, labels: list[str], timeout: float = 10.0):
        self.socket_path = socket_path
        self.labels = labels  # "key=value" filters every listed container (and event) must match
        self.timeout = timeout

    def get(self, path: str, query: dict | None = None):
        conn = EngineConnection(self.socket_path, timeout=self.timeout)
        target = path + ("?" + urllib.parse.urlencode(query) if query else "")
        try:
            conn.request("GET", target)
            r = conn.getresponse()
            body = r.read()
        except http.client.HTTPException as e:
            raise EngineError(f"GET {target}: {e!r}") from None
        finally:
            conn.close()
        if r.status == 404:
            return None
        if r.status != 200:
            raise EngineError(f"GET {target}: HTTP {r.status} {body[:200]!r}")
        return json.loads(body)

    def node_id(self) -> str:
        return str(((self.get("/info") or {}).get("Swarm") or {}).get("NodeID") or "")

    def container_ids(self) -> list[str]:
        """The running (and paused) containers that carry the labels."""
        listed = self.get("/containers/json", {"filters": json.dumps({"label": self.labels})}) or []
        return [c["Id"] for c in listed]

    def inspect(self, container: str) -> dict | None:
        return self.get(f"/containers/{urllib.parse.quote(container, safe='')}/json")


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
