"""End-to-end CLI, routing and settings: maintenance:*, routable, whitelist:*, labels:*, domains:*, certs:*.

The real CLI (a `python -m slipway_cli` subprocess) against a live controller: tests/live.py starts uvicorn
on a fresh PostgreSQL database (scripts/dev-services.sh must have run); the `ctl` and `admin` fixtures
(conftest.py) give each module its own controller. Every run also checks that no token ever shows up in the
CLI's output (e2e_session.py).
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(300)


def test_settings(admin):
    admin.ok("apps:create", "set-app")
    assert "off" in admin.ok("maintenance:info", "-a", "set-app")
    admin.ok("maintenance:on", "-a", "set-app")
    assert admin.json("maintenance:info", "-a", "set-app")["maintenance"] is True
    admin.ok("maintenance:off", "-a", "set-app")
    admin.ok("routable", "off", "-a", "set-app")
    assert "not routable" in admin.ok("routable", "-a", "set-app")
    admin.ok("routable:on", "-a", "set-app")
    assert admin.json("routable", "-a", "set-app")["routable"] is True
    admin.ok("whitelist:add", "10.1.2.3", "192.168.0.0/16", "-a", "set-app")
    assert admin.json("whitelist:list", "-a", "set-app") == ["10.1.2.3/32", "192.168.0.0/16"]
    admin.fails("whitelist:add", "300.1.1.1", "-a", "set-app", match="invalid address")
    admin.ok("whitelist:remove", "10.1.2.3", "-a", "set-app")
    assert admin.json("whitelist:list", "-a", "set-app") == ["192.168.0.0/16"]
    admin.fails("whitelist:remove", "10.9.9.9", "-a", "set-app", match="not in the whitelist")
    assert admin.json("whitelist:list", "-a", "set-app") == ["192.168.0.0/16"]  # nothing removed
    admin.ok("labels:set", "team=shop", "git_repo=example.com-shop.git", "-a", "set-app")
    assert admin.json("labels:list", "-a", "set-app") == {"team": "shop", "git_repo": "example.com-shop.git"}
    assert "team" in admin.ok("labels", "-a", "set-app")
    admin.fails("labels:set", "team=two words", "-a", "set-app", match="label")
    admin.ok("labels:unset", "git_repo", "-a", "set-app")
    assert admin.json("labels:list", "-a", "set-app") == {"team": "shop"}
    admin.fails("labels:unset", "nothere", "-a", "set-app", match="does not exist")


def test_domains(admin):
    admin.ok("apps:create", "dom-app")
    admin.ok("domains:add", "www.example.com", "-a", "dom-app")
    doms = [d["domain"] for d in admin.json("domains:list", "-a", "dom-app")["results"]]
    assert "www.example.com" in doms and "dom-app.slipway.test" in doms
    assert "www.example.com" in admin.ok("domains:list", "-a", "dom-app")
    admin.fails("domains:add", "www.example.com", "-a", "dom-app")  # taken
    admin.fails("domains:add", "not a domain!", "-a", "dom-app")
    admin.ok("domains:remove", "www.example.com", "-a", "dom-app")
    assert "www.example.com" not in admin.ok("domains:list", "-a", "dom-app")
    admin.fails("domains:remove", "www.example.com", "-a", "dom-app")


def test_certs_errors(admin):
    assert isinstance(admin.json("certs:list")["results"], list)
    admin.fails("certs:info", "no-such-cert")
    admin.fails("certs:add", "c1", "/nonexistent.pem", "/nonexistent.key", match="cannot read")


def test_certs(admin, tmp_path):
    """A self-signed certificate: add, attach to an app domain, detach, remove."""
    pytest.importorskip("cryptography")
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cert.example.com")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("cert.example.com")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "c.pem", tmp_path / "k.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    admin.fails("certs:add", "swapped", str(key_file), str(cert_file))
    admin.ok("certs:add", "example", str(cert_file), str(key_file))
    c = admin.json("certs:info", "example")
    assert c["common_name"] == "cert.example.com" and "key" not in c
    assert "example" in admin.ok("certs:list")
    admin.ok("apps:create", "cert-app")
    admin.ok("domains:add", "cert.example.com", "-a", "cert-app")
    admin.ok("certs:attach", "example", "cert.example.com")
    assert "cert.example.com" in admin.json("certs:info", "example")["domains"]
    admin.ok("certs:detach", "example", "cert.example.com")
    assert "cert.example.com" not in (admin.json("certs:info", "example")["domains"] or [])
    admin.ok("certs:remove", "example")
    admin.fails("certs:info", "example")
