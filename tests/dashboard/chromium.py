"""Debian's headless Chromium driven by Selenium through Debian's chromedriver (no browser download), with a fresh
profile; screenshots into .cache/screenshots/ (test output, not committed); signing in and posting forms as a
user does."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import WebDriverWait

from tests.dashboard.conftest import PASSWORD
from tests.live import ROOT

SHOTS = os.path.join(ROOT, ".cache", "screenshots")


@contextlib.contextmanager
def chromium(test_host_tls: bool = False):
    """A browser; with `test_host_tls`, it accepts a test host's certificate (signed by the platform CA)."""
    profile = tempfile.mkdtemp(prefix="slipway-chromium-")
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1280,1000"):
        options.add_argument(flag)
    if test_host_tls:
        # Chromium reads no CA file of its own: a test host's certificate is accepted as a user who added the
        # platform CA to their system would accept it
        options.set_capability("acceptInsecureCerts", True)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(240)  # a config change or a rollback answers once its release serves
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def shot(driver, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))


def wait(driver, what, check, timeout: float = 60, ignored=()):
    return WebDriverWait(driver, timeout, poll_frequency=0.3, ignored_exceptions=ignored).until(
        lambda d: check(d), message=what)


def sign_in(driver, ctl, username: str) -> None:
    driver.delete_all_cookies()
    driver.get(ctl.url + "/dashboard/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "signin").click()
    wait(driver, "the apps list", lambda d: d.current_url.endswith("/dashboard/"))


def flash(driver) -> str:
    return driver.find_element(By.ID, "flash").text


def submit(driver, form, **fields) -> None:
    """Fill in and send a form (its id, or the element), then wait for the answer's flash message."""
    form = driver.find_element(By.ID, form) if isinstance(form, str) else form
    for name, value in fields.items():
        box = form.find_element(By.NAME, name)
        box.clear()
        box.send_keys(value)
    click_and_wait(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"), "the outcome of the form")


def click_and_wait(driver, button, what: str) -> None:
    """Click a button that posts a form, then wait for the page it answers with and its flash message (not the
    page it was on, which may hold a flash of its own)."""
    page = driver.find_element(By.TAG_NAME, "html")
    button.click()
    # while the browser is between the two pages, chromedriver may answer a look at the old one with an error of its
    # own ("unhandled inspector error") rather than "stale": look again
    wait(driver, what, lambda d: staleness_of(page)(d) and d.find_elements(By.ID, "flash"), timeout=240,
         ignored=(WebDriverException,))
