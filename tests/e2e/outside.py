"""The internet, as tenants see it in the end-to-end and security tests: a container beside the platform host
(`outside`) serving static files over HTTP and HTTPS, whose certificate the platform CA signed, as a site's own
package mirror would be. The platform host reaches it at its address on this machine's Docker bridge; tenant
code reaches it only through the sandboxes' outbound path, which is what the tests check."""
from __future__ import annotations

import glob
import os
import pathlib
import subprocess
import tempfile
import time
import types

import pytest

from .conftest import HOST, sh

OUTSIDE = os.environ.get("SLIPWAY_OUTSIDE_HOST", "slipway-outside")
HTTP_PORT, HTTPS_PORT = 8080, 8443
HERE = pathlib.Path(__file__).resolve().parent


def platform_ca() -> tuple[str, str]:
    """(ca.crt, ca.key) on this machine: the molecule scenario's secrets whose CA the host trusts."""
    host_ca = sh("cat /etc/slipway/tls/ca.crt").stdout
    for crt in glob.glob(os.path.expanduser("~/.ansible/tmp/molecule.*/inventory/.secrets/pki/ca.crt")):
        if pathlib.Path(crt).read_text().strip() == host_ca.strip():
            return crt, crt[:-4] + ".key"
    raise AssertionError("the platform CA's key is not among molecule's secrets on this machine")


def _certificate(folder: pathlib.Path, address: str) -> None:
    crt, key = platform_ca()
    subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=outside",
                    "-keyout", str(folder / "server.key"), "-out", str(folder / "server.csr")],
                   check=True, capture_output=True)
    (folder / "san.ext").write_text(f"subjectAltName=IP:{address}\n")
    subprocess.run(["openssl", "x509", "-req", "-in", str(folder / "server.csr"), "-CA", crt, "-CAkey", key,
                    "-CAcreateserial", "-CAserial", str(folder / "ca.srl"), "-days", "2",
                    "-extfile", str(folder / "san.ext"), "-out", str(folder / "server.crt")],
                   check=True, capture_output=True)


@pytest.fixture(scope="session")
def outside(aio):
    """The internet, as far as tenants know: {address, http, https, put(path, bytes)}."""
    image = subprocess.run(["docker", "inspect", "-f", "{{.Config.Image}}", HOST], capture_output=True,
                           text=True, check=True).stdout.strip()
    subprocess.run(["docker", "rm", "-f", OUTSIDE], capture_output=True)
    subprocess.run(["docker", "run", "-d", "--name", OUTSIDE, "--network", "bridge", "-w", "/srv", image,
                    "sleep", "infinity"], check=True, capture_output=True)
    address = subprocess.run(["docker", "inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", OUTSIDE],
                             capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        _certificate(folder, address)
        for name in ("server.crt", "server.key"):
            subprocess.run(["docker", "cp", str(folder / name), f"{OUTSIDE}:/srv/{name}"], check=True)
    subprocess.run(["docker", "cp", str(HERE / "outside_server.py"), f"{OUTSIDE}:/usr/local/bin/"], check=True)
    subprocess.run(["docker", "exec", "-d", "-w", "/srv", OUTSIDE, "python3", "/usr/local/bin/outside_server.py",
                    str(HTTP_PORT), str(HTTPS_PORT)], check=True)

    def put(path: str, data: bytes) -> None:
        subprocess.run(["docker", "exec", "-i", OUTSIDE, "sh", "-c",
                        f"mkdir -p \"$(dirname '/srv/{path}')\" && cat > '/srv/{path}'"], input=data, check=True)

    def run(cmd: str) -> None:
        subprocess.run(["docker", "exec", "-w", "/srv", OUTSIDE, "sh", "-c", cmd], check=True, capture_output=True)

    world = types.SimpleNamespace(address=address, http=f"http://{address}:{HTTP_PORT}",
                                  https=f"https://{address}:{HTTPS_PORT}", put=put, run=run, name=OUTSIDE)
    put("ping", b"outside says hi\n")
    deadline = time.monotonic() + 30
    while sh(f"curl -fsS -m 3 {world.http}/ping", check=False).returncode != 0:
        assert time.monotonic() < deadline, "the outside server does not answer the platform host"
        time.sleep(0.3)
    yield world
    subprocess.run(["docker", "rm", "-f", OUTSIDE], capture_output=True)


def publish_git(outside, name: str, files: dict[str, str], tag: str = "") -> str:
    """A git repository of these files (executable when under bin/), committed and optionally tagged, published
    on the outside server over https (git's dumb HTTP protocol); its URL."""
    with tempfile.TemporaryDirectory() as tmp:
        work, bare = pathlib.Path(tmp) / "work", pathlib.Path(tmp) / f"{name}.git"
        for path, text in files.items():
            target = work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            if path.startswith("bin/"):
                target.chmod(0o755)
        git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", name], check=True)
        if tag:
            subprocess.run([*git, "tag", tag], check=True)
        subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
        subprocess.run(["git", "-C", str(bare), "update-server-info"], check=True)
        subprocess.run(["docker", "exec", outside.name, "rm", "-rf", f"/srv/{name}.git"], check=True)
        subprocess.run(["docker", "cp", str(bare), f"{outside.name}:/srv/{name}.git"], check=True)
    return f"{outside.https}/{name}.git"


def publish_dir(outside, local: pathlib.Path, name: str) -> str:
    """A folder of this machine served by the outside server over HTTP under /<name>; its URL."""
    subprocess.run(["docker", "exec", outside.name, "rm", "-rf", f"/srv/{name}"], check=True)
    subprocess.run(["docker", "cp", str(local), f"{outside.name}:/srv/{name}"], check=True)
    return f"{outside.http}/{name}"
