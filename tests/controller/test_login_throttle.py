"""Login throttling counts the real client: the router's forwarded address only from trusted proxies, and one
client's failures never lock a user out for everyone else."""
from __future__ import annotations

import requests

from tests.live import live_controller

from .conftest import register

LIMIT = 5


def login(ctl, username: str, password: str, forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return requests.post(ctl.url + "/v2/auth/login/", json={"username": username, "password": password},
                         headers=headers, timeout=30).status_code


def test_an_attacker_behind_the_router_does_not_lock_the_user_out():
    with live_controller(SLIPWAY_LOGIN_ATTEMPTS_PER_MINUTE=str(LIMIT), SLIPWAY_MONITOR_INTERVAL="0") as ctl:
        victim = register(ctl, "victim")
        codes = [login(ctl, victim.username, "wrong-password", "203.0.113.7") for _ in range(LIMIT + 3)]
        assert codes[0] == 400 and codes[-1] == 429, codes
        assert login(ctl, victim.username, "secret-pw", "198.51.100.20") == 200
        assert login(ctl, victim.username, "secret-pw", "203.0.113.7") == 429


def test_forwarded_addresses_from_an_untrusted_peer_are_ignored():
    """The test client connects from 127.0.0.1: with no trusted proxy, X-Forwarded-For is the caller's own
    claim, so rotating it does not escape the limit."""
    with live_controller(SLIPWAY_LOGIN_ATTEMPTS_PER_MINUTE=str(LIMIT), SLIPWAY_TRUSTED_PROXIES="",
                         SLIPWAY_MONITOR_INTERVAL="0") as ctl:
        user = register(ctl, "spoofed")
        codes = [login(ctl, user.username, "wrong-password", f"192.0.2.{n}") for n in range(LIMIT + 3)]
        assert codes[-1] == 429, codes


def test_one_client_spraying_many_usernames_is_throttled():
    with live_controller(SLIPWAY_LOGIN_ATTEMPTS_PER_MINUTE="100", SLIPWAY_LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE="8",
                         SLIPWAY_MONITOR_INTERVAL="0") as ctl:
        user = register(ctl, "sprayed")
        codes = [login(ctl, f"nobody-{n}", "guess-guess", "203.0.113.9") for n in range(12)]
        assert codes[0] == 400 and codes[-1] == 429, codes
        assert login(ctl, user.username, "secret-pw", "198.51.100.21") == 200
