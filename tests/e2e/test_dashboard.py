"""The dashboard on the all-in-one host, as a user reaches it: through the router's HTTPS port published on
127.0.0.1 (the controller's address), in a real browser (Debian's headless Chromium). A user signs in, sees their
pushed app serving with its release, and its graphs drawn from the monitor's Prometheus with the requests just
sent through the router; a stranger sees none of it."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.dashboard.chromium import chromium, shot, wait

from .conftest import wait_for
from .test_metrics import SCRAPE, requested_app

pytestmark = pytest.mark.timeout(900)


def sign_in(driver, base: str, user) -> None:
    driver.delete_all_cookies()
    driver.get(base + "/dashboard/login")
    driver.find_element(By.ID, "username").send_keys(user.name)
    driver.find_element(By.ID, "password").send_keys(user.password)
    driver.find_element(By.ID, "signin").click()
    wait(driver, "the apps list", lambda d: d.current_url.endswith("/dashboard/"))


def drawn_charts(driver, url: str) -> set[str]:
    """The titles of the charts the graphs page draws a line in (rates need two scrapes of a new series)."""
    driver.get(url)
    charts = driver.find_elements(By.CSS_SELECTOR, "figure.chart")
    return {c.find_element(By.TAG_NAME, "figcaption").text for c in charts if c.find_elements(By.TAG_NAME, "polyline")}


def test_a_user_sees_their_app_and_its_graphs_through_the_router(aio, user_factory):
    owner = user_factory("viewer")
    app = requested_app(aio, owner, "viewed-", ok=20)
    stranger = user_factory("onlooker")
    base = aio["api"]
    with chromium(test_host_tls=True) as browser:
        sign_in(browser, base, owner)
        row = browser.find_element(By.CSS_SELECTOR, f'tr[data-app="{app}"]')
        assert "serving" in row.text, row.text
        row.find_element(By.LINK_TEXT, app).click()
        wait(browser, "the app page", lambda d: d.find_elements(By.ID, "releases"))
        assert browser.find_element(By.ID, "state").text == "serving"
        assert "v2" in browser.find_element(By.ID, "releases").text
        shot(browser, "aio-app")
        wait_for(lambda: drawn_charts(browser, f"{base}/dashboard/apps/{app}/graphs") >= {"Requests", "CPU"},
                 timeout=4 * SCRAPE + 10, interval=2, message="the request rate and CPU drawn")
        shot(browser, "aio-graphs")

        sign_in(browser, base, stranger)
        assert not browser.find_elements(By.CSS_SELECTOR, f'tr[data-app="{app}"]')
        browser.get(f"{base}/dashboard/apps/{app}")
        assert not browser.find_elements(By.ID, "releases")
        assert not drawn_charts(browser, f"{base}/dashboard/apps/{app}/graphs")
