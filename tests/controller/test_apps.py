"""Apps: names, ownership, listing, transfer, destroy."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("name", ["Upper", "-lead", "trail-", "a_b", "1abc", "a" * 64, "slipway", "registry"])
def test_invalid_or_reserved_names_are_refused(owner, name):
    r = owner.post("/v2/apps/", {"id": name})
    assert r.status_code == 400, r.text
    assert r.json()["detail"]


def test_longest_valid_name_is_accepted(owner):
    name = "a" + "b" * 61 + "c"
    r = owner.post("/v2/apps/", {"id": name})
    assert r.status_code == 201
    assert owner.delete(f"/v2/apps/{name}/").status_code == 204


def test_create_gives_release_v1_and_default_domain(owner, app_id):
    app = owner.get(f"/v2/apps/{app_id}/").json()
    assert app["owner"] == owner.username and app["url"] == f"{app_id}.slipway.test"
    releases = owner.get(f"/v2/apps/{app_id}/releases/").json()
    assert [r["version"] for r in releases["results"]] == [1]
    domains = owner.get(f"/v2/apps/{app_id}/domains/").json()["results"]
    assert [d["domain"] for d in domains] == [f"{app_id}.slipway.test"]


def test_random_name_and_duplicates(owner, app_id):
    r = owner.post("/v2/apps/", {})
    assert r.status_code == 201 and r.json()["id"]
    assert owner.post("/v2/apps/", {"id": app_id}).status_code == 409


def test_list_shows_own_and_shared_apps_only(owner, app_id, new_user, admin):
    other = new_user()
    assert app_id not in [a["id"] for a in other.get("/v2/apps/").json()["results"]]
    owner.post(f"/v2/apps/{app_id}/perms/", {"username": other.username})
    assert app_id in [a["id"] for a in other.get("/v2/apps/").json()["results"]]
    assert admin.get(f"/v2/apps/{app_id}/").status_code == 200


def test_transfer_then_old_owner_loses_access(owner, app_id, new_user):
    other = new_user()
    assert owner.post(f"/v2/apps/{app_id}/", {"owner": "nobody-" + app_id}).status_code == 404
    r = owner.post(f"/v2/apps/{app_id}/", {"owner": other.username})
    assert r.status_code == 200 and r.json()["owner"] == other.username
    assert owner.get(f"/v2/apps/{app_id}/").status_code == 403


def test_destroy_removes_app_and_domain(owner, app_id):
    assert owner.delete(f"/v2/apps/{app_id}/").status_code == 204
    assert owner.get(f"/v2/apps/{app_id}/").status_code == 404
    assert owner.post("/v2/apps/", {"id": app_id}).status_code == 201  # the name and domain are free again


def test_malformed_bodies_get_clear_errors(owner):
    r = owner.request("POST", "/v2/apps/", data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["detail"]
    r = owner.post("/v2/apps/", {"id": "ok-name", "extra": 1})
    assert r.status_code == 400 and r.json() == {"extra": ["Extra inputs are not permitted"],
                                                 "detail": "extra: Extra inputs are not permitted"}, r.text


def test_validation_errors_name_their_field_as_deis_does(owner):
    """Deis answers a request its schema refuses with 400 and {"<field>": ["<message>"]}: the Deis CLI prints
    those; "detail" carries the same in one line for clients that read only it."""
    r = owner.post("/v2/apps/", {"id": "Not_Valid"})
    assert r.status_code == 400 and list(r.json()) == ["id", "detail"], r.text
    assert r.json()["id"][0].startswith("String should match pattern") and r.json()["detail"].startswith("id: ")
    r = owner.post("/v2/apps/", {"id": 5})
    assert r.status_code == 400 and r.json()["id"] == ["Input should be a valid string"], r.text
    r = owner.request("POST", "/v2/apps/", data="[1]", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and set(r.json()) == {"detail"}, r.text
    r = owner.get("/v2/apps/?limit=-1")
    assert r.status_code == 400 and "limit" in r.json(), r.text


def test_list_pages_with_count_and_links(new_user):
    me = new_user("pager")
    names = sorted(f"pg-{i}-{me.username}" for i in range(5))
    for name in names:
        assert me.post("/v2/apps/", {"id": name}).status_code == 201
    first = me.get("/v2/apps/?limit=2").json()
    assert first["count"] == 5 and [a["id"] for a in first["results"]] == names[:2]
    assert first["previous"] is None and first["next"].endswith("/v2/apps/?limit=2&offset=2")
    last = me.get("/v2/apps/?limit=2&offset=4").json()
    assert [a["id"] for a in last["results"]] == names[4:] and last["next"] is None
    assert last["previous"].endswith("/v2/apps/?limit=2&offset=2")
    beyond = me.get("/v2/apps/?offset=10").json()
    assert beyond["count"] == 5 and beyond["results"] == []
    one = first["results"][0]
    assert one == me.get(f"/v2/apps/{one['id']}/").json()  # the same body as the app's own page
    assert me.get("/v2/apps/?limit=0").status_code == 400
    assert new_user("empty").get("/v2/apps/").json() == {"count": 0, "next": None, "previous": None, "results": []}
