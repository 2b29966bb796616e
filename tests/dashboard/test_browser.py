"""The dashboard in a real browser (Debian's headless Chromium, driven by Selenium through Debian's
chromedriver), against a live controller deploying on the real Swarm: sign in, a deployed app and its releases,
a config change that serves, a rollback, a scale, logs followed while the app writes, and a config value holding
markup shown as text. Screenshots of the main pages go to .cache/screenshots/."""
from __future__ import annotations

import secrets

import pytest
from selenium.webdriver.common.by import By

from tests.controller.deployhelp import build, endpoints, fetch
from tests.dashboard.chromium import chromium, click_and_wait, flash, shot, sign_in, submit, wait
from tests.dashboard.conftest import PASSWORD

pytestmark = pytest.mark.timeout(600)
TICKER = ('(i=0; while true; do i=$((i+1)); echo "tick $SLIPWAY_RELEASE $i"; sleep 0.5; done) & '
          'cd /www && exec httpd -f -p $PORT -h /www')


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def deployed(ctl, admin, prometheus):
    from tests.controller.conftest import register
    owner = register(ctl, f"browser-owner-{secrets.token_hex(3)}", PASSWORD)
    app = f"shop-{secrets.token_hex(3)}"  # the Swarm is shared with other suites' controllers: a name of its own
    assert owner.post("/v2/apps/", {"id": app}).status_code == 201
    prometheus.exporter.add_app(app)  # the router's and the node agent's series for it, as Prometheus scrapes
    r = build(owner, app, procfile={"web": TICKER}, sha="b" * 40)
    assert r.status_code == 201, r.text
    yield owner, app
    owner.delete(f"/v2/apps/{app}/")


def test_sign_in_and_see_the_deployed_app_and_its_releases(ctl, browser, deployed):
    owner, app = deployed
    browser.get(ctl.url + "/dashboard/login")
    shot(browser, "login")
    sign_in(browser, ctl, owner.username)
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-app="{app}"]')
    assert "serving" in row.text and "v2" in row.text
    shot(browser, "apps")
    row.find_element(By.LINK_TEXT, app).click()
    wait(browser, "the app page", lambda d: d.find_elements(By.ID, "releases"))
    assert browser.find_element(By.ID, "state").text == "serving"
    releases = browser.find_element(By.ID, "releases").text
    assert "v2" in releases and f"{owner.username} deployed bbbbbbb" in releases and "v1" in releases
    assert "web v2 running" in browser.find_element(By.ID, "processes").text


def test_a_config_change_serves_then_rolls_back(ctl, browser, deployed):
    owner, app = deployed
    sign_in(browser, ctl, owner.username)
    browser.get(f"{ctl.url}/dashboard/apps/{app}")
    submit(browser, "config-set", key="MESSAGE", value="bonjour")
    assert "Set MESSAGE" in flash(browser)
    assert "added MESSAGE" in browser.find_element(By.CSS_SELECTOR, 'tr[data-version="3"]').text
    assert fetch(endpoints(ctl, app)[0]).startswith("bonjour release=v3")
    value = browser.find_element(By.ID, "value-MESSAGE")
    assert not value.is_displayed()  # masked until revealed
    browser.find_element(By.CSS_SELECTOR, 'tr[data-key="MESSAGE"] summary').click()
    assert value.is_displayed() and value.text == "bonjour"
    shot(browser, "app")

    click_and_wait(browser, browser.find_element(By.ID, "rollback-v2"), "the rollback's outcome")
    assert "Rolled back: v4 serves" in flash(browser)
    assert browser.find_element(By.ID, "serving").text == "v4"
    assert fetch(endpoints(ctl, app)[0]).startswith("hello release=v4")


def test_scale_from_the_form(ctl, browser, deployed):
    owner, app = deployed
    sign_in(browser, ctl, owner.username)
    browser.get(f"{ctl.url}/dashboard/apps/{app}")
    submit(browser, "scale", **{"count-web": "2"})
    assert "Scaled: web=2" in flash(browser), flash(browser)
    assert len(endpoints(ctl, app)) == 2
    rows = browser.find_elements(By.CSS_SELECTOR, "#processes tbody tr")
    assert len(rows) == 2 and all("running" in r.text for r in rows)
    submit(browser, "scale", **{"count-web": "1"})
    assert len(endpoints(ctl, app)) == 1


def test_logs_follow_while_the_app_writes(ctl, browser, deployed):
    owner, app = deployed
    sign_in(browser, ctl, owner.username)
    browser.get(f"{ctl.url}/dashboard/apps/{app}/logs")
    log = browser.find_element(By.ID, "log")
    wait(browser, "the stream to open", lambda d: d.find_element(By.ID, "log-status").text == "following")
    first = log.text
    # new lines arrive without a reload (the page was loaded once)
    wait(browser, "new log lines", lambda d: len(log.text.splitlines()) >= len(first.splitlines()) + 3)
    new = log.text[len(first):]
    assert "tick " in new
    shot(browser, "logs")


def test_markup_in_a_config_value_is_text_in_the_browser(ctl, browser, deployed):
    owner, app = deployed
    sign_in(browser, ctl, owner.username)
    browser.get(f"{ctl.url}/dashboard/apps/{app}")
    hostile = "<script>window.owned = 1</script><img src=x onerror=window.owned=2>"
    submit(browser, "config-set", key="HOSTILE", value=hostile)
    assert "Set HOSTILE" in flash(browser)
    browser.find_element(By.CSS_SELECTOR, 'tr[data-key="HOSTILE"] summary').click()
    assert browser.find_element(By.ID, "value-HOSTILE").text == hostile
    assert browser.execute_script("return window.owned === undefined")
    assert not browser.find_elements(By.CSS_SELECTOR, "#config img")


def test_graphs_and_admin_pages_render(ctl, browser, admin, deployed):
    browser.delete_all_cookies()
    browser.get(ctl.url + "/dashboard/login")
    browser.find_element(By.ID, "username").send_keys(ctl.admin_username)
    browser.find_element(By.ID, "password").send_keys(ctl.admin_password)
    browser.find_element(By.ID, "signin").click()
    wait(browser, "the apps list", lambda d: d.current_url.endswith("/dashboard/"))

    def drawn(driver) -> bool:  # Prometheus needs two scrapes of the app's counters for rate()
        driver.get(f"{ctl.url}/dashboard/apps/{deployed[1]}/graphs")
        return len(driver.find_elements(By.CSS_SELECTOR, "figure.chart svg polyline")) >= 5
    wait(browser, "the graphs", drawn, timeout=30)
    shot(browser, "graphs")
    for page in ("nodes", "users", "health"):
        browser.get(f"{ctl.url}/dashboard/admin/{page}")
        assert browser.find_element(By.TAG_NAME, "h1").text
        shot(browser, page)
