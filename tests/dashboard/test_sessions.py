"""Dashboard sessions over HTTP, against a controller of their own whose sessions are short
(SLIPWAY_DASHBOARD_SESSION_LIFETIME, SLIPWAY_DASHBOARD_IDLE_TIMEOUT): a session left idle ends, one in use
lives on until its lifetime ends, an ended session's token is revoked, and a new password set on the account
page ends the user's other sessions and keeps the one that set it."""
from __future__ import annotations

import base64
import json
import secrets
import time

import pytest
import requests

from tests.controller.conftest import register
from tests.dashboard.conftest import PASSWORD, signed_in
from tests.live import live_controller

LIFETIME, IDLE = 9.0, 3.0


@pytest.fixture(scope="module")
def short():
    with live_controller(SLIPWAY_DASHBOARD_SESSION_LIFETIME=str(LIFETIME),
                         SLIPWAY_DASHBOARD_IDLE_TIMEOUT=str(IDLE)) as controller:
        yield controller


@pytest.fixture
def user(short):
    return register(short, f"sess-{secrets.token_hex(3)}", PASSWORD)


def token_of(web) -> str:
    """The API token a session cookie holds (signed, not hidden: the browser holds it either way)."""
    payload = web.session.cookies["slipway_session"].split(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["t"]


def whoami(ctl, token: str) -> int:
    return requests.get(ctl.url + "/v2/auth/whoami/", headers={"Authorization": f"token {token}"},
                        timeout=30).status_code


def signed_out(web) -> bool:
    r = web.get("/", allow_redirects=False)
    return r.status_code == 303 and r.headers["Location"].endswith("/dashboard/login")


def test_an_idle_session_ends_and_its_token_is_revoked(short, user):
    web = signed_in(short, user)
    token = token_of(web)
    assert whoami(short, token) == 200
    time.sleep(IDLE + 0.5)
    assert signed_out(web)
    assert whoami(short, token) == 401  # the session's token serves nobody afterwards
    assert web.get("/").url.endswith("/dashboard/login")


def test_a_session_in_use_lives_until_its_lifetime_ends(short, user):
    web = signed_in(short, user)
    started = time.monotonic()
    while time.monotonic() - started < LIFETIME - 2:
        assert web.get("/", allow_redirects=False).status_code == 200, time.monotonic() - started
        time.sleep(1)  # well within the idle timeout: each page re-signs the cookie
    assert time.monotonic() - started > IDLE * 2
    time.sleep(max(0.0, LIFETIME + 0.5 - (time.monotonic() - started)))
    assert signed_out(web)


def test_a_copy_of_an_old_cookie_ends_at_its_own_idle_time(short, user):
    web = signed_in(short, user)
    old = web.session.cookies["slipway_session"]
    for _ in range(4):
        time.sleep(1)
        assert web.get("/", allow_redirects=False).status_code == 200
    assert web.session.cookies["slipway_session"] != old  # re-signed with the time of the last request
    replayed = requests.get(short.url + "/dashboard/", cookies={"slipway_session": old}, allow_redirects=False,
                            timeout=30)
    assert replayed.status_code == 303


def test_a_new_password_ends_the_other_sessions_and_keeps_this_one(short, user):
    here, elsewhere = signed_in(short, user), signed_in(short, user)
    r = here.post("/account/password", {"password": "wrong-pw", "new_password": "new-secret-1",
                                        "repeat": "new-secret-1"}, page="/account")
    assert "Current password does not match." in r.text
    r = here.post("/account/password", {"password": PASSWORD, "new_password": "new-secret-1",
                                        "repeat": "new-secret-2"}, page="/account")
    assert "The new password and its repetition differ." in r.text
    assert not signed_out(elsewhere)
    r = here.post("/account/password", {"password": PASSWORD, "new_password": "new-secret-1",
                                        "repeat": "new-secret-1"}, page="/account")
    assert "Your password changed; your other sessions ended." in r.text
    assert signed_out(elsewhere)
    assert whoami(short, user.token) == 401  # the API token of the earlier login, too
    assert not signed_out(here)
    assert requests.post(short.url + "/v2/auth/login/", json={"username": user.username,
                                                              "password": "new-secret-1"}, timeout=30).ok
