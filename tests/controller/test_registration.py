"""Registration modes: enabled (default), admin_only, disabled."""
from __future__ import annotations

import requests

from tests.live import live_controller

from .conftest import register


def test_admin_only_and_disabled_registration():
    with live_controller(SLIPWAY_REGISTRATION_MODE="admin_only", SLIPWAY_MONITOR_INTERVAL="0") as ctl:
        admin = register(ctl.url, "root")  # the first user may always register, and becomes admin
        body = {"username": "newbie", "password": "pw"}
        assert requests.post(ctl.url + "/v2/auth/register/", json=body).status_code == 401
        bob = admin.post("/v2/auth/register/", body)
        assert bob.status_code == 201 and bob.json()["is_superuser"] is False
    with live_controller(SLIPWAY_REGISTRATION_MODE="disabled", SLIPWAY_MONITOR_INTERVAL="0") as ctl:
        register(ctl.url, "root")
        r = requests.post(ctl.url + "/v2/auth/register/", json={"username": "late", "password": "pw"})
        assert r.status_code == 403 and "disabled" in r.json()["detail"]
