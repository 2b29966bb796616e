"""The dashboard's defences, over HTTP against a live controller: security headers, signed HttpOnly cookies
(Secure behind HTTPS), CSRF tokens on every form, the API's login throttling, sign-out ending the session."""
from __future__ import annotations

import requests

from tests.dashboard.conftest import CSRF, PASSWORD, Web, signed_in


def test_every_answer_carries_the_security_headers(ctl, web, app_id):
    for path in ("/login", "/", f"/apps/{app_id}", "/static/dashboard.css", "/apps/nope"):
        r = web.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "'unsafe-inline'" not in csp
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "same-origin"
    page = web.get(f"/apps/{app_id}")
    assert page.headers["Cache-Control"] == "no-store"
    assert "<script>" not in page.text and " style=" not in page.text and " on" + "click" not in page.text


def test_the_session_cookie_is_signed_httponly_and_lax(ctl, owner):
    web = Web(ctl.url)
    r = web.sign_in(owner.username, PASSWORD)
    cookie = next(c for c in r.history[0].raw.headers.getlist("Set-Cookie") if c.startswith("slipway_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/dashboard/" in cookie
    assert "Secure" not in cookie  # plain HTTP here
    token = web.session.cookies["slipway_session"]
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    forged = requests.get(ctl.url + "/dashboard/", cookies={"slipway_session": tampered}, allow_redirects=False,
                          timeout=30)
    assert forged.status_code == 303 and forged.headers["Location"].endswith("/dashboard/login")


def test_behind_an_https_router_the_cookie_is_secure(ctl, owner):
    """The controller's peer is loopback, a trusted proxy here: its X-Forwarded-Proto is believed."""
    login = requests.get(ctl.url + "/dashboard/login", headers={"X-Forwarded-Proto": "https"}, timeout=30)
    assert "Secure" in login.headers["Set-Cookie"]
    csrf = CSRF.search(login.text).group(1)
    nonce = login.headers["Set-Cookie"].split(";")[0]  # a Secure cookie: sent by hand over this plain socket
    r = requests.post(ctl.url + "/dashboard/login", headers={"X-Forwarded-Proto": "https", "Cookie": nonce},
                      data={"csrf": csrf, "username": owner.username, "password": PASSWORD}, allow_redirects=False,
                      timeout=30)
    assert r.status_code == 303
    assert "Secure" in r.headers["Set-Cookie"] and "slipway_session=" in r.headers["Set-Cookie"]


def test_a_form_without_its_csrf_token_is_refused(ctl, web, owner, app_id):
    for fields in ({}, {"csrf": "0" * 64}, {"csrf": web.csrf() + "0"}):
        r = web.session.post(web.root + f"/apps/{app_id}/config", data={**fields, "key": "A", "value": "1"},
                             timeout=30)
        assert r.status_code == 403, fields
    assert owner.get(f"/v2/apps/{app_id}/config/").json()["values"] == {}
    # a made-up CSRF token does not pass, even with the session's own cookie
    other = Web(ctl.url)
    assert other.get("/login").status_code == 200
    r = web.session.post(web.root + "/logout", data={"csrf": "x"}, allow_redirects=False, timeout=30)
    assert r.status_code == 403
    # a cross-site form post carries no session cookie at all (SameSite=Lax): it is sent to sign in
    r = requests.post(web.root + f"/apps/{app_id}/config", data={"csrf": web.csrf(), "key": "A", "value": "1"},
                      allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"].endswith("/dashboard/login")


def test_the_sign_in_form_has_its_own_csrf_token(ctl, owner):
    r = requests.post(ctl.url + "/dashboard/login", data={"username": owner.username, "password": PASSWORD},
                      allow_redirects=False, timeout=30)
    assert r.status_code == 403 and "slipway_session" not in r.headers.get("Set-Cookie", "")


def test_wrong_passwords_are_throttled_as_the_api_throttles(ctl, new_user):
    user = new_user("throttled")
    web = Web(ctl.url)
    codes = [web.sign_in(user.username, "wrong-password").status_code for _ in range(21)]
    assert codes[:20] == [400] * 20 and codes[20] == 429
    assert "Too many login attempts" in web.sign_in(user.username, PASSWORD).text
    api = requests.post(ctl.url + "/v2/auth/login/", json={"username": user.username, "password": PASSWORD},
                        timeout=30)
    assert api.status_code == 429  # one throttle for both doors


def test_signing_out_revokes_the_session(ctl, owner):
    web = signed_in(ctl, owner)
    cookie = web.session.cookies["slipway_session"]
    r = web.post("/logout", {})
    assert r.url.endswith("/dashboard/login")
    replayed = requests.get(ctl.url + "/dashboard/", cookies={"slipway_session": cookie}, allow_redirects=False,
                            timeout=30)
    assert replayed.status_code == 303  # the token behind the cookie is gone


def test_a_new_password_ends_dashboard_sessions(ctl, admin, owner):
    web = signed_in(ctl, owner)
    r = admin.post("/v2/auth/passwd/", {"username": owner.username, "new_password": "another-pw-1"})
    assert r.status_code == 200, r.text
    assert web.get("/", allow_redirects=False).status_code == 303
