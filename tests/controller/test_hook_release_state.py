"""The builder's hook answers at once with the release it made, `deploying`, and the builder follows that
release's state (GET /v2/hooks/releases/{version}/?wait=) to `serving` or `failed` with the reason; deploys of
one app go in the order their releases were made; waiting followers and routers hold no thread."""
from __future__ import annotations

import concurrent.futures
import threading
import time

import requests

from .conftest import REGISTRY
from .deployhelp import endpoints, fetch
from .hookhelp import DeployLock, app_image, follow, follow_until_settled
from .test_push_tokens import hook, push_token


def releases_of(api, app_id: str) -> dict[int, dict]:
    return {r["version"]: r for r in api.get(f"/v2/apps/{app_id}/releases/").json()["results"]}


def test_the_hook_answers_deploying_and_the_follower_sees_it_serve(ctl, owner, app_id):
    image = app_image(app_id)
    token = push_token(ctl, owner.username, app_id)["push_token"]
    with DeployLock(ctl, owner, app_id) as lock:  # the deploy cannot have finished when the hook answers
        r = hook(ctl, "build", token, {"image": image, "sha": "0123456789abcdef"})
        assert r.status_code == 201, r.text
        answer = r.json()
        assert answer["release"] == {"version": 2, "state": "deploying"}, answer
        assert answer["url"] == f"{app_id}.slipway.test" and answer["build"]
        assert releases_of(owner, app_id)[2]["state"] == "deploying"
        started = time.monotonic()
        r = follow(ctl, token, 2, wait=0)  # at once
        assert r.status_code == 200 and r.json() == {"version": 2, "state": "deploying", "reason": ""}, r.text
        assert time.monotonic() - started < 2
        r = follow(ctl, token, 2, wait=1)  # the wait ends: still deploying
        assert r.status_code == 200 and r.json()["state"] == "deploying"
        assert 0.9 <= time.monotonic() - started < 5
        waiting = concurrent.futures.ThreadPoolExecutor(1).submit(follow, ctl, token, 2, 50)
        time.sleep(0.5)
        lock.release()
        r = waiting.result(timeout=60)  # answered when the state changed, not after the 50 s
    assert r.status_code == 200 and r.json() == {"version": 2, "state": "serving", "reason": ""}, r.text
    assert time.monotonic() - started < 40
    v2 = releases_of(owner, app_id)[2]
    assert v2["state"] == "serving" and v2["failed"] is False and v2["build"] == answer["build"]
    assert releases_of(owner, app_id)[1]["state"] == "serving"  # no build: nothing to deploy
    assert fetch(endpoints(ctl, app_id)[0]).startswith("hello release=v2")
    r = follow(ctl, token, 2, wait=30)  # settled: at once, whatever the wait
    assert r.json()["state"] == "serving"


def test_a_failed_deploy_is_followed_to_failed_with_its_reason(ctl, owner, app_id):
    token = push_token(ctl, owner.username, app_id)["push_token"]
    r = hook(ctl, "build", token, {"image": f"{REGISTRY}/{app_id}:not-there"})  # no node can pull it
    assert r.status_code == 201 and r.json()["release"] == {"version": 2, "state": "deploying"}, r.text
    settled = follow_until_settled(ctl, token, 2)
    assert settled["state"] == "failed" and settled["reason"], settled
    v2 = releases_of(owner, app_id)[2]
    assert v2["state"] == "failed" and v2["failed"] is True and v2["exception"] == settled["reason"]


def test_invalid_builds_are_refused_before_anything_is_made(ctl, owner, app_id, admin):
    image = app_image(app_id)
    token = push_token(ctl, owner.username, app_id)["push_token"]
    r = hook(ctl, "build", token, {"image": image, "procfile": {"Web!": "x"}})
    assert r.status_code == 400, r.text
    r = hook(ctl, "build", token, {"image": image, "procfile": {"web": "a", "cmd": "b"}})
    assert r.status_code == 400, r.text
    limits = admin.get("/v2/admin/limits/").json()
    assert admin.post("/v2/admin/limits/", {"max_replicas_per_app": 0}).status_code == 200
    try:
        r = hook(ctl, "build", token, {"image": image})
        assert r.status_code == 400 and "limit" in r.text, r.text
    finally:
        admin.post("/v2/admin/limits/", {"max_replicas_per_app": limits["max_replicas_per_app"]})
    assert sorted(releases_of(owner, app_id)) == [1]
    assert owner.get(f"/v2/apps/{app_id}/builds/").json()["count"] == 0


