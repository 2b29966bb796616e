"""Builds, config changes, scale and rollbacks deployed on the real Swarm, served without downtime."""
from __future__ import annotations

import subprocess
import time

import pytest

from .deployhelp import BROKEN, RouterStandIn, build, endpoints, fetch, services, settle


@pytest.fixture(scope="module", autouse=True)
def images():
    subprocess.run(["scripts/build-test-image.sh"], check=True)


@pytest.fixture
def served(owner, app_id):
    r = build(owner, app_id, sha="a" * 40)
    assert r.status_code == 201, r.text
    yield app_id
    owner.delete(f"/v2/apps/{app_id}/")


def test_build_serves_with_release_facts(ctl, owner, served):
    eps = endpoints(ctl, served)
    assert len(eps) == 1
    assert fetch(eps[0]).startswith("hello release=v2")
    assert fetch(eps[0], "/env/SLIPWAY_APP").strip() == served
    pods = owner.get(f"/v2/apps/{served}/pods/").json()["results"]
    assert [(p["type"], p["release"], p["state"]) for p in pods] == [("cmd", "v2", "running")]
    assert owner.get(f"/v2/apps/{served}/").json()["structure"] == {"cmd": 1}
    assert owner.get(f"/v2/apps/{served}/releases/v2/").json()["summary"] == f"{owner.username} deployed aaaaaaa"


def test_config_change_redeploys_same_image_without_a_failed_request(ctl, owner, served):
    with RouterStandIn(ctl, served) as router:
        r = owner.post(f"/v2/apps/{served}/config/", {"values": {"MESSAGE": "bonjour"}})
        assert r.status_code == 201, r.text
    assert router.failed == 0, router.errors[:3]
    assert router.ok > 20
    eps = endpoints(ctl, served)
    assert fetch(eps[0]).startswith("bonjour release=v3")
    assert len(settle(served, 1)) == 1  # the old deployment's service is gone (after the drain)
    history = subprocess.run(["docker", "image", "history", "--no-trunc", "slipway-test/web:1"],
                             capture_output=True, text=True).stdout
    assert "bonjour" not in history


def test_scale_up_and_down_without_a_failed_request(ctl, owner, served):
    with RouterStandIn(ctl, served) as router:
        assert owner.post(f"/v2/apps/{served}/scale/", {"cmd": 3}).status_code == 204
        eps = endpoints(ctl, served)
        assert len(eps) == 3 and len({fetch(e).split("host=")[1] for e in eps}) == 3
        assert owner.post(f"/v2/apps/{served}/scale/", {"cmd": 1}).status_code == 204
    assert router.failed == 0, router.errors[:3]
    assert len(endpoints(ctl, served)) == 1
    assert owner.post(f"/v2/apps/{served}/scale/", {"worker": 1}).status_code == 400
    assert owner.post(f"/v2/apps/{served}/scale/", {"cmd": 11}).status_code == 400  # platform limit


def test_failed_build_keeps_the_previous_release_serving(ctl, owner, served):
    before = endpoints(ctl, served)
    r = build(owner, served, image=BROKEN)
    assert r.status_code == 400 and "v3 failed" in r.json()["detail"]
    v3 = owner.get(f"/v2/apps/{served}/releases/v3/").json()
    assert v3["failed"] is True and v3["exception"]
    assert endpoints(ctl, served) == before and fetch(before[0]).startswith("hello release=v2")
    # a config change builds on the last good release, and rollback skips the failed one
    assert owner.post(f"/v2/apps/{served}/config/", {"values": {"MESSAGE": "next"}}).status_code == 201
    assert fetch(endpoints(ctl, served)[0]).startswith("next release=v4")
    r = owner.post(f"/v2/apps/{served}/releases/rollback/", {})
    assert r.status_code == 201 and r.json()["version"] == 5
    assert fetch(endpoints(ctl, served)[0]).startswith("hello release=v5")
    assert owner.post(f"/v2/apps/{served}/releases/rollback/", {"version": 3}).status_code == 400


def test_an_image_no_node_can_pull_fails_after_a_few_tries(ctl, owner, served):
    """Swarm rejects the task ("No such image") and retries it in the same slot: the deploy fails after two
    rejections ("keep failing"), not at the health timeout ("did not become healthy"), and the previous release
    serves. How long that takes depends on the machine's load, so the message says which rule ended it."""
    r = build(owner, served, image="slipway-test/not-there:1")
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert "keep failing" in detail and "No such image" in detail, detail
    assert fetch(endpoints(ctl, served)[0]).startswith("hello release=v2")


def test_tags_no_node_has_fail_the_deploy_saying_why_and_the_old_release_serves(ctl, owner, served):
    """Swarm keeps a task no node may run pending, never failed: at the health timeout the deploy says so, with
    Swarm's reason, rather than "no task started"."""
    r = owner.post(f"/v2/apps/{served}/config/", {"tags": {"zone": "nowhere"}})
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert "cmd task pending" in detail and "no suitable node" in detail, detail
    assert fetch(endpoints(ctl, served)[0]).startswith("hello release=v2")


