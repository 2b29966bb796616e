"""A base image from the internet whose ONBUILD trigger fetches a platform URL: the builder's Docker Engine would
run the trigger in the tenant's build and fetch it from the builder host's own network, outside the build's
sandbox. Refused before anything is built, and the stranger's next ordinary push deploys. (ADD of a URL in any
form and images from registries on the builder: tests/security/test_build_sandbox.py.)"""
from __future__ import annotations

import subprocess

import pytest

from tests.e2e.conftest import sh

from .tenant import hello, push_tree, still_deploys, stranger

pytestmark = pytest.mark.timeout(1800)
REGISTRY_PORT = 5443


@pytest.fixture
def world(aio, user_factory):
    return stranger(aio, user_factory, "fetch")


@pytest.fixture
def internet_registry(aio, outside):
    """A registry on the outside machine (the internet, as tenants know it), over HTTPS with a certificate the
    builder trusts: Debian's docker-registry, the host's own binary."""
    subprocess.run(["docker", "cp", "-L", "slipway-aio:/usr/bin/docker-registry", "/tmp/outside-docker-registry"],
                   check=True)
    subprocess.run(["docker", "cp", "/tmp/outside-docker-registry", f"{outside.name}:/usr/local/bin/docker-registry"],
                   check=True)
    outside.put("registry.yml", (
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /srv/registry-data\nhttp:\n"
        f"  addr: 0.0.0.0:{REGISTRY_PORT}\n  secret: outside-only\n  tls:\n    certificate: /srv/server.crt\n"
        f"    key: /srv/server.key\n").encode())
    subprocess.run(["docker", "exec", "-d", outside.name, "/usr/local/bin/docker-registry", "serve",
                    "/srv/registry.yml"], check=True)
    address = f"{outside.address}:{REGISTRY_PORT}"
    for _ in range(60):
        if sh(f"curl -fsS -m 2 -o /dev/null https://{address}/v2/", check=False).returncode == 0:
            break
        sh("sleep 0.5")
    yield address
    subprocess.run(["docker", "exec", outside.name, "pkill", "-f", "docker-registry serve"], capture_output=True)


def test_a_base_image_whose_trigger_fetches_is_refused(aio, world, internet_registry):
    """An image on the internet with `ONBUILD ADD http://127.0.0.1:8000/...`: the Engine would run the trigger
    in the tenant's build and fetch the platform controller's answer from the builder host itself."""
    base = f"{internet_registry}/someone/base:1"
    sh(f"cd $(mktemp -d) && printf 'FROM slipway/stack:trixie\\nONBUILD ADD http://127.0.0.1:8000/readiness "
       f"/leak\\n' > Dockerfile && DOCKER_BUILDKIT=0 docker build -q -t {base} . >/dev/null && "
       f"docker push -q {base} >/dev/null && docker image rm {base} >/dev/null")
    files = hello(aio["registry"])
    files["Dockerfile"] = f"FROM {base}\nCMD [\"cat\", \"/leak\"]\n"
    rc, out = push_tree(world, files)
    assert rc != 0 and "has an ONBUILD trigger the sandbox does not run" in out, out[-3000:]
    assert sh(f"docker images -q {base}").stdout.strip() != "", "the sandbox pulled the image it checked"
    still_deploys(aio, world)