def test_a_token_follows_its_own_apps_releases_only(ctl, owner, app_id, new_user):
    token = push_token(ctl, owner.username, app_id)["push_token"]
    other = new_user("other")
    other_app = f"{app_id}-o"
    assert other.post("/v2/apps/", {"id": other_app}).status_code == 201
    assert other.post(f"/v2/apps/{other_app}/config/", {"values": {"A": "1"}}).status_code == 201  # its v2
    other_token = push_token(ctl, other.username, other_app)["push_token"]
    assert follow(ctl, token, 1, wait=0).json() == {"version": 1, "state": "serving", "reason": ""}
    assert follow(ctl, token, 2, wait=0).status_code == 404  # the other app's v2 is not this token's
    assert follow(ctl, other_token, 2, wait=0).json()["state"] == "serving"
    assert follow(ctl, None, 1, wait=0).status_code == 401
    assert follow(ctl, "not-a-token", 1, wait=0).status_code == 401
    assert requests.get(f"{ctl.url}/v2/hooks/releases/1/", timeout=30,
                        headers={"Authorization": f"token {owner.token}"}).status_code == 401
    for bad in ({"wait": 61}, {"wait": -1}):
        r = requests.get(f"{ctl.url}/v2/hooks/releases/1/", params=bad, timeout=30,
                         headers={"X-Slipway-Push-Token": token})
        assert r.status_code == 400, (bad, r.text)
    assert follow(ctl, token, 0, wait=0).status_code == 400
    friend = new_user("friend")
    assert owner.post(f"/v2/apps/{app_id}/perms/", {"username": friend.username}).status_code == 201
    friend_token = push_token(ctl, friend.username, app_id)["push_token"]
    assert follow(ctl, friend_token, 1, wait=0).status_code == 200
    assert owner.delete(f"/v2/apps/{app_id}/perms/{friend.username}").status_code == 204
    assert follow(ctl, friend_token, 1, wait=0).status_code == 401  # no longer may use the app


def test_releases_deploy_in_the_order_they_were_made(ctl, owner, app_id):
    image = app_image(app_id)
    token = push_token(ctl, owner.username, app_id)["push_token"]
    answers = {}
    with DeployLock(ctl, owner, app_id):
        assert hook(ctl, "build", token, {"image": image}).json()["release"]["version"] == 2
        config_set = threading.Thread(target=lambda: answers.update(config=owner.post(
            f"/v2/apps/{app_id}/config/", {"values": {"MESSAGE": "second"}})))
        config_set.start()
        deadline = time.monotonic() + 30
        while 3 not in releases_of(owner, app_id):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    config_set.join(120)
    assert answers["config"].status_code == 201, answers["config"].text  # blocked until v3 served
    found = releases_of(owner, app_id)
    assert found[2]["state"] == found[3]["state"] == "serving"
    assert follow(ctl, token, 2, wait=0).json()["state"] == "serving"
    assert fetch(endpoints(ctl, app_id)[0]).startswith("second release=v3")  # v2 never replaced v3


def test_waiting_followers_and_routers_hold_no_thread(ctl, owner, app_id):
    token = push_token(ctl, owner.username, app_id)["push_token"]
    router = {"X-Slipway-Router-Auth": ctl.router_key}
    gen = requests.get(f"{ctl.url}/v2/routes", headers=router, timeout=30).json()["generation"]
    image = app_image(app_id)
    waiters = 60  # more than the thread pool's 40 threads, each kind
    with DeployLock(ctl, owner, app_id) as lock:
        assert hook(ctl, "build", token, {"image": image}).status_code == 201
        with concurrent.futures.ThreadPoolExecutor(2 * waiters) as pool:
            follows = [pool.submit(follow, ctl, token, 2, 30) for _ in range(waiters)]
            polls = [pool.submit(requests.get, f"{ctl.url}/v2/routes", headers=router, timeout=60,
                                 params={"generation": gen, "wait": 30}) for _ in range(waiters)]
            time.sleep(2)  # every one of them is waiting now
            started = time.monotonic()
            r = owner.get(f"/v2/apps/{app_id}/releases/")  # a route that runs in the thread pool
            assert r.status_code == 200 and time.monotonic() - started < 2
            assert not any(f.done() for f in follows + polls)
            lock.release()
            followed = [f.result(timeout=60) for f in follows]
            polled = [f.result(timeout=60) for f in polls]
    assert all(r.status_code == 200 and r.json()["state"] == "serving" for r in followed)
    assert all(r.status_code == 200 and r.json()["generation"] > gen for r in polled)  # the deploy's switch
