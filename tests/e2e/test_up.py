"""What `make up` gives a newcomer, checked as they would check it: scripts/up.sh (its steps after the converge)
registers a user, pushes the sample app from this machine over the builder's published SSH port, and prints the
app's URL, the dashboard's URL and the sign-in. The app URL opens from this machine (curl resolves *.localhost to
the loopback address, as browsers do), and the printed sign-in opens the dashboard in a real browser, which lists
the app."""
from __future__ import annotations

import os
import re
import subprocess

import pytest
from selenium.webdriver.common.by import By

from tests.dashboard.chromium import chromium, shot, wait

from .conftest import ROOT, unique

pytestmark = pytest.mark.timeout(900)


def printed(out: str, label: str) -> str:
    m = re.search(rf"^\s+{label}:\s+(\S+)", out, re.M)
    assert m, f"`make up` printed no {label}:\n{out}"
    return m.group(1)


def test_make_up_prints_urls_that_open_here_and_a_sign_in_that_works(aio, tmp_path):
    app, username = unique("up-"), unique("newcomer")
    env = dict(os.environ, SLIPWAY_UP_APP=app, SLIPWAY_UP_USER=username, SLIPWAY_UP_STATE=str(tmp_path / "up"),
               PATH=f"{ROOT}/.venv/bin:{os.environ['PATH']}")
    p = subprocess.run(["scripts/up.sh"], cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=600)
    assert p.returncode == 0, p.stdout[-5000:]
    out = p.stdout

    # pushed from this machine, to the builder published on 127.0.0.1
    assert re.search(r"git push .*ssh://git@127\.0\.0\.1:\d+/", out) and "docker exec" not in out, out
    url = printed(out, "App")
    assert re.fullmatch(rf"http://{app}\.[a-z0-9.-]*localhost:\d+/", url), url
    answer = subprocess.run(["curl", "-fsS", "-m", "10", url], text=True, capture_output=True)
    assert answer.returncode == 0 and "Hello from Slipway" in answer.stdout, (answer.stdout, answer.stderr)

    dashboard = printed(out, "Dashboard")
    assert dashboard.startswith("https://localhost:") and dashboard.endswith("/dashboard/"), dashboard
    m = re.search(r"^\s+Sign in:\s+(\S+) / (\S+)", out, re.M)
    assert m and m.group(1) == username, out
    with chromium(test_host_tls=True) as browser:
        browser.get(dashboard)
        wait(browser, "the sign-in page", lambda d: d.find_elements(By.ID, "username"))
        browser.find_element(By.ID, "username").send_keys(m.group(1))
        browser.find_element(By.ID, "password").send_keys(m.group(2))
        browser.find_element(By.ID, "signin").click()
        wait(browser, "the apps list", lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-app="{app}"]'))
        assert "serving" in browser.find_element(By.CSS_SELECTOR, f'tr[data-app="{app}"]').text
        shot(browser, "make-up-dashboard")
