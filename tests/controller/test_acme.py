"""Automatic TLS against a real ACME CA: Pebble (Debian package `pebble`) with pebble-challtestsrv as its
DNS server (every name resolves to 127.0.0.1, so the HTTP-01 validation reaches this test's controller:
Pebble's httpPort is the controller's port; no router in between here).

A certificate is issued for an app domain through the CLI, stored and attached (visible in /v2/routes),
a forced renewal replaces it (new serial) while the domain keeps a certificate and the app keeps serving,
and a domain that points elsewhere fails with its reason on the status, breaking nothing else.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.controller.conftest import register
from tests.controller.deployhelp import build, endpoints, fetch
from tests.live import (ROOT, bootstrap_admin, controller_env, free_port, fresh_database, migrate, start, stop,
                        wait_http)

pytestmark = pytest.mark.timeout(300)


def make_ca_and_server(tmp) -> tuple[str, str, str]:
    """A throwaway CA and a certificate for 127.0.0.1/localhost signed by it (Pebble's HTTPS listener)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "slipway test ACME CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = [os.path.join(tmp, n) for n in ("ca.pem", "pebble.pem", "pebble.key")]
    with open(paths[0], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths[1], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths[2], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return tuple(paths)


def wait_port(port: int, timeout: float = 20) -> None:
    import socket
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class Acme:
    def __init__(self, ctl_url, env, process, dns_mgmt, tmp, admin_token):
        self.url, self.env, self.process, self.dns_mgmt, self.tmp = ctl_url, env, process, dns_mgmt, tmp
        self.admin_token = admin_token

    def point(self, host: str, address: str) -> None:
        """Make the test DNS answer `address` for `host` (A record)."""
        r = requests.post(f"{self.dns_mgmt}/add-a", json={"host": host + ".", "addresses": [address]}, timeout=10)
        assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def acme_ctl(tmp_path_factory):
    assert shutil.which("pebble") and shutil.which("pebble-challtestsrv"), \
        "needs Debian's pebble package (scripts/install.sh installs it)"
    tmp = str(tmp_path_factory.mktemp("acme"))
    ca, cert, key = make_ca_and_server(tmp)
    ctl_port, dns_port, dns_mgmt, pebble_port, pebble_mgmt, tls_port = (free_port() for _ in range(6))
    procs = []
    try:
        procs.append(subprocess.Popen(
            ["pebble-challtestsrv", "-dns01", f"127.0.0.1:{dns_port}", "-http01", "", "-https01", "",
             "-tlsalpn01", "", "-management", f"127.0.0.1:{dns_mgmt}", "-defaultIPv4", "127.0.0.1",
             "-defaultIPv6", ""], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        config = {"pebble": {"listenAddress": f"127.0.0.1:{pebble_port}",
                             "managementListenAddress": f"127.0.0.1:{pebble_mgmt}",
                             "certificate": cert, "privateKey": key, "httpPort": ctl_port, "tlsPort": tls_port,
                             "ocspResponderURL": "", "externalAccountBindingRequired": False}}
        with open(os.path.join(tmp, "pebble.json"), "w") as f:
            json.dump(config, f)
        log = open(os.path.join(tmp, "pebble.log"), "w")
        procs.append(subprocess.Popen(
            ["pebble", "-config", os.path.join(tmp, "pebble.json"), "-dnsserver", f"127.0.0.1:{dns_port}"],
            env=dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_VA_ALWAYS_VALID="0", PEBBLE_WFE_NONCEREJECT="0",
                     PEBBLE_AUTHZREUSE="0"), stdout=log, stderr=subprocess.STDOUT))
        wait_port(pebble_port)
        wait_port(dns_mgmt)
        with fresh_database() as db_url:
            env = controller_env(db_url, SLIPWAY_ACME_DIRECTORY=f"https://127.0.0.1:{pebble_port}/dir",
                                 SLIPWAY_ACME_CA_FILE=ca, SLIPWAY_ACME_CHECK_INTERVAL="1",
                                 SLIPWAY_ACME_TIMEOUT="30", SLIPWAY_HEALTH_TIMEOUT="30",
                                 SLIPWAY_DRAIN_SECONDS="0.5", SLIPWAY_MONITOR_INTERVAL="1")
            migrate(env)
            _, admin_token = bootstrap_admin(env)
            process = start(env, ctl_port)
            try:
                yield Acme(f"http://127.0.0.1:{ctl_port}", env, process, f"http://127.0.0.1:{dns_mgmt}", tmp,
                           admin_token)
            finally:
                stop(process)
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def routes(acme_ctl) -> dict:
    r = requests.get(acme_ctl.url + "/v2/routes", headers={"X-Slipway-Router-Auth": acme_ctl.env["SLIPWAY_ROUTER_KEY"]},
                     timeout=30)
    return r.json()


def served_cert(acme_ctl, app_id: str, domain: str) -> x509.Certificate | None:
    app = next(a for a in routes(acme_ctl)["apps"] if a["id"] == app_id)
    c = app["certs"].get(domain)
    return x509.load_pem_x509_certificate(c["certificate"].encode()) if c else None


def wait_status(api, domain, statuses=("valid", "failed"), timeout=90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/v2/certs/auto/{domain}").json()
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.3)


def cli(acme_ctl, api, tmp, *args):
    home = os.path.join(tmp, "home-" + api.username)
    os.makedirs(os.path.join(home, ".slipway"), exist_ok=True)
    path = os.path.join(home, ".slipway", "client.json")
    with open(path, "w") as f:
        json.dump({"url": api.url, "username": api.username, "token": api.token}, f)
    os.chmod(path, 0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLIPWAY_")}
    env.update({"HOME": home, "SLIPWAY_HOME": os.path.join(home, ".slipway"), "PYTHONPATH": os.path.join(ROOT, "cli")})
    return subprocess.run([sys.executable, "-m", "slipway_cli", *args], env=env, capture_output=True, text=True,
                          timeout=240)


def test_issue_attach_renew_and_fail(acme_ctl):
    owner = register(acme_ctl, "shopkeeper")
    assert owner.post("/v2/apps/", {"id": "shop"}).status_code == 201
    assert build(owner, "shop").status_code == 201  # a serving app: it must not notice anything
    domain = "www.shop.test"
    assert owner.post("/v2/apps/shop/domains/", {"domain": domain}).status_code == 201

    # strangers can neither request nor read
    stranger = register(acme_ctl, "stranger")
    assert stranger.post("/v2/certs/auto/", {"domain": domain}).status_code == 403
    assert requests.post(acme_ctl.url + "/v2/certs/auto/", json={"domain": domain}, timeout=10).status_code == 401
    assert owner.post("/v2/certs/auto/", {"domain": "nowhere.test"}).status_code == 404
    # the challenge path answers only tokens of pending orders, without authentication
    assert requests.get(acme_ctl.url + "/.well-known/acme-challenge/unknown-token", timeout=10).status_code == 404

    # issue through the CLI (it waits for the order)
    r = cli(acme_ctl, owner, acme_ctl.tmp, "certs:auto", domain)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "attached" in r.stdout
    auto = owner.get(f"/v2/certs/auto/{domain}").json()
    assert auto["status"] == "valid" and auto["error"] == "" and auto["app"] == "shop", auto
    first = served_cert(acme_ctl, "shop", domain)
    assert first is not None
    assert first.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == [domain]
    cert = owner.get(f"/v2/certs/{auto['cert']}").json()
    assert cert["domains"] == [domain] and cert["san"] == [domain]
    assert "Pebble" in cert["issuer"]
    assert [a["domain"] for a in owner.get("/v2/certs/auto/").json()["results"]] == [domain]
    assert stranger.get(f"/v2/certs/auto/{domain}").status_code == 403
    assert stranger.get("/v2/certs/auto/").json()["count"] == 0

    # a forced renewal: a new certificate (new serial) replaces the old one in place; the domain always has
    # a certificate and the app keeps answering meanwhile
    problems = []
    stop_watch = threading.Event()

    def watch():
        while not stop_watch.is_set():
            try:
                if served_cert(acme_ctl, "shop", domain) is None:
                    problems.append("domain without a certificate")
                for ep in endpoints(type("C", (), {"url": acme_ctl.url,
                                                   "router_key": acme_ctl.env["SLIPWAY_ROUTER_KEY"]}), "shop"):
                    fetch(ep)
            except Exception as exc:  # noqa: BLE001
                problems.append(repr(exc))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    r = owner.post(f"/v2/certs/auto/{domain}/renew/")
    assert r.status_code == 202 and r.json()["status"] == "renewing", r.text
    renewed = wait_status(owner, domain)
    stop_watch.set()
    watcher.join(10)
    assert renewed["status"] == "valid", renewed
    assert renewed["cert"] == auto["cert"] and renewed["issued"] > auto["issued"]
    second = served_cert(acme_ctl, "shop", domain)
    assert second.serial_number != first.serial_number
    assert not problems, problems[:5]

    # a domain that does not point here: the failure and its reason are on the status; nothing else breaks
    bad = "elsewhere.shop.test"
    acme_ctl.point(bad, "127.0.0.2")  # loopback, but nothing of ours listens there
    assert owner.post("/v2/apps/shop/domains/", {"domain": bad}).status_code == 201
    assert owner.post("/v2/certs/auto/", {"domain": bad}).status_code == 202
    failed = wait_status(owner, bad)
    assert failed["status"] == "failed" and failed["cert"] is None, failed
    assert "validation failed" in failed["error"] and bad in failed["error"], failed["error"]
    assert failed["next_attempt"] is not None
    r = cli(acme_ctl, owner, acme_ctl.tmp, "certs:auto:info", bad)
    assert r.returncode == 0 and "failed" in r.stdout, r.stdout
    assert owner.get(f"/v2/certs/auto/{domain}").json()["status"] == "valid"
    assert served_cert(acme_ctl, "shop", domain).serial_number == second.serial_number
    assert requests.get(acme_ctl.url + "/readiness", timeout=10).status_code == 200
    # stop managing: the certificate stays attached
    assert owner.delete(f"/v2/certs/auto/{domain}").status_code == 204
    assert served_cert(acme_ctl, "shop", domain).serial_number == second.serial_number
    owner.delete("/v2/apps/shop/")


def test_renewal_loop_renews_certificates_near_expiry(acme_ctl):
    """The background loop renews what expires within SLIPWAY_ACME_RENEW_DAYS: simulate a certificate
    near its end by moving its expiry in the database (the loop runs every second here)."""
    owner = register(acme_ctl, "renewer")
    assert owner.post("/v2/apps/", {"id": "loop"}).status_code == 201
    domain = "loop.example.test"
    assert owner.post("/v2/apps/loop/domains/", {"domain": domain}).status_code == 201
    assert owner.post("/v2/certs/auto/", {"domain": domain}).status_code == 202
    first = wait_status(owner, domain)
    assert first["status"] == "valid", first
    serial = served_cert(acme_ctl, "loop", domain).serial_number
    from tests.live import psql
    psql(f"UPDATE certs SET expires = now() + interval '2 days' WHERE name = '{first['cert']}'",
         acme_ctl.env["SLIPWAY_DATABASE_URL"])
    deadline = time.monotonic() + 60
    while served_cert(acme_ctl, "loop", domain).serial_number == serial:
        assert time.monotonic() < deadline, "the renewal loop did not renew"
        time.sleep(0.5)
    assert wait_status(owner, domain)["status"] == "valid"
    owner.delete("/v2/apps/loop/")


def test_not_configured(ctl, owner, app_id):
    domain = f"{app_id}.example.org"
    assert owner.post(f"/v2/apps/{app_id}/domains/", {"domain": domain}).status_code == 201
    r = owner.post("/v2/certs/auto/", {"domain": domain})
    assert r.status_code == 400 and "not configured" in r.json()["detail"]
