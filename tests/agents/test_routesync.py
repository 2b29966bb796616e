"""The router sync against a real nginx (temp prefix, high ports on 127.0.0.1) and a stand-in `/v2/routes`."""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import time

import pytest

from conftest import http_request, wait_for
from fakes import Upstream


def make_cert(d: str, domain: str) -> tuple[str, str, str]:
    """Self-signed cert for domain: (cert pem, key pem, cert path)."""
    key, crt = os.path.join(d, f"{domain}.key"), os.path.join(d, f"{domain}.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", f"/CN={domain}",
                    "-addext", f"subjectAltName=DNS:{domain}"], check=True, capture_output=True)
    return open(crt).read(), open(key).read(), crt


def app(app_id, domains, endpoints=(), **kw):
    a = {"id": app_id, "domains": list(domains), "certs": {}, "whitelist": [], "maintenance": False,
         "enforce_https": False, "endpoints": list(endpoints)}
    a.update(kw)
    return a


def served(nginx, host, name):
    status, _, body = http_request(nginx.http_port, host)
    return status == 200 and json.loads(body)["name"] == name


@pytest.fixture
def upstreams():
    ups = {n: Upstream(n) for n in ("blue", "green", "red")}
    yield ups
    for u in ups.values():
        u.close()


def test_routes_by_host_and_ack_after_reload(nginx, fake_controller, routesync, upstreams):
    fc = fake_controller
    observed = []

    def on_ack(body):
        # at the moment the ack arrives, nginx must already serve that generation
        status, _, data = http_request(nginx.http_port, "green.example.test")
        observed.append((body["generation"], status, data))
        return status

    fc.on_ack = on_ack
    gen = fc.set_apps([app("blue", ["blue.example.test"], [upstreams["blue"].endpoint]),
                       app("green", ["green.example.test", "www.green.example.test"],
                           [upstreams["green"].endpoint])])
    sync = routesync(fc.url, fc.router_key)
    wait_for(lambda: any(a["generation"] == gen for a in fc.acks), what="ack")
    assert fc.acks[-1]["router"] == "router-test"
    assert observed[-1][:2] == (gen, 200) and json.loads(observed[-1][2])["name"] == "green"

    assert served(nginx, "blue.example.test", "blue")
    assert served(nginx, "green.example.test", "green")
    assert served(nginx, "www.green.example.test", "green")

    # unknown host: the default server answers 503 with the Slipway page
    status, headers, body = http_request(nginx.http_port, "nothing.example.test")
    assert status == 503 and b"No app here" in body and b"Slipway" in body

    # a change is live (and acknowledged) within a second
    t0 = time.monotonic()
    gen2 = fc.set_apps([app("blue", ["blue.example.test"], [upstreams["red"].endpoint])])
    wait_for(lambda: served(nginx, "blue.example.test", "red"), timeout=5, interval=0.02, what="switch")
    assert time.monotonic() - t0 < 1.0
    wait_for(lambda: any(a["generation"] == gen2 for a in fc.acks), timeout=2, what="ack 2")
    assert http_request(nginx.http_port, "green.example.test")[0] == 503  # app gone
    assert "Traceback" not in sync.output()


def test_upstream_is_exactly_the_endpoints_with_retry_safety_net(nginx, fake_controller, routesync, upstreams):
    fc = fake_controller
    dead = {"address": "127.0.0.1", "port": 1}  # nothing listens: connection refused -> next upstream
    fc.set_apps([app("web", ["web.example.test"], [upstreams["blue"].endpoint, upstreams["green"].endpoint,
                                                   dead])])
    routesync(fc.url, fc.router_key)
    wait_for(lambda: fc.acks, what="ack")
    names = set()
    for _ in range(12):
        status, _, body = http_request(nginx.http_port, "web.example.test")
        assert status == 200
        names.add(json.loads(body)["name"])
    assert names == {"blue", "green"}
    conf = open(os.path.join(nginx.config_dir, "live", "slipway.conf")).read()
    assert "proxy_next_upstream error timeout http_502 http_503;" in conf
    table = json.load(open(os.path.join(nginx.config_dir, "endpoints.json")))["apps"]
    assert table == {"web": [f"127.0.0.1:{upstreams[n].port}" for n in ("blue", "green")] + ["127.0.0.1:1"]}


