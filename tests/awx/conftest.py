"""The job templates of awx/ against a real controller: the collection built and installed as a project or an
execution environment has it, and a live controller (uvicorn, a fresh PostgreSQL database, the real Swarm
scheduler) reached over HTTPS with a certificate of a test CA, as platforms serve the API through the router."""
from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import secrets
import ssl
import subprocess
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.controller.conftest import REGISTRY, Api, register
from tests.live import live_controller

from .awxjob import ROOT, install_collection, launch


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_pki(folder) -> dict:
    """A CA and a server certificate it signed for 127.0.0.1 and localhost: PEM paths and the CA's text."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Slipway test CA")).issuer_name(_name("Slipway test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    ca_pem = ca.public_bytes(serialization.Encoding.PEM).decode()
    paths = {"ca": folder / "ca.crt", "cert": folder / "server.crt", "key": folder / "server.key"}
    paths["ca"].write_text(ca_pem)
    paths["cert"].write_text(cert.public_bytes(serialization.Encoding.PEM).decode() + ca_pem)
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return {**{k: str(v) for k, v in paths.items()}, "ca_pem": ca_pem}


class TlsFront:
    """HTTPS on 127.0.0.1 in front of the controller's plain HTTP port, as the router terminates TLS for the API."""

    def __init__(self, backend_port: int, cert: str, key: str):
        self.backend_port = backend_port
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def __enter__(self):
        self.thread.start()
        assert self.ready.wait(10), "the TLS front did not start"
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0, ssl=self.context))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        server.close()

    async def _client(self, reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.backend_port)
        except OSError:
            writer.close()
            return

        async def pipe(src, dst):
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, ssl.SSLError):
                pass
            finally:
                try:
                    dst.close()
                except (OSError, RuntimeError):
                    pass

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.fixture(scope="session")
def collections(tmp_path_factory) -> str:
    """The collection built from this tree and installed, as a project's collections/requirements.yml or an
    execution environment installs it: the job templates' playbooks run from there."""
    return install_collection(tmp_path_factory.mktemp("collection"))


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> dict:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def ctl():
    subprocess.run(["bash", str(ROOT / "scripts" / "dev-services.sh")], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([str(ROOT / "scripts" / "build-test-image.sh"), "web"], check=True)
    with live_controller(SLIPWAY_HEALTH_TIMEOUT="30", SLIPWAY_DRAIN_SECONDS="0.5", SLIPWAY_ROUTER_ACK_TIMEOUT="0.5",
                         SLIPWAY_ROUTER_ALIVE_SECONDS="3", SLIPWAY_REGISTRY=REGISTRY) as controller:
        yield controller


@pytest.fixture(scope="session")
def https_url(ctl, pki) -> str:
    with TlsFront(int(ctl.url.rsplit(":", 1)[1]), pki["cert"], pki["key"]) as front:
        yield f"https://127.0.0.1:{front.port}"


@pytest.fixture
def user(ctl) -> Api:
    return register(ctl, f"awx-{secrets.token_hex(3)}")


@pytest.fixture
def credential(user, https_url, pki) -> dict:
    """The inputs of a "Slipway controller" credential for `user`, as an operator fills them in."""
    return {"url": https_url, "token": user.token, "ca_cert": pki["ca_pem"]}


@pytest.fixture
def run(collections, tmp_path):
    """Launch a job template with these survey answers and credentials."""
    def go(name: str, answers: dict | None = None, **kw):
        return launch(name, answers, collections=collections, workdir=str(tmp_path), **kw)
    return go