def test_a_build_with_the_longest_image_name_is_refused_cleanly(ctl, owner, served):
    """Found by the platform fuzz: the release summary ("<user> deployed <image>") outgrew its column (a 500).
    A reference longer than Docker allows (a 255-character name) is refused before any release; the longest
    valid one (name, tag and digest) makes a release whose deploy fails, with its summary within its column."""
    image = "slipway-test/" + "a" * (510 - len("slipway-test/")) + ":1"
    assert len(image) == 512
    r = build(owner, served, image=image)
    assert r.status_code == 400 and r.json()["image"], r.text
    assert owner.get(f"/v2/apps/{served}/releases/v3/").status_code == 404
    image = "slipway-test/" + "a" * (255 - len("slipway-test/")) + ":" + "t" * 128 + "@sha256:" + "0" * 64
    r = build(owner, served, image=image)
    assert r.status_code == 400 and "image" not in r.json(), r.text
    v3 = owner.get(f"/v2/apps/{served}/releases/v3/").json()
    assert v3["failed"] is True and len(v3["summary"]) <= 512, v3["summary"]
    assert fetch(endpoints(ctl, served)[0]).startswith("hello release=v2")


def test_unhealthy_release_fails_and_the_old_one_serves(ctl, owner, served):
    r = owner.post(f"/v2/apps/{served}/config/", {"healthcheck": {"cmd": {"path": "/nowhere", "timeout": 1}}})
    assert r.status_code == 400 and "health check" in r.json()["detail"]
    assert fetch(endpoints(ctl, served)[0]).startswith("hello release=v2")
    assert owner.get(f"/v2/apps/{served}/config/").json()["healthcheck"] == {}


def test_procfile_types_release_task_run_and_logs(ctl, owner, app_id):
    web = "cd /www && exec httpd -f -p $PORT -h /www"
    r = build(owner, app_id, procfile={"web": web, "worker": "while true; do echo working; sleep 1; done",
                                       "release": "exit 3"})
    assert r.status_code == 400 and "release task exited with 3" in r.json()["detail"]
    r = build(owner, app_id, procfile={"web": web, "worker": "while true; do echo working; sleep 1; done",
                                       "release": "echo migrated"})
    assert r.status_code == 201, r.text
    assert owner.get(f"/v2/apps/{app_id}/").json()["structure"] == {"web": 1, "worker": 0}
    assert owner.post(f"/v2/apps/{app_id}/scale/", {"worker": 1}).status_code == 204
    types = sorted(p["type"] for p in owner.get(f"/v2/apps/{app_id}/pods/").json()["results"])
    assert types == ["web", "worker"]
    owner.post(f"/v2/apps/{app_id}/config/", {"values": {"GREETING": "hi there"}})
    r = owner.post(f"/v2/apps/{app_id}/run/", {"command": "echo $GREETING; exit 3"})
    assert r.json() == {"exit_code": 3, "output": "hi there\n"}
    logs = owner.get(f"/v2/apps/{app_id}/logs/?log_lines=20").text
    assert "working" in logs
    assert owner.delete(f"/v2/apps/{app_id}/").status_code == 204
    assert services(app_id) == []


def test_killed_container_is_replaced_and_routes_follow(ctl, owner, served):
    before = endpoints(ctl, served)
    cid = subprocess.run(["docker", "ps", "-q", "--filter", f"label=slipway.app={served}"], capture_output=True,
                         text=True, check=True).stdout.split()
    assert len(cid) == 1
    subprocess.run(["docker", "kill", cid[0]], check=True, capture_output=True)
    deadline = time.monotonic() + 30
    while True:
        now = endpoints(ctl, served)
        if now and now != before:
            break
        assert time.monotonic() < deadline, f"routes still {now}"
        time.sleep(0.2)
    assert fetch(now[0]).startswith("hello release=v2")


def test_a_stalled_task_leaves_the_routes_only_after_repeated_failed_checks(ctl, owner, served):
    """A task that stops answering (paused: Swarm still reports it running) stays routed through the first
    failed checks, since a task slow under load must not be taken out of rotation, leaves after three in a
    row (one per monitor pass, every second here) and comes back once it answers again."""
    before = endpoints(ctl, served)
    cid = subprocess.run(["docker", "ps", "-q", "--filter", f"label=slipway.app={served}"], capture_output=True,
                         text=True, check=True).stdout.split()
    subprocess.run(["docker", "pause", cid[0]], check=True, capture_output=True)
    try:
        paused = time.monotonic()
        time.sleep(1.5)
        assert endpoints(ctl, served) == before, "dropped after a single failed check"
        while endpoints(ctl, served):
            assert time.monotonic() - paused < 20, "a task that answers nothing stayed routed"
            time.sleep(0.2)
        dropped = time.monotonic() - paused
        assert dropped >= 2.5, f"dropped after {dropped:.1f}s: before three failed checks"
    finally:
        subprocess.run(["docker", "unpause", cid[0]], check=True, capture_output=True)
    deadline = time.monotonic() + 20
    while endpoints(ctl, served) != before:
        assert time.monotonic() < deadline, "the task answers again but is not routed"
        time.sleep(0.2)
    assert fetch(before[0]).startswith("hello release=v2")


def test_platform_limits_are_set_by_admins(ctl, owner, served, admin):
    assert owner.post("/v2/admin/limits/", {"max_replicas_per_type": 100}).status_code == 403
    try:
        assert admin.post("/v2/admin/limits/", {"max_replicas_per_type": 2}).status_code == 200
        r = owner.post(f"/v2/apps/{served}/scale/", {"cmd": 3})
        assert r.status_code == 400 and "platform limit of 2" in r.json()["detail"]
    finally:
        admin.post("/v2/admin/limits/", {"max_replicas_per_type": 10})
