"""Helpers for tests that deploy real images on the Swarm: endpoints, fetches, a router stand-in."""
from __future__ import annotations

import subprocess
import threading
import time
import urllib.request

import requests

WEB = "slipway-test/web:1"
BROKEN = "slipway-test/broken:1"


def routes(ctl) -> dict:
    return requests.get(ctl.url + "/v2/routes", headers={"X-Slipway-Router-Auth": ctl.router_key}, timeout=30).json()


def endpoints(ctl, app_id: str) -> list[dict]:
    return next(a for a in routes(ctl)["apps"] if a["id"] == app_id)["endpoints"]


def fetch(ep: dict, path: str = "/") -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{ep['port']}{path}", timeout=5) as r:
        return r.read().decode()


def services(app_id: str) -> list[str]:
    out = subprocess.run(["docker", "service", "ls", "-q", "--filter", f"label=slipway.app={app_id}"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def settle(app_id: str, count: int, timeout: float = 20) -> list[str]:
    """The app's services once only `count` are left: replaced deployments go after the deploy answered
    (drain, then removal), within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while len(found := services(app_id)) != count:
        assert time.monotonic() < deadline, f"{len(found)} services of {app_id} after {timeout}s, not {count}"
        time.sleep(0.2)
    return found


def build(api, app_id: str, image: str = WEB, procfile: dict | None = None, sha: str = "") -> requests.Response:
    body = {"image": image, "sha": sha}
    if procfile is not None:
        body["procfile"] = procfile
    return api.post(f"/v2/apps/{app_id}/builds/", body)


class RouterStandIn:
    """Plays the router: follows /v2/routes, acknowledges each generation, and sends requests
    round-robin to exactly the endpoints it was told, counting failures (what a user would see)."""

    def __init__(self, ctl, app_id: str):
        self.ctl, self.app_id = ctl, app_id
        self.endpoints: list[dict] = []
        self.ok = self.failed = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._follow, daemon=True),
                         threading.Thread(target=self._load, daemon=True)]

    def __enter__(self):
        self._sync(None, 0)
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(10)

    def _sync(self, gen, wait) -> int | None:
        hdr = {"X-Slipway-Router-Auth": self.ctl.router_key}
        params = {"generation": gen, "wait": wait, "router": "stand-in"} if gen is not None else {}
        r = requests.get(self.ctl.url + "/v2/routes", headers=hdr, params=params, timeout=wait + 30)
        if r.status_code == 304:
            return gen
        body = r.json()
        app = next((a for a in body["apps"] if a["id"] == self.app_id), None)
        self.endpoints = list(app["endpoints"]) if app else []
        requests.post(self.ctl.url + "/v2/routes/ack/", json={"router": "stand-in", "generation": body["generation"]},
                      headers=hdr, timeout=30)
        return body["generation"]

    def _follow(self) -> None:
        gen = self._sync(None, 0)
        while not self._stop.is_set():
            gen = self._sync(gen, 2)

    def _load(self) -> None:
        i = 0
        while not self._stop.is_set():
            eps = self.endpoints
            if not eps:
                time.sleep(0.01)
                continue
            ep = eps[i % len(eps)]
            i += 1
            try:
                fetch(ep)
                self.ok += 1
            except OSError as exc:
                self.failed += 1
                self.errors.append(f"{ep}: {exc}")
            time.sleep(0.005)
