"""The dashboard shows a user what the API would: their apps and those they collaborate on, every app to
administrators, nothing of anyone else's; administrators' pages to administrators only."""
from __future__ import annotations

import pytest

from tests.dashboard.conftest import signed_in


def _apps_listed(web) -> set[str]:
    page = web.get("/").text
    return {chunk.split('"')[0] for chunk in page.split('data-app="')[1:]}


def test_each_user_sees_only_the_apps_they_may_use(ctl, admin, owner, new_user, app_id):
    collaborator, stranger = new_user("collab"), new_user("stranger")
    other = f"{app_id}-x"
    assert owner.post("/v2/apps/", {"id": other}).status_code == 201
    assert owner.post(f"/v2/apps/{app_id}/perms/", {"username": collaborator.username}).status_code == 201

    assert {app_id, other} <= _apps_listed(signed_in(ctl, owner))
    collab_web = signed_in(ctl, collaborator)
    assert _apps_listed(collab_web) == {app_id}
    assert collab_web.get(f"/apps/{app_id}").status_code == 200
    assert collab_web.get(f"/apps/{other}").status_code == 403
    assert collab_web.get(f"/apps/{other}/logs").status_code == 403
    assert collab_web.get(f"/apps/{other}/graphs").status_code == 403

    stranger_web = signed_in(ctl, stranger)
    assert _apps_listed(stranger_web) == set()
    assert "No apps yet" in stranger_web.get("/").text
    for path in (f"/apps/{app_id}", f"/apps/{app_id}/logs", f"/apps/{app_id}/logs/stream"):
        assert stranger_web.get(path).status_code == 403, path
    assert stranger_web.get("/apps/no-such-app").status_code == 404
    r = stranger_web.post(f"/apps/{app_id}/config", {"key": "STOLEN", "value": "1"}, allow_redirects=False)
    assert r.status_code == 403
    assert "STOLEN" not in owner.get(f"/v2/apps/{app_id}/config/").json()["values"]


def test_administrators_see_every_app_and_the_admin_pages(ctl, admin, owner, app_id):
    web = signed_in(ctl, admin)
    assert app_id in _apps_listed(web)
    nodes = web.get("/admin/nodes")
    assert nodes.status_code == 200 and 'data-node="' in nodes.text
    users = web.get("/admin/users")
    assert users.status_code == 200 and owner.username in users.text
    owner_web = signed_in(ctl, owner)
    for path in ("/admin/nodes", "/admin/users", "/admin/health"):
        assert owner_web.get(path).status_code == 403, path
    node = nodes.text.split("/admin/nodes/")[1].split("/")[0]
    r = owner_web.post(f"/admin/nodes/{node}/drain", {}, allow_redirects=False)
    assert r.status_code == 403


def test_draining_the_only_node_is_refused_with_the_services_words(ctl, admin):
    web = signed_in(ctl, admin)
    page = web.get("/admin/nodes").text
    # the test machine's Swarm has one node (scripts/dev-services.sh); a drain there would stop every task
    assert page.count('data-node="') == 1, page
    node = page.split("/admin/nodes/")[1].split("/")[0]
    r = web.post(f"/admin/nodes/{node}/drain", {}, page="/admin/nodes")
    assert r.url.endswith("/dashboard/admin/nodes")
    assert "is the only active node" in r.text
