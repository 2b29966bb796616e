"""Config deltas: validation, unsetting, no-op 409, and the releases they make."""
from __future__ import annotations

import pytest
import requests


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
    {"healthcheck": {"web": {"port": 5432}}},  # the former shape probes the process's own PORT, nothing else
    {"healthcheck": {"web": {"host": "10.0.0.1"}}},
    {"healthcheck": {"web": {"readinessProbe": {"httpGet": {"path": "/"}}, "path": "/"}}},
    {"tags": {"bad tag": "x"}},
])
def test_bad_config_is_refused_and_nothing_changes(owner, app_id, delta):
    path = f"/v2/apps/{app_id}/config/"
    before = owner.get(f"/v2/apps/{app_id}/releases/").json()["count"]
    r = owner.post(path, delta)
    field = next(iter(delta))
    if None in delta[field].values():  # unsetting what is not set: Deis's 422
        assert r.status_code == 422 and r.json()["detail"], r.text
    else:  # a value refused: 400, the field it came in names the error
        assert r.status_code == 400 and r.json()["detail"] and r.json()[field], r.text
    assert owner.get(f"/v2/apps/{app_id}/releases/").json()["count"] == before


def test_limits_healthchecks_and_tags_are_kept(owner, app_id):
    path = f"/v2/apps/{app_id}/config/"
    body = {"memory": {"web": "256m"}, "cpu": {"web": "500m"}, "tags": {"zone": "a"},
            "healthcheck": {"web": {"path": "/health", "timeout": 3}}}
    r = owner.post(path, body)
    assert r.status_code == 201, r.text
    got = owner.get(path).json()
    assert got["memory"] == {"web": "256M"} and got["cpu"] == {"web": "500m"}
    assert got["tags"] == {"zone": "a"}
    assert got["healthcheck"]["web"]["readinessProbe"]["httpGet"] == {"path": "/health", "httpHeaders": []}
    assert f"{owner.username} added memory web" in _summaries(owner, app_id)[0]


def test_config_read_answers_with_what_the_change_answered(owner, app_id, new_user, admin):
    path = f"/v2/apps/{app_id}/config/"
    written = owner.post(path, {"values": {"NAME": "é ✓"}, "memory": {"web": "64M"},
                                "healthcheck": {"web": {"path": "/up"}}})
    assert written.status_code == 201
    read = owner.get(path)
    assert read.status_code == 200 and read.headers["content-type"] == "application/json"
    assert read.json() == written.json()  # same fields, same uuid and time formats
    assert read.json()["owner"] == owner.username and read.json()["app"] == app_id
    collaborator = new_user("collab")
    assert owner.post(f"/v2/apps/{app_id}/perms/", {"username": collaborator.username}).status_code == 201
    assert collaborator.get(path).json() == written.json()
    assert admin.get(path).json() == written.json()


def test_config_read_refusals_come_in_order_401_404_403(ctl, owner, app_id, new_user):
    path = f"/v2/apps/{app_id}/config/"
    stranger = new_user("stranger")
    for headers, detail in (({}, "Authentication credentials were not provided."),
                            ({"Authorization": "Basic abc"}, "Invalid token header."),
                            ({"Authorization": "token "}, "Invalid token header."),
                            ({"Authorization": "token not-a-token"}, "Invalid token.")):
        r = requests.get(ctl.url + path, headers=headers, timeout=30)
        assert (r.status_code, r.json()["detail"]) == (401, detail)
        assert r.headers["WWW-Authenticate"] == "Token"
        r = requests.get(ctl.url + "/v2/apps/no-such-app/config/", headers=headers, timeout=30)
        assert r.status_code == 401  # nobody learns which apps exist without a valid token
    r = stranger.get("/v2/apps/no-such-app/config/")
    assert (r.status_code, r.json()["detail"]) == (404, "No App matches the given query.")
    r = stranger.get(path)
    assert (r.status_code, r.json()["detail"]) == (403, "You do not have permission to perform this action.")
    assert r.headers["DEIS_API_VERSION"] == "2.3"
