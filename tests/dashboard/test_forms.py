"""The new forms over HTTP against a live controller: each refuses a post without the session's CSRF token
(and changes nothing), and each follows the API's rule on who may act: destroying is the owner's or an
administrator's; so are granting and revoking collaborators; a stranger touches nothing."""
from __future__ import annotations

import pytest

from tests.controller.certgen import self_signed
from tests.dashboard.conftest import PASSWORD, Web, signed_in


@pytest.fixture
def setup(ctl, owner, new_user, app_id):
    """The owner's app with a collaborator, a domain and a certificate attached to it."""
    collaborator = new_user("collab")
    assert owner.post(f"/v2/apps/{app_id}/perms/", {"username": collaborator.username}).status_code == 201
    host = f"www.{app_id}.example.com"
    pem, key = self_signed(host)
    assert owner.post("/v2/certs/", {"name": f"c-{app_id}", "certificate": pem, "key": key}).status_code == 201
    assert owner.post(f"/v2/apps/{app_id}/domains/", {"domain": host}).status_code == 201
    assert owner.post(f"/v2/certs/c-{app_id}/domain/", {"domain": host}).status_code == 201
    return collaborator, host, f"c-{app_id}"


def test_each_new_form_refuses_a_post_without_its_csrf_token(ctl, web, owner, new_user, app_id, setup):
    collaborator, host, cert = setup
    pem, key = self_signed("other.example.com")
    outsider = new_user("outsider")
    forms = {
        "/apps": {"id": f"{app_id}-new"},
        f"/apps/{app_id}/destroy": {"confirm": app_id},
        f"/apps/{app_id}/perms": {"username": outsider.username},
        f"/apps/{app_id}/perms/remove": {"username": collaborator.username},
        "/certs": {"name": "forged", "certificate": pem, "key": key},
        f"/certs/{cert}/remove": {"confirm": cert},
        f"/apps/{app_id}/domains/detach": {"domain": host, "cert": cert},
        f"/apps/{app_id}/domains/attach": {"domain": host, "cert": cert},
        "/account/password": {"password": PASSWORD, "new_password": "stolen-pw-1", "repeat": "stolen-pw-1"},
    }
    good = web.csrf()
    for path, fields in forms.items():
        for csrf in ({}, {"csrf": "0" * 64}, {"csrf": good[:-1]}):
            r = web.session.post(web.root + path, data={**fields, **csrf}, allow_redirects=False, timeout=30)
            assert r.status_code == 403, (path, csrf, r.status_code)
            assert "security token is missing or wrong" in r.text
    assert owner.get(f"/v2/apps/{app_id}-new/").status_code == 404
    assert owner.get(f"/v2/apps/{app_id}/").status_code == 200
    assert owner.get(f"/v2/apps/{app_id}/perms/").json()["users"] == [collaborator.username]
    assert owner.get("/v2/certs/forged").status_code == 404
    assert owner.get(f"/v2/certs/{cert}").json()["domains"] == [host]
    assert signed_in(ctl, owner).get("/").status_code == 200  # the password did not change


def test_only_the_owner_or_an_administrator_destroys_an_app(ctl, admin, owner, app_id, setup):
    collaborator, _, _ = setup
    collab_web = signed_in(ctl, collaborator)
    assert 'id="destroy-form"' not in collab_web.get(f"/apps/{app_id}").text
    r = collab_web.post(f"/apps/{app_id}/destroy", {"confirm": app_id}, allow_redirects=False)
    assert r.status_code == 403 and "You do not have permission" in r.text
    assert collaborator.delete(f"/v2/apps/{app_id}/").status_code == 403  # the API's answer alike
    assert owner.get(f"/v2/apps/{app_id}/").status_code == 200

    admin_web = signed_in(ctl, admin)
    assert 'id="destroy-form"' in admin_web.get(f"/apps/{app_id}").text
    r = admin_web.post(f"/apps/{app_id}/destroy", {"confirm": app_id})
    assert r.url.endswith("/dashboard/") and f"Destroyed {app_id}." in r.text
    assert owner.get(f"/v2/apps/{app_id}/").status_code == 404


def test_collaborators_are_managed_as_the_api_allows(ctl, owner, new_user, app_id, setup):
    collaborator, _, _ = setup
    by_api, by_dashboard, stranger = new_user("via-api"), new_user("via-dash"), new_user("stranger")
    # a collaborator grants nobody, by the API or the dashboard (one rule: services/perms.managed_app), and sees
    # no form for it
    assert collaborator.post(f"/v2/apps/{app_id}/perms/", {"username": by_api.username}).status_code == 403
    collab_web = signed_in(ctl, collaborator)
    assert collab_web.post(f"/apps/{app_id}/perms", {"username": by_dashboard.username},
                           allow_redirects=False).status_code == 403
    assert owner.get(f"/v2/apps/{app_id}/perms/").json()["users"] == [collaborator.username]
    assert 'id="perm-add"' not in collab_web.get(f"/apps/{app_id}").text
    assert 'id="perm-add"' in signed_in(ctl, owner).get(f"/apps/{app_id}").text

    stranger_web = signed_in(ctl, stranger)
    for path, fields in ((f"/apps/{app_id}/perms", {"username": stranger.username}),
                         (f"/apps/{app_id}/perms/remove", {"username": collaborator.username})):
        r = stranger_web.post(path, fields, allow_redirects=False)
        assert r.status_code == 403, path
    assert stranger.post(f"/v2/apps/{app_id}/perms/", {"username": stranger.username}).status_code == 403
    assert stranger.username not in owner.get(f"/v2/apps/{app_id}/perms/").json()["users"]


def test_certificates_follow_the_apis_rules(ctl, owner, new_user, app_id, setup):
    collaborator, host, cert = setup
    collab_web = signed_in(ctl, collaborator)
    assert cert not in collab_web.get("/certs").text  # another user's certificate: not listed, as by the API
    assert cert not in str(collaborator.get("/v2/certs/").json())
    r = collab_web.post(f"/apps/{app_id}/domains/detach", {"domain": host, "cert": cert}, page=f"/apps/{app_id}")
    assert "You do not have permission to perform this action." in r.text
    assert owner.get(f"/v2/certs/{cert}").json()["domains"] == [host]
    other = signed_in(ctl, new_user("other"))
    r = other.post(f"/certs/{cert}/remove", {}, page="/certs")
    assert "You do not have permission to perform this action." in r.text
    assert owner.get(f"/v2/certs/{cert}").status_code == 200


def test_the_app_page_shows_tenant_names_as_text(ctl, web, owner, app_id, setup):
    collaborator, host, cert = setup
    page = web.get(f"/apps/{app_id}").text
    assert f'<tr data-domain="{host}"><td>{host}</td>' in page
    assert f'<span class="cert-name">{cert}</span>' in page
    assert f'<tr data-collaborator="{collaborator.username}"><td>{collaborator.username}</td>' in page
    r = web.post("/apps", {"id": "<b>x</b>"})
    assert "<b>x</b>" not in r.text and "App name can only contain" in r.text
