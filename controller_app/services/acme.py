"""Automatic TLS: certificates from an ACME CA (RFC 8555) through HTTP-01, with certbot's `acme` library.

- `request()` puts a domain under automatic TLS and starts an issuance in a background thread.
- `issue()` runs one order: the platform's account (one per directory, key in the database), a new key
  and CSR, the HTTP-01 answer stored in `acme_challenges` (served by GET /.well-known/acme-challenge/ on
  every controller, reached through the router), finalize, then the certificate is stored like an uploaded
  one (models.Cert, updated in place on renewal) and attached to the domain; the routing generation bumps
  so routers load it. A PostgreSQL advisory lock makes one issuance per domain at a time, cluster-wide.
- Failures (the domain does not point here, rate limits, an unreachable CA) are recorded on the auto
  cert (`status: failed`, `error`) and retried with backoff; a certificate already served stays served.
- `start()` runs the renewal loop: certificates within `acme_renew_days` of expiry, missing ones, and
  due retries.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import zlib

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from ..db import engine, session_factory
from ..models import AcmeAccount, AcmeChallenge, AutoCert, Cert, Domain
from ..settings import get_settings
from . import certs, routing

log = logging.getLogger("slipway.acme")
USER_AGENT = "slipway-controller"
BACKOFF = [60, 300, 900, 3600, 6 * 3600, 24 * 3600]  # seconds after the 1st, 2nd, ... failure in a row


class NotConfigured(Exception):
    pass


def enabled() -> bool:
    return bool(get_settings().acme_directory)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# ---- the API's side ---------------------------------------------------------------------------------
def request(db: Session, domain: Domain, user_id: int, force: bool = False) -> AutoCert:
    """Put `domain` under automatic TLS (or renew now when `force`); the issuance runs in the background."""
    if not enabled():
        raise NotConfigured("Automatic TLS is not configured on this platform (SLIPWAY_ACME_DIRECTORY).")
    auto = db.scalar(select(AutoCert).where(AutoCert.domain_uuid == domain.uuid))
    if auto is None:
        auto = AutoCert(domain_uuid=domain.uuid, owner_id=user_id, status="pending", error="", attempts=0)
        db.add(auto)
    else:
        auto.status = "renewing" if auto.cert_uuid is not None else "pending"
    auto.next_attempt = now()
    auto.attempts = 0 if force else auto.attempts
    db.commit()
    db.refresh(auto)
    spawn(auto.uuid)
    return auto


def spawn(auto_uuid) -> threading.Thread:
    thread = threading.Thread(target=issue_safely, args=(auto_uuid,), name=f"acme-{auto_uuid}", daemon=True)
    thread.start()
    return thread


def challenge(db: Session, token: str) -> str | None:
    if not token or len(token) > 256:
        return None
    row = db.get(AcmeChallenge, token)
    if row is None or row.expires < now():
        return None
    return row.key_authorization


# ---- issuance -----------------------------------------------------------------------------------------
def _lock_key(domain: str) -> int:
    return zlib.crc32(f"slipway-acme:{domain}".encode()) - 2 ** 31


def issue_safely(auto_uuid) -> bool:
    try:
        return issue(auto_uuid)
    except Exception:  # noqa: BLE001 - a background thread: record, never crash the controller
        log.exception("ACME issuance %s failed unexpectedly", auto_uuid)
        return False


def issue(auto_uuid) -> bool:
    """One order for one auto cert. True when a certificate was stored; False when skipped or failed."""
    with session_factory()() as db:
        auto = db.get(AutoCert, auto_uuid)
        if auto is None:
            return False
        domain = auto.domain.domain
    with engine().connect() as conn:
        key = _lock_key(domain)
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            conn.commit()
            return False  # another issuance of this domain is running
        conn.commit()
        try:
            return _issue_locked(auto_uuid, domain)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def _issue_locked(auto_uuid, domain: str) -> bool:
    s = get_settings()
    with session_factory()() as db:
        auto = db.get(AutoCert, auto_uuid)
        if auto is None:
            return False
        auto.last_attempt = now()
        auto.status = "renewing" if auto.cert_uuid is not None else "pending"
        db.commit()
    try:
        fullchain, key_pem = _order(domain)
    except Exception as exc:  # noqa: BLE001 - every failure becomes the auto cert's error
        message = describe(exc)
        log.warning("ACME certificate for %s: %s", domain, message)
        with session_factory()() as db:
            auto = db.get(AutoCert, auto_uuid)
            if auto is not None:
                auto.status = "failed"
                auto.error = message[:4000]
                auto.attempts += 1
                auto.next_attempt = now() + dt.timedelta(seconds=BACKOFF[min(auto.attempts, len(BACKOFF)) - 1])
                db.commit()
            db.execute(delete(AcmeChallenge).where(AcmeChallenge.domain == domain))
            db.commit()
        return False
    with session_factory()() as db:
        auto = db.get(AutoCert, auto_uuid)
        db.execute(delete(AcmeChallenge).where(AcmeChallenge.domain == domain))
        if auto is None:  # the domain went away meanwhile
            db.commit()
            return False
        store(db, auto, fullchain, key_pem)
        auto.status, auto.error, auto.attempts = "valid", "", 0
        auto.issued = now()
        auto.next_attempt = None
        db.commit()
    log.info("ACME certificate for %s stored (%s)", domain, s.acme_directory)
    return True


def cert_name(domain: str) -> str:
    name = f"acme-{domain}"
    if len(name) > 253:
        name = f"acme-{hashlib.sha256(domain.encode()).hexdigest()[:16]}-{domain[-200:].lstrip('.-')}"
    return name


def store(db: Session, auto: AutoCert, fullchain: str, key_pem: str) -> Cert:
    """Save the certificate like an uploaded one (in place on renewal) and attach it to the domain."""
    info = certs.inspect(fullchain, key_pem)
    cert = auto.cert
    if cert is None:
        name = cert_name(auto.domain.domain)
        if db.scalar(select(Cert).where(Cert.name == name)) is not None:
            name = f"{name[:240]}-{hashlib.sha256(str(auto.uuid).encode()).hexdigest()[:8]}"
        cert = Cert(owner_id=auto.owner_id, name=name)
        db.add(cert)
    cert.certificate, cert.key = fullchain, key_pem
    cert.common_name, cert.san, cert.fingerprint = info.common_name, info.san, info.fingerprint
    cert.issuer, cert.subject, cert.starts, cert.expires = info.issuer, info.subject, info.starts, info.expires
    db.flush()
    auto.cert = cert
    auto.domain.cert = cert
    routing.bump(db)
    return cert


def _client():
    """An ACME client with the platform's account for the configured directory (registered on first use)."""
    import josepy as jose
    from acme import client as acme_client
    from acme import messages
    from cryptography.hazmat.primitives.asymmetric import rsa

    s = get_settings()
    with session_factory()() as db:
        account = db.get(AcmeAccount, s.acme_directory)
        if account is None:
            jwk = jose.JWKRSA(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
            account = AcmeAccount(directory=s.acme_directory, key=jwk.json_dumps())
            db.add(account)
            db.commit()
        jwk = jose.JWK.json_loads(account.key)
        uri = account.uri
    net = acme_client.ClientNetwork(jwk, user_agent=USER_AGENT, verify_ssl=s.acme_ca_file or True, timeout=30)
    directory = acme_client.ClientV2.get_directory(s.acme_directory, net)
    client = acme_client.ClientV2(directory, net=net)
    if uri:
        net.account = messages.RegistrationResource(body=messages.Registration(), uri=uri)
    else:
        registration = messages.NewRegistration.from_data(email=s.acme_email, terms_of_service_agreed=True)
        try:
            regr = client.new_account(registration)
            uri = regr.uri
        except Exception as exc:  # an account for this key exists (ConflictError carries its URL)
            from acme import errors as acme_errors
            if not isinstance(exc, acme_errors.ConflictError):
                raise
            uri = exc.location
            net.account = messages.RegistrationResource(body=messages.Registration(), uri=uri)
        with session_factory()() as db:
            row = db.get(AcmeAccount, s.acme_directory)
            row.uri = uri
            db.commit()
    return client, jwk


def _forget_account() -> None:
    with session_factory()() as db:
        row = db.get(AcmeAccount, get_settings().acme_directory)
        if row is not None:
            row.uri = None
            db.commit()


def _order(domain: str) -> tuple[str, str]:
    from acme import challenges, crypto_util, messages
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    s = get_settings()
    client, jwk = _client()
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
    csr = crypto_util.make_csr(key_pem, [domain])
    try:
        order = client.new_order(csr)
    except messages.Error as exc:
        if exc.typ != "urn:ietf:params:acme:error:accountDoesNotExist":
            raise
        _forget_account()  # the CA forgot us (a test CA restarted): register again
        client, jwk = _client()
        order = client.new_order(csr)
    deadline = dt.datetime.now() + dt.timedelta(seconds=s.acme_timeout)
    # The CA validates as soon as it is told to: let every router serve the domain (and so hand its
    # /.well-known/acme-challenge/ to us) first, or a domain added a moment ago answers 503.
    with session_factory()() as db:
        current = routing.generation(db)
    if not routing.wait_for_acks(current, s.router_ack_timeout):
        log.warning("ACME order for %s: not every router applied generation %s; validating anyway", domain, current)
    for authz in order.authorizations:
        if authz.body.status == messages.STATUS_VALID:
            continue
        chall = next((c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01)), None)
        if chall is None:
            raise RuntimeError(f"the CA offers no HTTP-01 challenge for {authz.body.identifier.value}")
        response, validation = chall.response_and_validation(jwk)
        with session_factory()() as db:
            db.merge(AcmeChallenge(token=chall.chall.encode("token"), key_authorization=validation,
                                   domain=domain, expires=now() + dt.timedelta(seconds=s.acme_timeout + 600)))
            db.commit()
        client.answer_challenge(chall, response)
    order = client.poll_and_finalize(order, deadline=deadline)
    return order.fullchain_pem, key_pem.decode()


