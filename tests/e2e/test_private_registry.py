"""An app's image from a private registry (Deis's `registry:set` and `pull`), on the all-in-one host.

The registry is a container the test starts on the host's Docker (Debian's docker-registry, the host's own binary
in the platform's stack image), served over HTTPS with a certificate of the platform CA, with an htpasswd account.
An image is pushed there. Without the app's credentials, `pull` fails with a clear message and the release before
keeps serving; with them, it deploys and serves.
"""
from __future__ import annotations

import glob
import os
import pathlib
import shlex
import subprocess

import pytest

from .conftest import ROOT, WORK, git_repo, get, push, sh, unique, wait_for

NAME, PORT = "private-registry.test", 5443
HOST = f"{NAME}:{PORT}"
USER, PASSWORD = "team", "Private-e2e-pw-7"
pytestmark = pytest.mark.timeout(1500)


def platform_ca_key() -> pathlib.Path:
    """The platform CA's key in the molecule scenario's secrets (the one whose certificate the host has)."""
    ca = sh("cat /etc/slipway/tls/ca.crt").stdout
    for key in glob.glob(os.path.expanduser("~/.ansible/tmp/molecule.*.default/inventory/.secrets/pki/ca.key")) + \
            glob.glob(os.path.expanduser("~/.cache/molecule/*/default/inventory/.secrets/pki/ca.key")):
        if pathlib.Path(key).with_name("ca.crt").read_text() == ca:
            return pathlib.Path(key)
    pytest.fail("the platform CA's key is not in the molecule scenario's secrets")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    folder = tmp_path_factory.mktemp("private-registry")
    key = platform_ca_key()
    (folder / "san.cnf").write_text(f"subjectAltName=DNS:{NAME}\nextendedKeyUsage=serverAuth\n")
    run = lambda *cmd: subprocess.run(cmd, check=True, capture_output=True, cwd=folder)  # noqa: E731
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "tls.key", "-out", "tls.csr", "-subj", f"/CN={NAME}")
    run("openssl", "x509", "-req", "-in", "tls.csr", "-CA", str(key.with_name("ca.crt")), "-CAkey", str(key),
        "-CAcreateserial", "-days", "2", "-out", "tls.crt", "-extfile", "san.cnf")
    hashed = subprocess.run(
        ["python3", "-W", "ignore", "-c",
         "import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))", PASSWORD],
        check=True, capture_output=True, text=True).stdout.strip()
    (folder / "htpasswd").write_text(f"{USER}:{hashed}\n")
    (folder / "config.yml").write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /tmp/data\nhttp:\n  addr: 127.0.0.1:{PORT}\n"
        f"  secret: e2e-only\n  tls:\n    certificate: /preg/tls.crt\n    key: /preg/tls.key\n"
        f"auth:\n  htpasswd:\n    realm: private\n    path: /preg/htpasswd\n")
    sh(f"rm -rf {WORK}/preg && mkdir -p {WORK}/preg")
    for name in ("tls.crt", "tls.key", "htpasswd", "config.yml"):
        subprocess.run(["docker", "cp", str(folder / name), f"slipway-aio:{WORK}/preg/{name}"], check=True)
    stack = sh("docker images --format '{{.Repository}}:{{.Tag}}' | grep '/slipway/stack:' | head -1").stdout.strip()
    assert stack, "no stack image on the host"
    sh(f"chmod 0644 {WORK}/preg/* && grep -q ' {NAME}$' /etc/hosts || echo '127.0.0.1 {NAME}' >> /etc/hosts")
    sh(f"docker rm -f e2e-private-registry >/dev/null 2>&1; docker run -d --name e2e-private-registry "
       f"--network host -v /usr/bin/docker-registry:/usr/bin/docker-registry:ro -v {WORK}/preg:/preg:ro "
       f"--entrypoint /usr/bin/docker-registry {stack} serve /preg/config.yml")
    wait_for(lambda: sh(f"curl -s -o /dev/null -w '%{{http_code}}' https://{HOST}/v2/", check=False).stdout == "401",
             timeout=30, message="the private registry over HTTPS, verified with the system's trust")
    yield HOST
    sh("docker rm -f e2e-private-registry", check=False)
    sh(f"sed -i '/ {NAME}$/d' /etc/hosts", check=False)


def deploy(user, app: str, image: str):
    return user.api("POST", f"/v2/apps/{app}/builds/", {"image": image}, expect=None)


def test_pull_from_a_private_registry(registry, user_factory):
    user = user_factory("preg")
    first = unique("prega")
    user.api("POST", "/v2/apps/", {"id": first})
    src = f"{WORK}/{first}"
    git_repo(src, {name: (ROOT / "examples" / "hello" / name).read_text()
                   for name in os.listdir(ROOT / "examples" / "hello") if not name.endswith(".pyc")
                   and (ROOT / "examples" / "hello" / name).is_file()})
    rc, out, _ = push(user, first, src)
    assert rc == 0, out[-3000:]
    base = user.api("GET", f"/v2/apps/{first}/builds/")[1]["results"][0]["image"]
    private = f"{registry}/team/hello:1"
    # the private image: the app's image with another greeting, pushed with the account, then gone from the host
    sh(f"cid=$(docker create {shlex.quote(base)}) && docker commit -c 'ENV GREETING=\"From a private registry\"' "
       f"$cid {private} >/dev/null && docker rm $cid >/dev/null && "
       f"echo {PASSWORD} | docker login -u {USER} --password-stdin {registry} >/dev/null && "
       f"docker push -q {private} >/dev/null; rc=$?; docker logout {registry} >/dev/null; "
       f"docker image rm {private} >/dev/null; exit $rc")

    second = unique("pregb")
    user.api("POST", "/v2/apps/", {"id": second})
    domain = user.api("GET", f"/v2/apps/{second}/")[1]["url"].split("://")[-1].strip("/")
    status, answer = deploy(user, second, base)
    assert status == 201, answer
    wait_for(lambda: get(domain)[1].startswith("Hello from Slipway"), timeout=60, message="the first release")

    status, answer = deploy(user, second, private)  # no credentials: the pull is refused
    print(f"\n[private image without credentials] {status} {answer}")
    assert status == 400 and "Release failed" in answer["detail"], answer
    assert any(word in answer["detail"] for word in ("no basic auth", "denied", "No such image", "unauthorized")), \
        answer
    assert get(domain)[1].startswith("Hello from Slipway")  # the release before keeps serving

    user.api("POST", f"/v2/apps/{second}/config/", {"registry": {"username": USER, "password": PASSWORD}})
    status, answer = deploy(user, second, private)
    assert status == 201, answer
    wait_for(lambda: get(domain)[1].startswith("From a private registry"), timeout=60,
             message="the private image serving")
    config = user.api("GET", f"/v2/apps/{second}/config/")[1]
    assert config["registry"] == {"username": USER, "password": "********"}
    for app in (first, second):
        user.api("DELETE", f"/v2/apps/{app}/")
