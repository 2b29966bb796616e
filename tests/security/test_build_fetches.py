"""What a Dockerfile could make the builder's Docker Engine fetch by itself, from the builder host's own network
and outside the build's sandbox: an ADD of a URL in any form the Engine's parser reads (a comment or an empty line
inside a continuation, quotes inside the URL), an image from a registry on the builder itself (the registry's
storage, another tenant's images), and a base image from the internet whose ONBUILD trigger fetches a platform
URL. Each is refused before anything is built, and the stranger's next ordinary push deploys."""
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


def with_add(aio, lines: str) -> dict[str, str]:
    files = hello(aio["registry"])
    files["Dockerfile"] = files["Dockerfile"].replace("COPY", lines + "COPY", 1)
    return files


def test_no_form_of_an_add_has_the_engine_fetch_a_url(aio, world, outside):
    outside.put("fetched", b"fetched by the builder's Engine\n")
    url = f"{outside.http}/fetched"
    for lines in (f"ADD \\\n# a comment inside the continuation\n{url} /leak\n",
                  f"ADD \\\n\n{url} /leak\n",
                  "ADD " + url.replace("://", ':"//"') + " /leak\n",
                  "ADD " + url.replace("://", ":\\//") + " /leak\n"):
        rc, out = push_tree(world, with_add(aio, lines))
        assert rc != 0 and "ADD of a URL or variable is not supported" in out, (lines, out[-3000:])
    still_deploys(aio, world)


def test_no_image_comes_from_a_registry_on_the_builder(aio, world, user_factory):
    victim = stranger(aio, user_factory, "fetchvic")
    rc, out = push_tree(victim, hello(aio["registry"], "the victim's own build"))
    assert rc == 0, out[-3000:]
    _, builds = victim["owner"].api("GET", f"/v2/apps/{victim['app']}/builds/")
    tag = builds["results"][0]["image"].split("@")[0].rsplit(":", 1)[1]
    for base in (f"127.0.0.1:5001/{victim['app']}:{tag}", f"localhost:5001/{victim['app']}:{tag}"):
        files = hello(aio["registry"])
        files["Dockerfile"] = f"FROM {base}\nCMD [\"cat\", \"/app/app.py\"]\n"
        rc, out = push_tree(world, files)
        assert rc != 0 and "a registry on the builder itself is not reachable from builds" in out, (base, out[-3000:])
    files = hello(aio["registry"])
    files["Dockerfile"] = f"FROM scratch AS a\nFROM {aio['registry']}/slipway/stack:trixie\n" \
                          f"COPY --from=127.0.0.1:5001/{victim['app']}:{tag} /app/app.py /stolen.py\n"
    rc, out = push_tree(world, files)
    assert rc != 0 and "a registry on the builder itself" in out, out[-3000:]
    still_deploys(aio, world)


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
