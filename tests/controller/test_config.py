"""Config deltas: validation, unsetting, no-op 409, and the releases they make."""
from __future__ import annotations

import pytest


def _summaries(api, app_id):
    return [r["summary"] for r in api.get(f"/v2/apps/{app_id}/releases/").json()["results"]]


def test_set_change_unset_make_releases_with_summaries(owner, app_id):
    path = f"/v2/apps/{app_id}/config/"
    r = owner.post(path, {"values": {"FOO": "1", "BAR": 2}})
    assert r.status_code == 201 and r.json()["values"] == {"FOO": "1", "BAR": "2"}
    assert owner.post(path, {"values": {"FOO": "changed"}}).status_code == 201
    assert owner.post(path, {"values": {"BAR": None}}).json()["values"] == {"FOO": "changed"}
    assert owner.get(path).json()["values"] == {"FOO": "changed"}
    assert _summaries(owner, app_id)[:3] == [f"{owner.username} removed BAR", f"{owner.username} changed FOO",
                                             f"{owner.username} added BAR, FOO"]
    versions = [r["version"] for r in owner.get(f"/v2/apps/{app_id}/releases/").json()["results"]]
    assert versions == [4, 3, 2, 1]


def test_a_change_that_changes_nothing_is_409(owner, app_id):
    path = f"/v2/apps/{app_id}/config/"
    owner.post(path, {"values": {"FOO": "1"}})
    assert owner.post(path, {"values": {"FOO": "1"}}).status_code == 409
    assert owner.post(path, {}).status_code == 409


@pytest.mark.parametrize("delta", [
    {"values": {"1BAD": "x"}},
    {"values": {"BAD-DASH": "x"}},
    {"values": {"PORT": "0"}},
    {"values": {"PORT": "70000"}},
    {"values": {"PORT": "http"}},
    {"values": {"MISSING": None}},
    {"values": {"SLIPWAY_APP": "spoof"}},
    {"memory": {"web": "lots"}},
    {"cpu": {"web": "fast"}},
    {"memory": {"Bad_Type": "128M"}},
    {"healthcheck": {"web": {"path": "no-slash"}}},
    {"healthcheck": {"web": {"unknown": 1}}},
    {"tags": {"bad tag": "x"}},
])
def test_bad_config_is_refused_and_nothing_changes(owner, app_id, delta):
    path = f"/v2/apps/{app_id}/config/"
    before = owner.get(f"/v2/apps/{app_id}/releases/").json()["count"]
    r = owner.post(path, delta)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]
    assert owner.get(f"/v2/apps/{app_id}/releases/").json()["count"] == before


def test_limits_healthchecks_and_tags_are_kept(owner, app_id):
    path = f"/v2/apps/{app_id}/config/"
    body = {"memory": {"web": "256m"}, "cpu": {"web": "500m"}, "tags": {"zone": "a"},
            "healthcheck": {"web": {"path": "/health", "timeout": 3}}}
    r = owner.post(path, body)
    assert r.status_code == 201, r.text
    got = owner.get(path).json()
    assert got["memory"] == {"web": "256M"} and got["cpu"] == {"web": "500m"}
    assert got["tags"] == {"zone": "a"} and got["healthcheck"]["web"] == {"path": "/health", "timeout": 3}
    assert f"{owner.username} added memory web" in _summaries(owner, app_id)[0]
