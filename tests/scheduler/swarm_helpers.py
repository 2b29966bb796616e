"""Helpers for the Swarm scheduler tests: process specs, waiting for tasks, requests to them, Docker look-ups."""
from __future__ import annotations

import time
import urllib.error
import urllib.request

from controller_app.scheduler.base import ProcessSpec

WEB = "slipway-test/web:1"
TICKER = 'i=0; while true; i=$((i+1)); do echo "tick $i from $(hostname)"; sleep 0.5; done'


def spec(app, *, deployment=1, proc_type="web", replicas=1, env=None, command=None, routable=None,
         release=1, image=WEB, **kw):
    routable = proc_type in ("web", "cmd") if routable is None else routable
    env = {"PORT": "5000", "SLIPWAY_APP": app, "SLIPWAY_RELEASE": f"v{release}", **(env or {})}
    return ProcessSpec(app=app, release=release, deployment=deployment, proc_type=proc_type, image=image,
                       command=command, replicas=replicas, env=env, port=5000, routable=routable, **kw)


def wait_for(what, predicate, timeout=40.0, interval=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def running(sched, app, count, deployment=None, routable=True):
    """Wait until exactly `count` tasks run (with endpoints when routable); return them."""
    def check():
        tasks = sched.tasks(app, deployment)
        ok = len(tasks) == count and all(t.state == "running" for t in tasks)
        if routable:
            ok = ok and all(t.endpoint for t in tasks)
        return tasks if ok else None
    return wait_for(f"{count} running tasks of {app}", check)


def get(endpoint, path="/"):
    assert endpoint.address == "127.0.0.1"
    url = f"http://127.0.0.1:{endpoint.port}{path}"
    deadline = time.monotonic() + 15
    while True:  # the port is published a moment before httpd listens
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.status, resp.read().decode()
        except (urllib.error.URLError, ConnectionError) as exc:
            if isinstance(exc, urllib.error.HTTPError) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def service_of(docker_client, app, deployment=None, proc_type=None):
    labels = [f"slipway.app={app}"]
    if deployment is not None:
        labels.append(f"slipway.deployment={deployment}")
    if proc_type is not None:
        labels.append(f"slipway.type={proc_type}")
    services = docker_client.services.list(filters={"label": labels})
    assert len(services) == 1, services
    return services[0]


def container_ids(docker_client, app):
    return {c.id for c in docker_client.containers.list(filters={"label": f"slipway.app={app}"})}


def oneoffs(docker_client, app):
    return docker_client.containers.list(all=True, filters={"label": [f"slipway.app={app}", "slipway.oneoff=1"]})
