"""One live controller (uvicorn, fresh PostgreSQL database, real Swarm scheduler) for the dashboard's tests,
reading metrics from the real Prometheus (tests/dashboard/prometheus.py); a dashboard client that signs in as a
browser does (cookies, the forms' CSRF tokens)."""
from __future__ import annotations

import re
import subprocess

import pytest
import requests

from tests.controller.conftest import Api, app_id, new_user, owner  # noqa: F401 - fixtures
from tests.dashboard.prometheus import running_prometheus
from tests.live import live_controller

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Web:
    """A user's browser session on the dashboard, without the browser: `web.get("/")`, `web.post(path, fields)`
    (with the CSRF token of the page it came from)."""

    def __init__(self, url: str):
        self.root = url + "/dashboard"
        self.session = requests.Session()

    def get(self, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 60)
        return self.session.get(self.root + path, **kw)

    def csrf(self, page: str = "/") -> str:
        found = CSRF.search(self.get(page).text)
        assert found, f"no CSRF token on {page}"
        return found.group(1)

    def post(self, path: str, fields: dict, page: str | None = None, **kw) -> requests.Response:
        """POST `fields` with the CSRF token of `page` (default: the path's own app page or the apps list)."""
        fields = {"csrf": self.csrf(page or "/"), **fields}
        kw.setdefault("timeout", 180)
        kw.setdefault("allow_redirects", True)
        return self.session.post(self.root + path, data=fields, **kw)

    def sign_in(self, username: str, password: str) -> requests.Response:
        page = self.get("/login")
        token = CSRF.search(page.text).group(1)
        return self.session.post(self.root + "/login", data={"csrf": token, "username": username,
                                                            "password": password}, timeout=60)


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory):
    """Debian's Prometheus scraping the test exporter every second; `prometheus.exporter.add_app(app)` to give
    an app series."""
    with running_prometheus(str(tmp_path_factory.mktemp("prometheus"))) as prom:
        yield prom


@pytest.fixture(scope="session")
def ctl(prometheus):
    subprocess.run(["scripts/build-test-image.sh", "web"], check=True)
    with live_controller(SLIPWAY_HEALTH_TIMEOUT="30", SLIPWAY_DRAIN_SECONDS="0.5", SLIPWAY_MONITOR_INTERVAL="1",
                         SLIPWAY_ROUTER_ALIVE_SECONDS="3", SLIPWAY_PROMETHEUS_URL=prometheus.url) as controller:
        yield controller


@pytest.fixture(scope="session")
def admin(ctl) -> Api:
    return Api(ctl.url, ctl.admin_token, ctl.admin_username)


PASSWORD = "secret-pw"  # what tests.controller.conftest.register gives users


def signed_in(ctl, api: Api) -> Web:
    """`api`'s user (a registered one, or the platform's admin) signed in to the dashboard."""
    web = Web(ctl.url)
    r = web.sign_in(api.username, ctl.admin_password if api.username == ctl.admin_username else PASSWORD)
    assert r.status_code == 200 and r.url.endswith("/dashboard/"), (r.status_code, r.url, r.text[:500])
    return web


@pytest.fixture
def web(ctl, owner) -> Web:
    """The owner, signed in to the dashboard."""
    return signed_in(ctl, owner)
