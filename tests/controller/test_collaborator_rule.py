"""Who manages an app's collaborators, as in Deis Workflow: everyone who may use the app lists them; only its
owner or an administrator grants access or takes it from someone; a collaborator may leave on their own. A
collaborator can neither hand the app to a third party nor lock the others out."""
from __future__ import annotations

import secrets

from .conftest import register


def names(caller, app_id: str) -> list[str]:
    r = caller.get(f"/v2/apps/{app_id}/perms/")
    assert r.status_code == 200, r.text
    return r.json()["users"]


def test_only_the_owner_or_an_admin_grants_and_revokes_and_a_collaborator_may_leave(ctl, admin):
    owner, friend, other, third = (register(ctl, f"{p}-{secrets.token_hex(3)}")
                                   for p in ("cowner", "cfriend", "cother", "cthird"))
    app_id = f"collab-{secrets.token_hex(4)}"
    assert owner.post("/v2/apps/", {"id": app_id}).status_code == 201
    for who in (friend, other):
        assert owner.post(f"/v2/apps/{app_id}/perms/", {"username": who.username}).status_code == 201
    assert sorted(names(friend, app_id)) == sorted([friend.username, other.username])

    # a collaborator grants nobody and revokes nobody but themselves
    r = friend.post(f"/v2/apps/{app_id}/perms/", {"username": third.username})
    assert r.status_code == 403, r.text
    r = friend.delete(f"/v2/apps/{app_id}/perms/{other.username}")
    assert r.status_code == 403, r.text
    assert third.get(f"/v2/apps/{app_id}/").status_code == 403
    assert sorted(names(owner, app_id)) == sorted([friend.username, other.username])

    # the administrator grants and revokes; a collaborator leaves on their own
    assert admin.post(f"/v2/apps/{app_id}/perms/", {"username": third.username}).status_code == 201
    assert admin.delete(f"/v2/apps/{app_id}/perms/{third.username}").status_code == 204
    assert friend.delete(f"/v2/apps/{app_id}/perms/{friend.username}").status_code == 204
    assert friend.get(f"/v2/apps/{app_id}/").status_code == 403
    assert names(owner, app_id) == [other.username]
    assert owner.delete(f"/v2/apps/{app_id}/").status_code == 204
