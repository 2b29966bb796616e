"""Buildpack deploys for real: a registry (tests/deploy's fixture), the stack images, a live controller on the
Swarm, and a local package index (pip's simple API and a static npm registry) on 127.0.0.1."""
from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import urllib.request
import zipfile

import pytest

from tests.deploy.conftest import registry, repo  # noqa: F401  (the fixtures)
from tests.live import ROOT, free_port, live_controller


@pytest.fixture(scope="session")
def stacks():
    subprocess.run([os.path.join(ROOT, "scripts/build-stack-image.sh")], check=True)


@pytest.fixture(scope="module")
def ctl(stacks):
    with live_controller(SLIPWAY_HEALTH_TIMEOUT="60", SLIPWAY_DRAIN_SECONDS="0") as controller:
        yield controller


def wheel(dest, name: str, version: str, module: str, source: str) -> str:
    """A pure-Python wheel made by hand (what `pip download` would have fetched)."""
    dist = name.replace("-", "_")
    filename = f"{dist}-{version}-py3-none-any.whl"
    info = f"{dist}-{version}.dist-info"
    files = {f"{module}.py": source,
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: slipway-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(dest / filename, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return filename


def npm_package(dest, name: str, version: str, files: dict[str, str], base: str) -> dict:
    """An `npm pack`-style tarball and its registry document (packument)."""
    tgz = dest / f"{name}-{version}.tgz"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for path, text in {"package.json": json.dumps({"name": name, "version": version, "main": "index.js"}),
                           **files}.items():
            data = text.encode()
            member = tarfile.TarInfo("package/" + path)
            member.size, member.mode, member.mtime = len(data), 0o644, 0
            t.addfile(member, io.BytesIO(data))
    tgz.write_bytes(buf.getvalue())
    data = tgz.read_bytes()
    doc = {"name": name, "dist-tags": {"latest": version},
           "versions": {version: {"name": name, "version": version, "main": "index.js",
                                  "dist": {"tarball": f"{base}/{tgz.name}", "shasum": hashlib.sha1(data).hexdigest(),
                                           "integrity": "sha512-" + base64.b64encode(
                                               hashlib.sha512(data).digest()).decode()}}}}
    (dest / name).write_text(json.dumps(doc))
    return doc


@pytest.fixture(scope="session")
def index(tmp_path_factory):
    """http://127.0.0.1:PORT/simple/ (pip) and http://127.0.0.1:PORT/ (npm) from one static file server."""
    root = tmp_path_factory.mktemp("index")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    pkgs = root / "packages"
    pkgs.mkdir()
    whl = wheel(pkgs, "slipway-greeting", "1.0", "slipway_greeting", 'def greet():\n    return "hello from the index"\n')
    simple = root / "simple" / "slipway-greeting"
    simple.mkdir(parents=True)
    (simple / "index.html").write_text(f'<html><body><a href="../../packages/{whl}">{whl}</a></body></html>\n')
    npm_package(root, "slipway-dep", "1.0.0", {"index.js": "module.exports = () => 'node dep says hi';\n"}, base)
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                             "--directory", str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(base + "/simple/slipway-greeting/", timeout=1)
            break
        except OSError:
            assert time.monotonic() < deadline, "index did not start"
            time.sleep(0.1)
    yield base
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def cache_root(tmp_path):
    return tmp_path / "buildcache"


@pytest.fixture(scope="session")
def https_files(tmp_path_factory):
    """A static file server over HTTPS on 127.0.0.1 with a CA of its own: {root, url, ca} (a folder it serves,
    its base URL, the CA certificate's path for slipway_build_ca_file)."""
    import http.server
    import ssl
    import threading
    tls = tmp_path_factory.mktemp("https-tls")
    root = tmp_path_factory.mktemp("https-root")
    openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    subprocess.run([*openssl, "-subj", "/CN=test CA", "-keyout", str(tls / "ca.key"), "-out", str(tls / "ca.crt"),
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(tls / "server.key"), "-out", str(tls / "server.csr")], check=True, capture_output=True)
    (tls / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    subprocess.run(["openssl", "x509", "-req", "-in", str(tls / "server.csr"), "-CA", str(tls / "ca.crt"),
                    "-CAkey", str(tls / "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", str(tls / "san.ext"),
                    "-out", str(tls / "server.crt")], check=True, capture_output=True)
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tls / "server.crt"), str(tls / "server.key"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"root": root, "url": f"https://127.0.0.1:{server.server_address[1]}", "ca": str(tls / "ca.crt")}
    server.shutdown()
