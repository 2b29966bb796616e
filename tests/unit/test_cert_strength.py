"""controller_app.services.certs.inspect() refuses what the routers' OpenSSL (security level 2) refuses."""
from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from controller_app.services.certs import BadCert, inspect

HOST = "weak.example.test"


def make(key, algorithm=hashes.SHA256(), issuer_key=None, issuer_name: str | None = None) -> str:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]) if issuer_name else subject
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
            .sign(issuer_key or key, algorithm))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def pem_key(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def check(key, algorithm=hashes.SHA256()):
    return inspect(make(key, algorithm), pem_key(key))


def test_rsa_1024_is_refused_with_a_clear_message():
    with pytest.raises(BadCert) as e:
        check(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    msg = str(e.value)
    assert "RSA key of 1024 bits" in msg and "2048" in msg and "P-256" in msg


def test_rsa_2048_is_accepted():
    info = check(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    assert info.common_name == HOST and info.san == [HOST]


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1()])
def test_ec_p256_and_p384_are_accepted(curve):
    assert check(ec.generate_private_key(curve)).san == [HOST]


def test_ed25519_is_accepted():
    key = ed25519.Ed25519PrivateKey.generate()
    assert inspect(make(key, None), pem_key(key)).san == [HOST]


@pytest.mark.parametrize("curve", [ec.SECP192R1(), ec.SECP224R1()])
def test_small_ec_curves_are_refused(curve):
    with pytest.raises(BadCert) as e:
        check(ec.generate_private_key(curve))
    assert f"EC key on {curve.name}" in str(e.value) and "P-256" in str(e.value)


# cryptography no longer signs with SHA-1, so this one was made once with
# `openssl req -x509 -sha1 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -days 36500 ...` (a test key only)
SHA1_CERT = """-----BEGIN CERTIFICATE-----
MIIBqzCCAVKgAwIBAgIUVXPwPDpRwwNvJXkWTyG6UbIx6ZIwCQYHKoZIzj0EATAc
MRowGAYDVQQDDBF3ZWFrLmV4YW1wbGUudGVzdDAgFw0yNjExMjYwNjA2MDJaGA8y
MTI2MTEwMjA2MDYwMlowHDEaMBgGA1UEAwwRd2Vhay5leGFtcGxlLnRlc3QwWTAT
BgcqhkjOPQIBBggqhkjOPQMBBwNCAARmXxDzjiUuIDuJx3SQ9WNIbkMt1bhWg5lc
S0PZs3f/kE0FeuuuuRsJ0JRHlr3VhuYG+G3iVJWxS8987G0QW/MRo3EwbzAdBgNV
HQ4EFgQU01wrL/1VaBhaZQph544LK7KThjIwHwYDVR0jBBgwFoAU01wrL/1VaBha
ZQph544LK7KThjIwDwYDVR0TAQH/BAUwAwEB/zAcBgNVHREEFTATghF3ZWFrLmV4
YW1wbGUudGVzdDAJBgcqhkjOPQQBA0gAMEUCIC8tP4GZ0AP7Aw3+FAPKJx0akFGR
lAW6OT33PR5PbpNpAiEApEJUrlnMoEvzMUGCrytdY9iHmBXJX9rYej0rYNydVcU=
-----END CERTIFICATE-----
"""
SHA1_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQglh9Y+9xrCa6bBa+Y
PtMjcDZkEOwFTydONP7soXZbaZahRANCAARmXxDzjiUuIDuJx3SQ9WNIbkMt1bhW
g5lcS0PZs3f/kE0FeuuuuRsJ0JRHlr3VhuYG+G3iVJWxS8987G0QW/MR
-----END PRIVATE KEY-----
"""


def test_sha1_signature_is_refused():
    with pytest.raises(BadCert) as e:
        inspect(SHA1_CERT, SHA1_KEY)
    assert "SHA-1" in str(e.value) and "SHA-256" in str(e.value)


def test_weak_intermediate_in_the_chain_is_refused():
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    leaf = make(leaf_key, issuer_key=ca_key, issuer_name="Weak CA")
    ca = make(ca_key)
    with pytest.raises(BadCert) as e:
        inspect(leaf + ca, pem_key(leaf_key))
    assert "chain certificate" in str(e.value) and "1024 bits" in str(e.value)