def test_forwarded_headers_and_websocket(nginx, fake_controller, routesync, upstreams):
    fc = fake_controller
    fc.set_apps([app("web", ["web.example.test"], [upstreams["blue"].endpoint])])
    routesync(fc.url, fc.router_key)
    wait_for(lambda: fc.acks, what="ack")
    status, _, body = http_request(nginx.http_port, "web.example.test", "/x?y=1",
                                   headers={"X_Under_Score": "kept"})
    assert status == 200
    h = json.loads(body)["headers"]
    assert h["x-forwarded-for"] == "127.0.0.1"
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "web.example.test"
    assert h["host"] == "web.example.test"
    assert h["x_under_score"] == "kept"  # underscores_in_headers on

    s = socket.create_connection(("127.0.0.1", nginx.http_port), timeout=5)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: web.example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1024)
    assert head.startswith(b"HTTP/1.1 101"), head
    assert b"upgrade: websocket" in head.lower()
    s.sendall(b"hello")
    assert s.recv(1024) == b"echo:hello"
    s.close()


def test_maintenance_no_endpoints_and_whitelist(nginx, fake_controller, routesync, upstreams):
    fc = fake_controller
    ep = [upstreams["blue"].endpoint]
    fc.set_apps([
        app("maint", ["maint.example.test"], ep, maintenance=True),
        app("empty", ["empty.example.test"], []),
        app("denied", ["denied.example.test"], ep, whitelist=["10.11.12.0/24"]),
        app("allowed", ["allowed.example.test"], ep, whitelist=["10.11.12.0/24", "127.0.0.1"]),
    ])
    routesync(fc.url, fc.router_key)
    wait_for(lambda: fc.acks, what="ack")
    status, _, body = http_request(nginx.http_port, "maint.example.test")
    assert status == 503 and b"maintenance" in body
    status, _, body = http_request(nginx.http_port, "empty.example.test")
    assert status == 503 and b"no running processes" in body
    assert http_request(nginx.http_port, "denied.example.test")[0] == 403
    assert served(nginx, "allowed.example.test", "blue")


def test_tls_enforce_https_and_broken_cert_keeps_old_config(nginx, fake_controller, routesync, upstreams,
                                                             workdir):
    fc = fake_controller
    crt, key, crt_path = make_cert(workdir, "secure.example.test")
    ep = [upstreams["blue"].endpoint]
    gen = fc.set_apps([
        app("secure", ["secure.example.test"], ep, certs={"secure.example.test": {"certificate": crt, "key": key}},
            enforce_https=True),
        app("plain", ["plain.example.test"], ep)])
    # drop_invalid_certs off: the broken certificate below reaches nginx -t (the whole generation is refused)
    sync = routesync(fc.url, fc.router_key, SLIPWAY_DROP_INVALID_CERTS="false")
    wait_for(lambda: any(a["generation"] == gen for a in fc.acks), what="ack")

    status, headers, _ = http_request(nginx.http_port, "secure.example.test", "/path?q=1")
    assert status == 301 and headers["location"] == "https://secure.example.test/path?q=1"
    status, _, body = http_request(nginx.https_port, "secure.example.test", tls=True, cafile=crt_path)
    assert status == 200
    h = json.loads(body)["headers"]
    assert h["x-forwarded-proto"] == "https"
    keyfile = os.path.join(nginx.config_dir, "live", "certs", "secure.example.test.key")
    assert stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600

    # a broken certificate: nginx -t fails, nothing is swapped, the old config keeps serving, no ack
    live_before = os.readlink(os.path.join(nginx.config_dir, "live"))
    acks_before = len(fc.acks)
    bad = fc.set_apps([
        app("secure", ["secure.example.test"], ep, certs={"secure.example.test": {
            "certificate": "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
            "key": key}}, enforce_https=True),
        app("plain", ["plain.example.test"], [upstreams["red"].endpoint])])
    wait_for(lambda: f"generation {bad} refused by nginx -t" in sync.output(), what="nginx -t failure logged")
    time.sleep(0.5)
    assert len(fc.acks) == acks_before
    assert all(a["generation"] != bad for a in fc.acks)
    assert os.readlink(os.path.join(nginx.config_dir, "live")) == live_before
    assert served(nginx, "plain.example.test", "blue")  # still the old upstream
    assert http_request(nginx.https_port, "secure.example.test", tls=True, cafile=crt_path)[0] == 200

    # the next good generation goes through
    good = fc.set_apps([app("plain", ["plain.example.test"], [upstreams["red"].endpoint])])
    wait_for(lambda: any(a["generation"] == good for a in fc.acks), what="ack after recovery")
    assert served(nginx, "plain.example.test", "red")