def describe(exc: Exception) -> str:
    """A readable reason for a failed order (the CA's problem documents included)."""
    from acme import errors as acme_errors
    from acme import messages

    if isinstance(exc, messages.Error):
        kind = (exc.typ or "").rsplit(":", 1)[-1]
        return f"{kind}: {exc.detail}" if exc.detail else str(exc)
    if isinstance(exc, acme_errors.ValidationError):
        reasons = []
        for authzr in exc.failed_authzrs:
            for chall in authzr.body.challenges:
                if chall.error is not None:
                    reasons.append(f"{authzr.body.identifier.value}: {describe(chall.error)}")
        return "validation failed: " + ("; ".join(reasons) or "the CA could not validate the domain")
    if isinstance(exc, acme_errors.TimeoutError):
        return "the CA did not complete the order in time"
    name = type(exc).__name__
    if name in ("ConnectionError", "SSLError", "ReadTimeout", "ConnectTimeout"):
        return f"cannot reach the ACME directory {get_settings().acme_directory} ({name})"
    return f"{name}: {exc}"


# ---- renewals -----------------------------------------------------------------------------------------
def due(db: Session) -> list:
    s = get_settings()
    horizon = now() + dt.timedelta(days=s.acme_renew_days)
    stale = now() - dt.timedelta(seconds=s.acme_timeout * 2)
    out = []
    for auto in db.scalars(select(AutoCert)).all():
        if auto.next_attempt is not None and auto.next_attempt > now():
            continue
        if auto.status in ("pending", "renewing") and auto.last_attempt and auto.last_attempt > stale:
            continue  # an issuance is (probably) running
        if auto.cert is None or auto.cert.expires <= horizon or auto.status != "valid":
            out.append(auto.uuid)
    return out


def renew_once() -> int:
    with session_factory()() as db:
        todo = due(db)
    return sum(1 for auto_uuid in todo if issue_safely(auto_uuid))


def start(interval: float, stop: threading.Event) -> threading.Thread:
    def loop() -> None:
        while not stop.wait(interval):
            try:
                renew_once()
            except Exception:  # noqa: BLE001 - survive a database restart
                log.exception("ACME renewal pass failed")

    thread = threading.Thread(target=loop, name="slipway-acme", daemon=True)
    thread.start()
    return thread
