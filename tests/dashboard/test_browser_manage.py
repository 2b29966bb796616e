"""Managing apps in a real browser (Debian's headless Chromium) against a live controller: create an app and
destroy it (typing its name), add a collaborator who then sees the app while a stranger does not, remove them,
add a certificate from PEM, a domain, and attach and detach the certificate."""
from __future__ import annotations

import secrets

import pytest
from selenium.webdriver.common.by import By

from tests.controller.certgen import self_signed
from tests.dashboard.chromium import chromium, flash, shot, sign_in, submit

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


def listed(browser) -> set[str]:
    return {row.get_attribute("data-app") for row in browser.find_elements(By.CSS_SELECTOR, "tr[data-app]")}


def test_create_an_app_then_destroy_it_typing_its_name(ctl, browser, owner):
    name = f"made-{secrets.token_hex(3)}"
    sign_in(browser, ctl, owner.username)
    submit(browser, "app-create", id=name)
    assert flash(browser) == f"Created {name}: push to it to deploy."
    assert browser.current_url.endswith(f"/dashboard/apps/{name}")
    assert browser.find_element(By.ID, "state").text == "empty"
    assert owner.get(f"/v2/apps/{name}/").json()["owner"] == owner.username
    shot(browser, "app-created")

    submit(browser, "destroy-form", confirm=name + "x")
    assert flash(browser) == f"Type the app's name, {name}, to destroy it."
    assert owner.get(f"/v2/apps/{name}/").status_code == 200
    submit(browser, "destroy-form", confirm=name)
    assert flash(browser) == f"Destroyed {name}."
    assert browser.current_url.endswith("/dashboard/")
    assert name not in listed(browser)
    assert owner.get(f"/v2/apps/{name}/").status_code == 404

    submit(browser, "app-create", id="Not A Name")
    assert "App name can only contain" in flash(browser)


def test_a_collaborator_sees_the_app_a_stranger_does_not(ctl, browser, owner, new_user, app_id):
    collaborator, stranger = new_user("collab"), new_user("stranger")
    sign_in(browser, ctl, owner.username)
    browser.get(f"{ctl.url}/dashboard/apps/{app_id}")
    assert browser.find_element(By.ID, "no-collaborators").text == "No collaborators."
    submit(browser, "perm-add", username=collaborator.username)
    assert flash(browser) == f"{collaborator.username} may now use {app_id}."
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-collaborator="{collaborator.username}"]')
    assert row.text.startswith(collaborator.username)
    submit(browser, "perm-add", username="nobody-at-all")
    assert flash(browser) == "No user named nobody-at-all."
    shot(browser, "collaborators")

    sign_in(browser, ctl, collaborator.username)
    assert app_id in listed(browser)
    browser.get(f"{ctl.url}/dashboard/apps/{app_id}")
    assert collaborator.username in browser.find_element(By.ID, "collaborators").text
    assert not browser.find_elements(By.ID, "destroy-form")  # the owner's or an administrator's alone

    sign_in(browser, ctl, stranger.username)
    assert app_id not in listed(browser)
    browser.get(f"{ctl.url}/dashboard/apps/{app_id}")
    assert "You do not have permission" in browser.find_element(By.TAG_NAME, "main").text

    sign_in(browser, ctl, owner.username)
    browser.get(f"{ctl.url}/dashboard/apps/{app_id}")
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-collaborator="{collaborator.username}"]')
    submit(browser, row.find_element(By.TAG_NAME, "form"))
    assert flash(browser) == f"{collaborator.username} no longer collaborates on {app_id}."
    assert owner.get(f"/v2/apps/{app_id}/perms/").json()["users"] == []
    sign_in(browser, ctl, collaborator.username)
    assert app_id not in listed(browser)


def test_add_a_certificate_and_a_domain_then_attach_and_detach(ctl, browser, owner, app_id):
    host = f"www.{app_id}.example.com"
    name = f"cert-{app_id}"
    pem, key = self_signed(host)
    sign_in(browser, ctl, owner.username)
    browser.get(f"{ctl.url}/dashboard/certs")
    submit(browser, "cert-add", name=name, certificate=pem, key=key)
    assert flash(browser) == f"Added {name} ({host})."
    assert host in browser.find_element(By.CSS_SELECTOR, f'tr[data-cert="{name}"]').text
    submit(browser, "cert-add", name=name + "-bad", certificate=pem, key=self_signed(host)[1])
    assert flash(browser) == "key does not match the certificate"

    browser.get(f"{ctl.url}/dashboard/apps/{app_id}")
    submit(browser, "domain-add", domain=host)
    assert flash(browser) == f"Added {host}."
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-domain="{host}"]')
    submit(browser, row.find_element(By.CSS_SELECTOR, "form.attach"))
    assert flash(browser) == f"{host} is served with {name}."
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-domain="{host}"]')
    assert row.find_element(By.CLASS_NAME, "cert-name").text == name
    assert owner.get(f"/v2/certs/{name}").json()["domains"] == [host]
    shot(browser, "domains")

    submit(browser, row.find_element(By.CSS_SELECTOR, "form.detach"))
    assert flash(browser) == f"Detached {name} from {host}."
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-domain="{host}"]')
    assert not row.find_elements(By.CLASS_NAME, "cert-name")
    assert owner.get(f"/v2/certs/{name}").json()["domains"] == []
