"""PEM certificate + key checking with `cryptography`."""
from __future__ import annotations

import dataclasses
import datetime as dt

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID


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


# What the routers' OpenSSL accepts at security level 2 (Debian's default): anything weaker makes nginx refuse
# the whole configuration, so it is refused here, at upload.
ACCEPTED = ("RSA keys of 2048 bits or more, EC keys on P-256, P-384 or P-521, Ed25519 or Ed448 keys; "
            "signatures with SHA-256 or stronger")
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
WEAK_SIGNATURE_OIDS = {
    SignatureAlgorithmOID.RSA_WITH_MD5, SignatureAlgorithmOID.RSA_WITH_SHA1, SignatureAlgorithmOID.ECDSA_WITH_SHA1,
    SignatureAlgorithmOID.DSA_WITH_SHA1,
}


def _key_problem(public) -> str | None:
    """Why OpenSSL (security level 2) would refuse this public key, or None if it is strong enough."""
    if isinstance(public, rsa.RSAPublicKey):
        if public.key_size < MIN_RSA_BITS:
            return f"an RSA key of {public.key_size} bits (at least {MIN_RSA_BITS} are needed)"
        return None
    if isinstance(public, dsa.DSAPublicKey):
        return f"a DSA key ({public.key_size} bits; DSA is not accepted)"
    if isinstance(public, ec.EllipticCurvePublicKey):
        if public.curve.key_size < MIN_EC_BITS:
            return (f"an EC key on {public.curve.name} ({public.curve.key_size} bits, "
                    f"at least {MIN_EC_BITS} are needed)")
        return None
    if isinstance(public, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return None
    return f"an unsupported key type ({type(public).__name__})"


def _signature_problem(cert: x509.Certificate) -> str | None:
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:  # MD2, MD4, ...: unknown to cryptography, certainly too weak
        return f"an unsupported signature algorithm ({cert.signature_algorithm_oid.dotted_string})"
    if isinstance(algorithm, (hashes.MD5, hashes.SHA1)) or cert.signature_algorithm_oid in WEAK_SIGNATURE_OIDS:
        name = {"md5": "MD5", "sha1": "SHA-1"}.get(algorithm.name, algorithm.name) if algorithm else "weak"
        return f"a signature made with {name}"
    return None


def _check_strength(pem: str, cert: x509.Certificate) -> None:
    """The leaf, then the chain after it, as OpenSSL checks them (a self-signed root's own signature is not)."""
    try:
        chain = x509.load_pem_x509_certificates(pem.encode())[1:]
    except ValueError:
        chain = []
    for n, c in enumerate([cert, *chain]):
        problem = _key_problem(c.public_key())
        if problem is None and (n == 0 or c.issuer != c.subject):
            problem = _signature_problem(c)
        if problem is not None:
            which = "certificate" if n == 0 else f"chain certificate {c.subject.rfc4514_string()}"
            raise BadCert(f"{which} has {problem}, which OpenSSL refuses as insecure; accepted: {ACCEPTED}")


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
    _check_strength(certificate, cert)
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
