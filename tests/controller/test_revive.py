"""An app whose serving services are gone (removed by hand, or lost with a reinstalled platform) is deployed
again by the controller with its serving release and structure, while a destroyed or busy app is left alone."""
from __future__ import annotations

import time

import docker

from tests.live import live_controller

from .conftest import register
from .deployhelp import build, endpoints, fetch, services
from .test_agent_monitor import until as wait
from .test_retire import deployments


def test_an_app_whose_services_are_gone_serves_again_with_its_release_and_structure():
    client = docker.from_env()
    with live_controller(SLIPWAY_REVIVE_INTERVAL="1", SLIPWAY_MONITOR_INTERVAL="1", SLIPWAY_DRAIN_SECONDS="0.5",
                         SLIPWAY_HEALTH_TIMEOUT="30") as ctl:
        user = register(ctl, "reviver")
        app_id = user.post("/v2/apps/", {}).json()["id"]
        assert build(user, app_id).status_code == 201
        r = user.post(f"/v2/apps/{app_id}/config/", {"values": {"MESSAGE": "kept"}})
        assert r.status_code == 201, r.text
        assert user.post(f"/v2/apps/{app_id}/scale/", {"cmd": 2}).status_code == 204
        releases_before = user.get(f"/v2/apps/{app_id}/releases/").json()["count"]
        serving = max(i for i, status in deployments(ctl, app_id) if status == "succeeded")

        for service in client.services.list(filters={"label": f"slipway.app={app_id}"}):
            service.remove()
        wait(lambda: not services(app_id), 30, "the services to go")

        # the old containers may answer for a moment after their service is gone: wait for the new deployment
        wait(lambda: (row := deployments(ctl, app_id)[-1])[0] > serving and row[1] == "succeeded", 90, "a new deployment to serve")
        wait(lambda: len(endpoints(ctl, app_id)) == 2 and all(
            fetch(e).startswith("kept release=v3") for e in endpoints(ctl, app_id)), 90, "the app to serve again")
        assert len(services(app_id)) == 1
        rows = deployments(ctl, app_id)
        assert rows[-1][0] > serving and rows[-1][1] == "succeeded", rows
        # the same release, no new one; the history says why it was deployed again
        assert user.get(f"/v2/apps/{app_id}/releases/").json()["count"] == releases_before
        assert [p["type"] for p in user.get(f"/v2/apps/{app_id}/pods/").json()["results"]] == ["cmd", "cmd"]

        # a destroyed app is not brought back
        assert user.delete(f"/v2/apps/{app_id}/").status_code == 204
        time.sleep(3)
        assert not services(app_id)