def test_controller_vhost_and_acme(nginx, fake_controller, routesync, upstreams, workdir):
    """slipway.<platform_domain> goes to the controller (HTTP and TLS); ACME challenges go to the controller."""
    fc = fake_controller
    crt, key, crt_path = make_cert(workdir, "slipway.paas.test")
    fc.set_apps([app("web", ["web.paas.test"], [upstreams["blue"].endpoint]),
                 app("closed", ["closed.paas.test"], [upstreams["blue"].endpoint], whitelist=["10.99.0.0/16"])])
    routesync(fc.url, fc.router_key, SLIPWAY_PLATFORM_DOMAIN="paas.test",
              SLIPWAY_CONTROLLER_UPSTREAM=f"http://127.0.0.1:{upstreams['green'].port}",
              SLIPWAY_ACME_UPSTREAM=f"http://127.0.0.1:{upstreams['red'].port}",
              SLIPWAY_CONTROLLER_CERT=os.path.join(workdir, "slipway.paas.test.crt"),
              SLIPWAY_CONTROLLER_KEY=os.path.join(workdir, "slipway.paas.test.key"))
    wait_for(lambda: fc.acks, what="ack")
    assert served(nginx, "slipway.paas.test", "green")
    assert served(nginx, "deis.paas.test", "green")  # the name the Deis CLI is given
    status, _, body = http_request(nginx.https_port, "slipway.paas.test", "/v2/", tls=True, cafile=crt_path)
    assert status == 200 and json.loads(body)["name"] == "green"
    status, _, body = http_request(nginx.http_port, "web.paas.test", "/.well-known/acme-challenge/tok")
    assert status == 200 and json.loads(body)["name"] == "red"
    assert json.loads(body)["headers"]["host"] == "web.paas.test"
    # challenges pass an app's whitelist (the CA validates from anywhere); the app itself does not
    assert http_request(nginx.http_port, "closed.paas.test")[0] == 403
    status, _, body = http_request(nginx.http_port, "closed.paas.test", "/.well-known/acme-challenge/tok")
    assert status == 200 and json.loads(body)["name"] == "red"
    # the platform services' own calls are not served to the world, over HTTP or TLS
    for path in ("/v2/hooks/push/", "/v2/hooks/nodes/report/", "/v2/routes", "/v2/routes/ack/", "/metrics"):
        assert http_request(nginx.http_port, "slipway.paas.test", path)[0] == 404, path
        status, _, body = http_request(nginx.https_port, "slipway.paas.test", path, tls=True, cafile=crt_path)
        assert status == 404 and "green" not in body.decode(), path
    assert served(nginx, "slipway.paas.test", "green")  # what users call still is
    # unknown SNI on 443 is refused at the handshake
    with pytest.raises(OSError):
        http_request(nginx.https_port, "other.paas.test", tls=True)


