"""The Swarm manager's node and service events, for the monitor (services/monitor.py): a node that goes down or
comes back, a service created, updated or removed, told as they happen instead of found by listing.

The stream is asked for in windows of `window` seconds (Docker's `since`/`until`), each window starting where
the last ended, so nothing is missed between two windows, a manager that vanished without closing the connection
is noticed within a window, and `stop` is looked at between windows.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

import docker
import docker.errors
import requests.exceptions

from .engine import SwarmEngine, log

KINDS = ("node", "service")


class SwarmEvents(SwarmEngine):
    def watch(self, changed: Callable[[str], None], stop: threading.Event, window: float = 30.0,
              retry: float = 2.0) -> bool:
        """Call changed("node") or changed("service") for each such event, changed("connected") when the stream
        starts or starts again (what happened meanwhile is unknown), changed("lost") when it breaks (tried again
        after `retry` seconds), until `stop` is set. True: this scheduler has such events."""
        since: int | None = None  # where the next window starts (unix seconds); None: from now
        while not stop.is_set():
            try:
                client = docker.APIClient(base_url=self.docker_url, version=self.api.api_version,
                                          tls=self.tls or False, timeout=self.api_timeout)
            except Exception as exc:  # noqa: BLE001 - the manager is down: try again
                self._lost(changed, exc, stop, retry)
                since = None
                continue
            try:
                while not stop.is_set():
                    now = int(time.time())
                    until = now + max(1, int(window))
                    stream = client.events(since=since or now, until=until, decode=True,
                                           filters={"type": list(KINDS)})
                    if since is None:
                        changed("connected")
                    since = until
                    for event in stream:
                        if event.get("Type") in KINDS:
                            changed(event["Type"])
            except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
                self._lost(changed, exc, stop, retry)
                since = None
            finally:
                client.close()
        return True

    @staticmethod
    def _lost(changed: Callable[[str], None], exc: Exception, stop: threading.Event, retry: float) -> None:
        log.warning("swarm events: %s; watching again in %ss", type(exc).__name__, retry)
        changed("lost")
        stop.wait(retry)
