"""Domains (unique, wildcard), certificates (checked, attached) and what the router is told."""
from __future__ import annotations

import secrets
import threading
import time

import pytest
import requests

from .certgen import self_signed


def routes(ctl) -> dict:
    r = requests.get(ctl.url + "/v2/routes", headers={"X-Slipway-Router-Auth": ctl.router_key})
    assert r.status_code == 200
    return r.json()


def app_route_of(body: dict, app_id) -> dict:
    return next(a for a in body["apps"] if a["id"] == app_id)


def app_route(ctl, app_id) -> dict:
    return app_route_of(routes(ctl), app_id)


def test_add_and_remove_domains(ctl, owner, app_id, new_user):
    host = f"{app_id}.example.com"
    assert owner.post(f"/v2/apps/{app_id}/domains/", {"domain": host.upper()}).status_code == 201
    assert host in app_route(ctl, app_id)["domains"]
    other = new_user()
    other_app = other.post("/v2/apps/", {}).json()["id"]
    assert other.post(f"/v2/apps/{other_app}/domains/", {"domain": host}).status_code == 409
    assert owner.post(f"/v2/apps/{app_id}/domains/", {"domain": f"*.{app_id}.example.org"}).status_code == 201
    assert owner.delete(f"/v2/apps/{app_id}/domains/{host}").status_code == 204
    assert host not in app_route(ctl, app_id)["domains"]


@pytest.mark.parametrize("bad", ["nodot", "under_score.com", "-lead.com", "a..b.com", "*.*.com", "x" * 64 + ".com"])
def test_invalid_domains_are_refused(owner, app_id, bad):
    r = owner.post(f"/v2/apps/{app_id}/domains/", {"domain": bad})
    assert r.status_code == 400 and r.json()["domain"][0]


def test_cert_upload_attach_and_routes(ctl, owner, app_id):
    host = f"{app_id}.example.com"
    owner.post(f"/v2/apps/{app_id}/domains/", {"domain": host})
    cert, key = self_signed(host)
    name = f"c-{secrets.token_hex(3)}"
    r = owner.post("/v2/certs/", {"name": name, "certificate": cert, "key": key})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["common_name"] == host and body["san"] == [host] and "key" not in body
    assert owner.post(f"/v2/certs/{name}/domain/", {"domain": host}).status_code == 201
    route = app_route(ctl, app_id)
    assert route["certs"][host]["certificate"] == cert and route["certs"][host]["key"] == key
    assert owner.get(f"/v2/certs/{name}").json()["domains"] == [host]
    assert owner.delete(f"/v2/certs/{name}/domain/{host}").status_code == 204
    assert host not in app_route(ctl, app_id)["certs"]


def test_bad_pem_mismatched_key_and_uncovered_domain(owner, app_id):
    cert, key = self_signed("a.example.com")
    _, other_key = self_signed("a.example.com")
    assert owner.post("/v2/certs/", {"name": "bad1", "certificate": "junk", "key": key}).status_code == 400
    assert owner.post("/v2/certs/", {"name": "bad2", "certificate": cert, "key": "junk"}).status_code == 400
    r = owner.post("/v2/certs/", {"name": "bad3", "certificate": cert, "key": other_key})
    assert r.status_code == 400 and "does not match" in r.json()["detail"]
    name = f"c-{secrets.token_hex(3)}"
    assert owner.post("/v2/certs/", {"name": name, "certificate": cert, "key": key}).status_code == 201
    r = owner.post(f"/v2/certs/{name}/domain/", {"domain": f"{app_id}.slipway.test"})
    assert r.status_code == 400 and "does not cover" in r.json()["detail"]


def test_weak_rsa_key_is_refused_and_not_stored(owner):
    """A 1024-bit RSA key would make every router's nginx -t fail (OpenSSL security level 2): refused at upload."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "weak.example.com")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=2)).sign(key, hashes.SHA256()))
    name = f"weak-{secrets.token_hex(3)}"
    r = owner.post("/v2/certs/", {
        "name": name, "certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "key": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()})
    assert r.status_code == 400, r.text
    assert "RSA key of 1024 bits" in r.json()["detail"] and "2048" in r.json()["detail"]
    assert owner.get(f"/v2/certs/{name}").status_code == 404
    assert name not in [c["name"] for c in owner.get("/v2/certs/?limit=1000").json()["results"]]


def test_settings_change_routes_without_a_release(ctl, owner, app_id):
    before = routes(ctl)["generation"]
    r = owner.post(f"/v2/apps/{app_id}/settings/", {"maintenance": True, "whitelist": ["10.0.0.0/8", "1.2.3.4"]})
    assert r.status_code == 200 and r.json()["whitelist"] == ["1.2.3.4/32", "10.0.0.0/8"]
    route = app_route(ctl, app_id)
    assert route["maintenance"] is True and routes(ctl)["generation"] > before
    assert owner.get(f"/v2/apps/{app_id}/releases/").json()["count"] == 1
    r = owner.post(f"/v2/apps/{app_id}/settings/", {"whitelist": ["not-an-ip"]})
    assert r.status_code == 400 and r.json()["whitelist"] == ["'not-an-ip' is not an IP address or CIDR"], r.text
    owner.post(f"/v2/apps/{app_id}/settings/", {"routable": False})
    assert app_id not in [a["id"] for a in routes(ctl)["apps"]]


def test_routes_long_poll_answers_on_change_and_304_when_quiet(ctl, owner, app_id):
    hdr = {"X-Slipway-Router-Auth": ctl.router_key}
    gen = routes(ctl)["generation"]
    r = requests.get(f"{ctl.url}/v2/routes?generation={gen}&wait=0.5", headers=hdr)
    assert r.status_code == 304
    owner.post(f"/v2/apps/{app_id}/domains/", {"domain": f"{app_id}.poll.example.com"})
    r = requests.get(f"{ctl.url}/v2/routes?generation={gen}&wait=5", headers=hdr)
    assert r.status_code == 200 and r.json()["generation"] > gen
    assert r.headers["ETag"] == f'"{r.json()["generation"]}"'
    assert requests.post(f"{ctl.url}/v2/routes/ack/", json={"router": "r1", "generation": gen + 1},
                         headers=hdr).status_code == 204
    assert requests.get(f"{ctl.url}/v2/routes", headers={"Authorization": f"token {owner.token}"}).status_code == 401


def test_a_waiting_router_hears_of_a_change_at_once(ctl, owner, app_id):
    hdr = {"X-Slipway-Router-Auth": ctl.router_key}
    gen = routes(ctl)["generation"]
    answered = {}

    def long_poll():
        r = requests.get(f"{ctl.url}/v2/routes?generation={gen}&wait=20", headers=hdr, timeout=30)
        answered["at"], answered["body"] = time.monotonic(), r.json()

    waiter = threading.Thread(target=long_poll)
    waiter.start()
    time.sleep(0.5)  # the router is waiting now
    assert owner.post(f"/v2/apps/{app_id}/domains/", {"domain": f"{app_id}.wake.example.com"}).status_code == 201
    changed = time.monotonic()
    waiter.join(30)
    assert answered["at"] - changed < 0.3, "the waiting router was not woken by the change"
    assert f"{app_id}.wake.example.com" in app_route_of(answered["body"], app_id)["domains"]