def test_controller_vhost_over_https_only(nginx, fake_controller, routesync, upstreams, workdir):
    """With enforce_https, plain HTTP to the controller redirects reads and refuses writes (a redirected POST
    would already have sent its body, token included, in the clear); ACME challenges still pass on HTTP."""
    fc = fake_controller
    crt, key, crt_path = make_cert(workdir, "slipway.paas.test")
    fc.set_apps([app("web", ["web.paas.test"], [upstreams["blue"].endpoint])])
    routesync(fc.url, fc.router_key, SLIPWAY_PLATFORM_DOMAIN="paas.test",
              SLIPWAY_CONTROLLER_UPSTREAM=f"http://127.0.0.1:{upstreams['green'].port}",
              SLIPWAY_ACME_UPSTREAM=f"http://127.0.0.1:{upstreams['red'].port}",
              SLIPWAY_CONTROLLER_CERT=os.path.join(workdir, "slipway.paas.test.crt"),
              SLIPWAY_CONTROLLER_KEY=os.path.join(workdir, "slipway.paas.test.key"),
              SLIPWAY_CONTROLLER_ENFORCE_HTTPS="true")
    wait_for(lambda: fc.acks, what="ack")
    status, headers, _ = http_request(nginx.http_port, "slipway.paas.test", "/v2/apps/?limit=1")
    assert status == 301 and headers["location"] == "https://slipway.paas.test/v2/apps/?limit=1"
    assert http_request(nginx.http_port, "slipway.paas.test", "/v2/", method="HEAD")[0] == 301
    for method in ("POST", "PUT", "DELETE"):
        status, headers, body = http_request(nginx.http_port, "slipway.paas.test", "/v2/auth/login/", method=method)
        assert status == 403 and b"https://slipway.paas.test/v2/auth/login/" in body, (method, status, body)
        assert headers["content-type"] == "application/json" and json.loads(body)["detail"]
    status, _, body = http_request(nginx.http_port, "slipway.paas.test", "/.well-known/acme-challenge/tok")
    assert status == 200 and json.loads(body)["name"] == "red"
    status, _, body = http_request(nginx.https_port, "slipway.paas.test", "/v2/", tls=True, cafile=crt_path)
    assert status == 200 and json.loads(body)["name"] == "green"


def test_invalid_values_from_the_controller_are_not_rendered(nginx, fake_controller, routesync, upstreams):
    fc = fake_controller
    fc.set_apps([
        app("web", ["web.example.test", "evil.test; include /etc/shadow"],
            [upstreams["blue"].endpoint, {"address": "1.2.3.4; deny all", "port": 80}],
            whitelist=["not-a-cidr", "127.0.0.0/8"]),
        app("Bad App", ["bad.example.test"], [upstreams["blue"].endpoint])])
    sync = routesync(fc.url, fc.router_key)
    wait_for(lambda: fc.acks, what="ack")
    conf = open(os.path.join(nginx.config_dir, "live", "slipway.conf")).read()
    assert "shadow" not in conf and "1.2.3.4" not in conf and "not-a-cidr" not in conf
    assert "bad.example.test" not in conf
    assert served(nginx, "web.example.test", "blue")
    assert "skipping invalid domain" in sync.output()


def test_controller_errors_keep_serving_and_recover(nginx, fake_controller, routesync, upstreams):
    fc = fake_controller
    fc.set_apps([app("web", ["web.example.test"], [upstreams["blue"].endpoint])])
    sync = routesync(fc.url, fc.router_key)
    wait_for(lambda: fc.acks, what="ack")
    key = fc.router_key
    fc.router_key = "rotated"  # the router's key is now wrong: polls and acks get 401
    red = fc.set_apps([app("web", ["web.example.test"], [upstreams["red"].endpoint])])
    wait_for(lambda: "401" in sync.output(), what="auth error logged")
    green = fc.set_apps([app("web", ["web.example.test"], [upstreams["green"].endpoint])])
    time.sleep(1.5)
    assert not served(nginx, "web.example.test", "green")  # cannot learn it, keeps serving what it has
    assert http_request(nginx.http_port, "web.example.test")[0] == 200
    fc.router_key = key
    wait_for(lambda: any(a["generation"] == green for a in fc.acks), timeout=15, what="recovery")
    assert served(nginx, "web.example.test", "green")
    assert red  # (the in-flight poll may or may not have delivered it; either way no ack was lost silently)


def test_heartbeat_reacks_the_applied_generation(nginx, fake_controller, routesync, upstreams):
    """The controller waits only for routers it heard from recently: an idle router keeps acking."""
    fc = fake_controller
    gen = fc.set_apps([app("web", ["web.example.test"], [upstreams["blue"].endpoint])])
    routesync(fc.url, fc.router_key, SLIPWAY_WAIT="1", SLIPWAY_HEARTBEAT="1")
    wait_for(lambda: len([a for a in fc.acks if a["generation"] == gen]) >= 3, timeout=10, what="heartbeats")


