"""Deis's `autoscale` setting on a live controller and Swarm: its shape, bad input, a manual scale refused while a
type is autoscaled, the autoscaler correcting a count outside the bounds, and the app's history of deployments."""
from __future__ import annotations

import time

import pytest

from .deployhelp import build, endpoints


@pytest.fixture
def served(owner, app_id):
    assert build(owner, app_id).status_code == 201
    yield app_id
    owner.delete(f"/v2/apps/{app_id}/")


def history(owner, app_id: str) -> list[dict]:
    return owner.get(f"/v2/apps/{app_id}/deployments/").json()["results"]


def test_autoscale_is_set_shown_and_unset(owner, served):
    path = f"/v2/apps/{served}/settings/"
    spec = {"min": 1, "max": 3, "cpu_percent": 60}
    r = owner.post(path, {"autoscale": {"cmd": spec}})
    assert r.status_code == 200 and r.json()["autoscale"] == {"cmd": spec}, r.text
    assert owner.get(path).json()["autoscale"] == {"cmd": spec}
    r = owner.post(f"/v2/apps/{served}/scale/", {"cmd": 2})
    assert r.status_code == 400 and "cmd is autoscaled (1 to 3 processes at 60% CPU)" in r.json()["detail"], r.text
    assert owner.post(f"/v2/apps/{served}/scale/", {"cmd": 1}).status_code == 204  # the count it has: no change
    assert owner.post(path, {"autoscale": {"cmd": None}}).json()["autoscale"] == {}
    r = owner.post(path, {"autoscale": {"cmd": None}})
    assert r.status_code == 422 and "cmd" in r.json()["detail"], r.text
    assert owner.post(f"/v2/apps/{served}/scale/", {"cmd": 2}).status_code == 204
    assert owner.get(f"/v2/apps/{served}/").json()["structure"] == {"cmd": 2}


@pytest.mark.parametrize("given, message", [
    ({"cmd": {"min": 3, "max": 2, "cpu_percent": 50}}, "max (2) is below min (3)"),
    ({"cmd": {"min": 0, "max": 2, "cpu_percent": 50}}, "greater than or equal to 1"),
    ({"cmd": {"min": 1, "max": 2, "cpu_percent": 0}}, "greater than or equal to 1"),
    ({"cmd": {"min": 1, "max": 2}}, "cpu_percent"),
    ({"cmd": {"min": 1, "max": 2, "cpu_percent": 50, "memory": 1}}, "memory"),
    ({"worker": {"min": 1, "max": 2, "cpu_percent": 50}}, "Container type worker does not exist"),
    ({"cmd": {"min": 1, "max": 11, "cpu_percent": 50}}, "max 11 is over the platform limit of 10 per process type"),
    ({"cmd": "1-3"}, "valid dictionary"),
])
def test_bad_autoscale_is_refused_naming_the_field(owner, served, given, message):
    path = f"/v2/apps/{served}/settings/"
    r = owner.post(path, {"autoscale": given})
    assert r.status_code == 400, r.text
    field = next(k for k in r.json() if k.startswith("autoscale"))
    assert message in field + ": " + " ".join(r.json()[field]), r.json()
    assert owner.get(path).json()["autoscale"] == {}


def test_a_count_below_min_is_raised_by_the_autoscaler_and_shows_in_the_history(ctl, owner, served):
    before = history(owner, served)
    assert [d["cause"] for d in before] == [f"v2: {owner.username} deployed slipway-test/web:1"]
    r = owner.post(f"/v2/apps/{served}/settings/", {"autoscale": {"cmd": {"min": 2, "max": 3, "cpu_percent": 50}}})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 60
    while owner.get(f"/v2/apps/{served}/").json()["structure"] != {"cmd": 2}:
        assert time.monotonic() < deadline, "the autoscaler did not raise cmd to its min within 60 s"
        time.sleep(0.5)
    newest = history(owner, served)[0]
    assert newest["status"] == "succeeded" and newest["structure"] == {"cmd": 2}, newest
    assert newest["cause"].startswith("autoscaled cmd 1->2 (CPU no figure, target 50%, 2 to 3)"), newest
    assert len(endpoints(ctl, served)) == 2


def test_history_shows_scales_and_restarts_by_whom(owner, served):
    assert owner.post(f"/v2/apps/{served}/scale/", {"cmd": 2}).status_code == 204
    assert owner.post(f"/v2/apps/{served}/pods/restart/").status_code == 200
    causes = [d["cause"] for d in history(owner, served)]
    assert causes == [f"restarted by {owner.username}", f"scaled by {owner.username}: cmd=2",
                      f"v2: {owner.username} deployed slipway-test/web:1"]
    page = owner.get(f"/v2/apps/{served}/deployments/?limit=1").json()
    assert page["count"] == 3 and len(page["results"]) == 1 and page["next"]
