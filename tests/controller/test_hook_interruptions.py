"""What the pusher hears when the hook's deploy cannot go on: another deploy of the app holds it past the deploy
timeout, or the controller restarts while the release waits its turn or while it is being deployed. The release
ends `failed` with a reason that says so, and nothing stays locked."""
from __future__ import annotations

import time

import pytest

from tests.live import live_controller

from .conftest import REGISTRY, register
from .deployhelp import BROKEN, endpoints, fetch, services
from .hookhelp import DeployLock, app_image, follow, follow_until_settled
from .test_push_tokens import hook, push_token


@pytest.fixture(scope="module")
def ctl2():
    with live_controller(SLIPWAY_DEPLOY_TIMEOUT="3", SLIPWAY_HEALTH_TIMEOUT="30", SLIPWAY_DRAIN_SECONDS="0",
                         SLIPWAY_MONITOR_INTERVAL="1", SLIPWAY_REGISTRY=REGISTRY) as controller:
        yield controller


@pytest.fixture
def pusher(ctl2):
    user = register(ctl2, f"pusher-{time.monotonic_ns() % 10**8}")
    app_id = user.post("/v2/apps/", {}).json()["id"]
    return user, app_id, push_token(ctl2, user.username, app_id)["push_token"]


def test_another_deploy_in_progress_fails_the_release_with_that_reason(ctl2, pusher):
    user, app_id, token = pusher
    image = app_image(app_id)
    with DeployLock(ctl2, user, app_id):
        r = hook(ctl2, "build", token, {"image": image})
        assert r.status_code == 201 and r.json()["release"] == {"version": 2, "state": "deploying"}, r.text
        settled = follow_until_settled(ctl2, token, 2, timeout=30)
    assert settled["state"] == "failed", settled
    assert settled["reason"] == f"Another deploy of {app_id} is in progress; try again when it has finished."
    r = hook(ctl2, "build", token, {"image": image})  # once it has finished, a push goes through
    assert follow_until_settled(ctl2, token, r.json()["release"]["version"])["state"] == "serving"


def test_a_restart_while_the_release_waits_its_turn_fails_it(ctl2, pusher):
    user, app_id, token = pusher
    with DeployLock(ctl2, user, app_id):
        r = hook(ctl2, "build", token, {"image": app_image(app_id)})
        assert r.json()["release"] == {"version": 2, "state": "deploying"}, r.text
        ctl2.restart(kill=True)
        r = follow(ctl2, token, 2, wait=0)  # failed at start-up, though the app's lock is still held
        assert r.status_code == 200 and r.json()["state"] == "failed" and "restarted" in r.json()["reason"], r.text
    assert user.get(f"/v2/apps/{app_id}/releases/v2/").json()["failed"] is True


def test_a_restart_mid_deploy_fails_the_release_and_the_next_push_works(ctl2, pusher):
    user, app_id, token = pusher
    good, broken = app_image(app_id, "git-good"), app_image(app_id, "git-broken", source=BROKEN)
    assert follow_until_settled(ctl2, token, hook(ctl2, "build", token, {"image": good})
                                .json()["release"]["version"])["state"] == "serving"
    r = hook(ctl2, "build", token, {"image": broken})  # never healthy: in progress for the 30 s health timeout
    assert r.json()["release"] == {"version": 3, "state": "deploying"}, r.text
    deadline = time.monotonic() + 20
    while len(services(app_id)) < 2:
        assert time.monotonic() < deadline, "the deploy of v3 never started"
        time.sleep(0.2)
    ctl2.restart(kill=True)
    r = follow(ctl2, token, 3, wait=10)
    assert r.status_code == 200 and r.json()["state"] == "failed" and "restarted" in r.json()["reason"], r.text
    assert len(services(app_id)) == 1 and fetch(endpoints(ctl2, app_id)[0]).startswith("hello release=v2")
    r = hook(ctl2, "build", token, {"image": good})
    assert follow_until_settled(ctl2, token, r.json()["release"]["version"])["state"] == "serving"
    assert fetch(endpoints(ctl2, app_id)[0]).startswith("hello release=v4")
