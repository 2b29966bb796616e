#!/usr/bin/env python3
"""config:set → serving against a real controller and the local Swarm (a benchmark, not a test).

Starts the controller (tests/live.py: uvicorn, fresh PostgreSQL database, real Swarm scheduler), deploys
slipway-test/web:1 for one app, then plays a router (long-polls /v2/routes, acknowledges each generation
at once, as a route sync does after its nginx reload) and times, per `POST /v2/apps/{id}/config/`:
  - answer: until the POST answers (it blocks until the new release serves and routers acknowledged),
  - serving: until a request to the endpoints the router was given first gets the new value,
and where the time goes, from watching the Swarm meanwhile: new service created, its task running, routes
switched (the router saw the new generation), acknowledged, answered; and when the old service was gone.

    scripts/dev-services.sh && scripts/build-test-image.sh web
    .venv/bin/python bench/deploy_bench.py [--rounds 5] [--drain 1]
Writes bench/results/deploy.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import urllib.request

import docker
import docker.errors
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.live import live_controller  # noqa: E402

IMAGE = "slipway-test/web:1"


class Router:
    """Follows /v2/routes like the route sync and acknowledges each generation as soon as it has it."""

    def __init__(self, ctl, app_id: str):
        self.ctl, self.app_id = ctl, app_id
        self.hdr = {"X-Slipway-Router-Auth": ctl.router_key}
        self.endpoints: list[dict] = []
        self.switched: list[tuple[float, int]] = []  # (time, generation)
        self._stop = threading.Event()
        self.gen = self._sync(None)
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _sync(self, gen) -> int:
        params = {"generation": gen, "wait": 5, "router": "bench"} if gen is not None else {"router": "bench"}
        r = requests.get(self.ctl.url + "/v2/routes", headers=self.hdr, params=params, timeout=30)
        if r.status_code == 304:
            return gen
        body = r.json()
        app = next((a for a in body["apps"] if a["id"] == self.app_id), None)
        self.endpoints = list(app["endpoints"]) if app else []
        self.switched.append((time.time(), body["generation"]))
        requests.post(self.ctl.url + "/v2/routes/ack/", json={"router": "bench", "generation": body["generation"]},
                      headers=self.hdr, timeout=30)
        return body["generation"]

    def _follow(self) -> None:
        while not self._stop.is_set():
            self.gen = self._sync(self.gen)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


class SwarmWatch:
    """Polls the app's services and tasks: when each deployment's service appeared, ran, and went."""

    def __init__(self, app_id: str):
        self.api = docker.APIClient()
        self.app_id = app_id
        self.seen: dict[str, float] = {}
        self.running: dict[str, float] = {}
        self.gone: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            services = self.api.services(filters={"label": f"slipway.app={self.app_id}"})
            names = {s["ID"]: s["Spec"]["Labels"]["slipway.deployment"] for s in services}
            for dep in names.values():
                self.seen.setdefault(dep, now)
            for dep in set(self.seen) - set(names.values()):
                self.gone.setdefault(dep, now)
            try:
                tasks = self.api.tasks(filters={"service": list(names)}) if names else []
            except docker.errors.NotFound:  # a service went between the two calls
                tasks = []
            for t in tasks:
                if t["Status"]["State"] == "running" and t["ServiceID"] in names:
                    self.running.setdefault(names[t["ServiceID"]], now)
            time.sleep(0.02)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


def fetch(ep: dict) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ep['port']}/", timeout=2) as r:
            return r.read().decode()
    except OSError:
        return ""


def first_served(router: Router, message: str, t0: float, found: dict) -> None:
    """Record when a request to the router's endpoints first gets the new release's answer."""
    while not any(fetch(ep).startswith(message + " ") for ep in router.endpoints):
        if time.time() - t0 > 60:
            return
        time.sleep(0.005)
    found["at"] = time.time()


def one_round(ctl, api, router: Router, watch: SwarmWatch, app_id: str, n: int) -> dict:
    message = f"round{n}"
    served: dict = {}
    t0 = time.time()
    probe = threading.Thread(target=first_served, args=(router, message, t0, served), daemon=True)
    probe.start()
    r = api.post(f"{ctl.url}/v2/apps/{app_id}/config/", json={"values": {"MESSAGE": message}}, timeout=120)
    answered = time.time()
    assert r.status_code == 201, r.text
    probe.join(60)
    assert "at" in served, "the new release never served"
    serving = served["at"]
    deps = sorted(watch.seen, key=int)
    new = deps[-1]
    switched = next((t for t, _ in router.switched if t > t0), None)
    old = deps[-2] if len(deps) > 1 else None
    deadline = time.time() + 30
    while old and old not in watch.gone and time.time() < deadline:
        time.sleep(0.02)
    at = lambda t: round(t - t0, 3) if t else None  # noqa: E731
    return {"answer_s": at(answered), "serving_s": at(serving), "service_created_s": at(watch.seen.get(new)),
            "task_running_s": at(watch.running.get(new)), "routes_switched_s": at(switched),
            "old_service_gone_s": at(watch.gone.get(old)) if old else None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--drain", default="1")
    args = ap.parse_args()
    with live_controller(SLIPWAY_DRAIN_SECONDS=args.drain) as ctl:
        api = requests.Session()
        user = {"username": "bench", "password": "bench-pw"}
        r = api.post(ctl.url + "/v2/auth/register/", json=user, timeout=30,  # registered by the admin
                     headers={"Authorization": f"token {ctl.admin_token}"})
        assert r.status_code == 201, r.text
        r = api.post(ctl.url + "/v2/auth/login/", json=user, timeout=30)
        api.headers["Authorization"] = f"token {r.json()['token']}"
        app_id = api.post(ctl.url + "/v2/apps/", json={}, timeout=30).json()["id"]
        watch = SwarmWatch(app_id)
        router = Router(ctl, app_id)
        try:
            r = api.post(f"{ctl.url}/v2/apps/{app_id}/builds/", json={"image": IMAGE}, timeout=120)
            assert r.status_code == 201, r.text
            rounds = [one_round(ctl, api, router, watch, app_id, n) for n in range(1, args.rounds + 1)]
        finally:
            router.close()
            watch.close()
            api.delete(f"{ctl.url}/v2/apps/{app_id}/", timeout=120)
    keys = list(rounds[0])
    print(f"| config:set, {args.rounds} rounds, drain {args.drain}s (seconds from the POST) | "
          + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for i, r in enumerate(rounds, 1):
        print(f"| round {i} | " + " | ".join(str(r[k]) for k in keys) + " |")
    medians = {k: round(statistics.median(r[k] for r in rounds if r[k] is not None), 3) for k in keys
               if any(r[k] is not None for r in rounds)}
    print("| median | " + " | ".join(str(medians.get(k)) for k in keys) + " |")
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "deploy.json"), "w") as f:
        json.dump({"drain_seconds": float(args.drain), "rounds": rounds, "median": medians}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
