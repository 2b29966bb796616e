"""One live controller (uvicorn, fresh PostgreSQL database, real Swarm scheduler) per test session."""
from __future__ import annotations

import secrets

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tests.live import live_controller

REGISTRY = "registry.slipway.test:5000"  # the platform registry as the controller under test knows it


class Api:
    """A user's view of the API: `api.get("/v2/apps/")` → requests.Response."""

    def __init__(self, url: str, token: str | None = None, username: str | None = None):
        self.url, self.token, self.username = url, token, username
        self.session = requests.Session()
        # Through the router (the platform suites), nginx closes idle keep-alive connections when it reloads for a
        # route change; a request sent on one at that moment gets no answer. Idempotent requests are sent again
        # on a new connection, as browsers do; other requests always go on a new connection and are never retried.
        retry = Retry(total=2, connect=2, read=2, status=0, other=0, backoff_factor=0.1, raise_on_status=False)
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def headers(self) -> dict:
        return {"Authorization": f"token {self.token}"} if self.token else {}

    def request(self, method: str, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 180)
        if method not in Retry.DEFAULT_ALLOWED_METHODS:
            self.session.close()  # the pool opens a new connection: no idle one that nginx may be closing
        return self.session.request(method, self.url + path, headers={**self.headers(), **kw.pop("headers", {})},
                                    **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json if json is not None else {}, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def register(ctl, username: str, password: str = "secret-pw") -> Api:
    """A new user, made by the platform's admin (registration is admin_only by default), logged in."""
    r = Api(ctl.url, ctl.admin_token).post("/v2/auth/register/", {"username": username, "password": password})
    assert r.status_code == 201, r.text
    r = requests.post(ctl.url + "/v2/auth/login/", json={"username": username, "password": password}, timeout=30)
    assert r.status_code == 200, r.text
    return Api(ctl.url, r.json()["token"], username)


@pytest.fixture(scope="session")
def ctl():
    with live_controller(SLIPWAY_HEALTH_TIMEOUT="30", SLIPWAY_DRAIN_SECONDS="0.5",
                         SLIPWAY_MONITOR_INTERVAL="1", SLIPWAY_ROUTER_ALIVE_SECONDS="3",
                         SLIPWAY_REGISTRY=REGISTRY, SLIPWAY_PUSH_TOKEN_TTL="3600") as controller:
        yield controller


@pytest.fixture(scope="session")
def admin(ctl) -> Api:
    return Api(ctl.url, ctl.admin_token, ctl.admin_username)  # made by the bootstrap command


@pytest.fixture
def new_user(ctl, admin):
    def make(prefix: str = "user") -> Api:
        return register(ctl, f"{prefix}-{secrets.token_hex(3)}")
    return make


@pytest.fixture
def owner(new_user) -> Api:
    return new_user("owner")


@pytest.fixture
def app_id(owner) -> str:
    name = f"app-{secrets.token_hex(4)}"
    r = owner.post("/v2/apps/", {"id": name})
    assert r.status_code == 201, r.text
    return name


@pytest.fixture
def anon(ctl) -> Api:
    return Api(ctl.url)