def test_drop_invalid_certs_keeps_routing_moving_by_default(nginx, fake_controller, routesync, upstreams, workdir):
    """By default one app's unusable certificate (junk, or a 1024-bit RSA key that OpenSSL's security level 2
    refuses) is left out instead of holding back every app's routes."""
    fc = fake_controller
    crt, key, _ = make_cert(workdir, "good.example.test")
    broken = {"certificate": "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
              "key": key}
    wkey, wcrt = os.path.join(workdir, "weak.key"), os.path.join(workdir, "weak.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:1024", "-nodes", "-keyout", wkey, "-out", wcrt,
                    "-days", "2", "-subj", "/CN=weak.example.test", "-addext",
                    "subjectAltName=DNS:weak.example.test"], check=True, capture_output=True)
    weak = {"certificate": open(wcrt).read(), "key": open(wkey).read()}
    sync = routesync(fc.url, fc.router_key)  # drop_invalid_certs at its default
    gen = fc.set_apps([
        app("bad", ["bad.example.test"], [upstreams["blue"].endpoint], certs={"bad.example.test": broken}),
        app("weak", ["weak.example.test"], [upstreams["red"].endpoint], certs={"weak.example.test": weak}),
        app("good", ["good.example.test"], [upstreams["green"].endpoint],
            certs={"good.example.test": {"certificate": crt, "key": key}})])
    wait_for(lambda: any(a["generation"] == gen for a in fc.acks), what="ack")
    assert served(nginx, "bad.example.test", "blue")  # over HTTP
    assert served(nginx, "weak.example.test", "red")
    out = sync.output()
    assert "certificate for bad.example.test refused by OpenSSL" in out
    assert "certificate for weak.example.test refused by OpenSSL" in out
    assert "refused by nginx -t" not in out
    conf = open(os.path.join(nginx.config_dir, "live", "slipway.conf")).read()
    assert "certs/good.example.test.crt" in conf and "certs/bad.example.test.crt" not in conf
    assert "certs/weak.example.test.crt" not in conf


def test_refused_generation_is_tried_again_on_the_heartbeat(nginx, fake_controller, routesync, upstreams):
    """nginx -t may fail because of the host (an operator's broken snippet): once that is fixed, the refused
    generation goes live without waiting for another change at the controller."""
    fc = fake_controller
    gen = fc.set_apps([app("web", ["web.example.test"], [upstreams["blue"].endpoint])])
    sync = routesync(fc.url, fc.router_key, SLIPWAY_HEARTBEAT="1")
    wait_for(lambda: any(a["generation"] == gen for a in fc.acks), what="ack")
    snippets = os.path.join(nginx.dir, "conf.d")
    os.makedirs(snippets)
    snippet = os.path.join(snippets, "zz-broken.conf")
    with open(snippet, "w") as fh:
        fh.write("this is not nginx;\n")
    main = open(nginx.conf).read()
    live_include = f"include {nginx.config_dir}/live/*.conf;"
    with open(nginx.conf, "w") as fh:
        fh.write(main.replace(live_include, f"{live_include}\n    include {snippets}/*.conf;"))
    # a new domain: rendered and tested (an endpoint change alone is pushed, no nginx -t)
    new = fc.set_apps([app("web", ["web.example.test", "www.web.example.test"], [upstreams["red"].endpoint])])
    wait_for(lambda: sync.output().count(f"generation {new} refused by nginx -t") >= 2, timeout=10,
             what="refused, then refused again on the heartbeat")
    assert served(nginx, "web.example.test", "blue")
    assert all(a["generation"] != new for a in fc.acks)
    os.unlink(snippet)  # the operator fixes the host; the controller publishes nothing new
    wait_for(lambda: any(a["generation"] == new for a in fc.acks), timeout=10, what="ack after the fix")
    assert served(nginx, "web.example.test", "red")
    assert f"trying refused generation {new} again" in sync.output()
