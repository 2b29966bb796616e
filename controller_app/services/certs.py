"""PEM certificate + key checking with `cryptography`."""
from __future__ import annotations

import dataclasses
import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID


class BadCert(ValueError):
    pass


@dataclasses.dataclass
class CertInfo:
    common_name: str
    san: list[str]
    fingerprint: str
    issuer: str
    subject: str
    starts: dt.datetime
    expires: dt.datetime


def inspect(certificate: str, key: str) -> CertInfo:
    try:
        cert = x509.load_pem_x509_certificate(certificate.encode())
    except ValueError:
        raise BadCert("certificate is not a PEM encoded X.509 certificate") from None
    try:
        private = serialization.load_pem_private_key(key.encode(), password=None)
    except (ValueError, TypeError):
        raise BadCert("key is not an unencrypted PEM private key") from None
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if private.public_key().public_bytes(enc, pub) != cert.public_key().public_bytes(enc, pub):
        raise BadCert("key does not match the certificate")
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName)
    except x509.ExtensionNotFound:
        san = []
    fp = cert.fingerprint(hashes.SHA256()).hex().upper()
    return CertInfo(
        common_name=str(cns[0].value) if cns else "",
        san=list(san),
        fingerprint=":".join(fp[i:i + 2] for i in range(0, len(fp), 2)),
        issuer=cert.issuer.rfc4514_string(),
        subject=cert.subject.rfc4514_string(),
        starts=cert.not_valid_before_utc,
        expires=cert.not_valid_after_utc,
    )


def covers(info: CertInfo, domain: str) -> bool:
    names = info.san or ([info.common_name] if info.common_name else [])
    for name in names:
        if name == domain or (name.startswith("*.") and domain.count(".") == name.count(".")
                              and domain.endswith(name[1:])):
            return True
    return False
