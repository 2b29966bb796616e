"""Builds run in a sandbox: a Dockerfile's RUN steps and a custom buildpack (fetched over https from the
outside) reach the internet and no port of the platform host, see no Docker socket and none of the builder's
files, and are held to their process, memory and time limits; the platform keeps serving and the stranger's
next ordinary push deploys."""
from __future__ import annotations

import re
import shlex

import pytest

from tests.e2e.conftest import sh
from tests.e2e.outside import publish_git

from . import probes
from .tenant import hello, push_tree, still_deploys, stranger

pytestmark = pytest.mark.timeout(1800)


@pytest.fixture
def world(aio, user_factory):
    return stranger(aio, user_factory, "box")


def buildpack(outside, name: str, compile_script: str) -> str:
    """A custom buildpack on the outside server (git over https) whose compile runs this bash; its BUILDPACK_URL."""
    return publish_git(outside, name, {
        "bin/detect": "#!/bin/sh\necho Probe\n", "bin/compile": "#!/bin/bash\n" + compile_script,
        "bin/release": "#!/bin/sh\nprintf -- '---\\ndefault_process_types:\\n  web: sleep 600\\n'\n"})


def platform_serves(aio) -> None:
    assert sh("curl -fsS -m 10 http://127.0.0.1:8000/readiness", check=False).returncode == 0
    assert sh("systemctl is-active slipway-controller nginx docker slipway-builder-sshd", check=False).returncode == 0


def test_a_dockerfile_reaches_the_internet_and_nothing_of_the_platform(aio, world, outside):
    run = "RUN " + " && ".join(f"echo {shlex.quote(line)} >> /probe.sh" for line in
                               probes.script(outside.http).strip().splitlines()) + " && bash /probe.sh\n"
    files = hello(aio["registry"])
    files["Dockerfile"] = files["Dockerfile"].replace("COPY", run + "COPY", 1)
    rc, out = push_tree(world, files)
    found = probes.results(out)
    print(f"\n[dockerfile sandbox] {len(probes.platform_targets())} platform ports probed, open: {found['open']}")
    assert rc == 0, out[-3000:]
    assert found["open"] == [] and found["outside"], out[-5000:]
    assert not found["socket"] and not found["files"], out[-3000:]
    platform_serves(aio)


def test_a_custom_buildpack_reaches_the_internet_and_nothing_of_the_platform(aio, world, outside):
    url = buildpack(outside, "probe-bp", probes.script(outside.http) + "\nexit 1\n")
    world["owner"].api("POST", f"/v2/apps/{world['app']}/config/", {"values": {"BUILDPACK_URL": url}})
    rc, out = push_tree(world, {"probe.txt": "x"})
    found = probes.results(out)
    print(f"\n[buildpack sandbox] open: {found['open']}")
    assert "Probe app detected" in out, out[-3000:]
    assert found["open"] == [] and found["outside"], out[-5000:]
    assert not found["socket"] and not found["files"], out[-3000:]
    world["owner"].api("POST", f"/v2/apps/{world['app']}/config/", {"values": {"BUILDPACK_URL": None}})
    still_deploys(aio, world)


FORKS = """python3 - <<'PY'
import os, time
n = 0
try:
    while n < 5000:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        n += 1
except OSError as e:
    print("forks stopped at", n, flush=True)
else:
    print("forks unbounded", n, flush=True)
PY
exit 1
"""


def test_a_build_that_forks_without_end_is_held_to_its_limit(aio, world, outside):
    url = buildpack(outside, "fork-bp", FORKS)
    world["owner"].api("POST", f"/v2/apps/{world['app']}/config/", {"values": {"BUILDPACK_URL": url}})
    rc, out = push_tree(world, {"fork.txt": "x"})
    assert rc != 0, out[-3000:]
    stopped = re.search(r"forks stopped at (\d+)", out)
    assert stopped and int(stopped.group(1)) <= 512, out[-3000:]
    platform_serves(aio)
    world["owner"].api("POST", f"/v2/apps/{world['app']}/config/", {"values": {"BUILDPACK_URL": None}})
    still_deploys(aio, world)


def test_a_dockerfile_that_forks_without_end_is_held_to_its_own_limit(aio, world):
    files = hello(aio["registry"])
    run = "RUN " + " && ".join(f"echo {shlex.quote(line)} >> /fork.sh" for line in FORKS.splitlines()) + " && bash /fork.sh\n"
    files["Dockerfile"] = files["Dockerfile"].replace("COPY", run + "COPY", 1)
    rc, out = push_tree(world, files)
    assert rc != 0, out[-3000:]
    stopped = re.search(r"forks stopped at (\d+)", out)
    assert stopped and int(stopped.group(1)) <= 512, out[-3000:]  # the build's own limit, not all builds' 2048
    platform_serves(aio)


def test_a_build_that_eats_memory_is_stopped(aio, world, outside):
    url = buildpack(outside, "mem-bp", "python3 -c \"x = b'a' * (3 * 1024 ** 3); print('ATE' + '-ALL', len(x))\"\n")
    world["owner"].api("POST", f"/v2/apps/{world['app']}/config/", {"values": {"BUILDPACK_URL": url}})
    rc, out = push_tree(world, {"mem.txt": "x"})
    assert rc != 0 and "ATE-ALL" not in out, out[-3000:]
    platform_serves(aio)
    world["owner"].api("POST", f"/v2/apps/{world['app']}/config/", {"values": {"BUILDPACK_URL": None}})
    still_deploys(aio, world)


def test_a_buildpack_cannot_make_the_builder_read_its_files(aio, world, outside):
    """bin/release answering with a link to a host file: the driver, which runs as root after the sandbox has
    gone, reads only regular files."""
    url = publish_git(outside, "link-bp", {
        "bin/detect": "#!/bin/sh\necho Linker\n", "bin/compile": "#!/bin/sh\ntrue\n",
        "bin/release": "#!/bin/sh\nln -sf /etc/slipway/builder/buildcache.curl /tmp/out/release.yml\necho x\n"})
    world["owner"].api("POST", f"/v2/apps/{world['app']}/config/", {"values": {"BUILDPACK_URL": url}})
    rc, out = push_tree(world, {"link.txt": "x"})
    assert rc != 0 and "left no release.yml as a regular file" in out, out[-3000:]
    assert "aws-sigv4" not in out and "user =" not in out, out[-3000:]
    assert sh("grep -rl aws-sigv4 /var/lib/slipway/builder/work 2>/dev/null || true").stdout.strip() == ""


def test_a_dockerfile_cannot_have_the_daemon_fetch_for_it(aio, world, outside):
    """ADD of a URL is fetched by dockerd from the host's own network: refused before anything is built, in every
    form the Engine's parser reads (a comment or an empty line inside a continuation, quotes in the URL)."""
    outside.put("fetched", b"fetched by the builder's Engine\n")
    url = f"{outside.http}/fetched"
    for lines in ("ADD http://127.0.0.1:8000/readiness /leak\n", "ADD http://169.254.169.254/latest/meta-data/ /m\n",
                  f"ADD \\\n# a comment inside the continuation\n{url} /leak\n", f"ADD \\\n\n{url} /leak\n",
                  "ADD " + url.replace("://", ':"//"') + " /leak\n", "ADD " + url.replace("://", ":\\//") + " /leak\n"):
        files = hello(aio["registry"])
        files["Dockerfile"] = files["Dockerfile"].replace("COPY", lines + "COPY", 1)
        rc, out = push_tree(world, files)
        assert rc != 0 and "ADD of a URL or variable is not supported" in out, (lines, out[-3000:])
    still_deploys(aio, world)


def test_a_dockerfile_cannot_build_from_another_apps_image(aio, world, user_factory):
    """Not through the registry (a push's token reaches its own app's repository only), not as a local image of
    the builder, not from a registry on the builder itself (FROM or COPY --from)."""
    victim = stranger(aio, user_factory, "fromvic")
    rc, out = push_tree(victim, hello(aio["registry"], "victim's secret build"))
    assert rc == 0, out[-3000:]
    _, builds = victim["owner"].api("GET", f"/v2/apps/{victim['app']}/builds/")
    image = builds["results"][0]["image"].split("@")[0]
    short = sh(f"docker images -q {image} | head -1").stdout.strip()
    repository = f"{victim['app']}:{image.rsplit(':', 1)[1]}"
    on_builder = "a registry on the builder itself is not reachable from builds"
    for base, message in ((image, ""), (short, ""), (f"127.0.0.1:5001/{repository}", on_builder),
                          (f"localhost:5001/{repository}", on_builder)):
        files = hello(aio["registry"])
        files["Dockerfile"] = f"FROM {base}\nCMD [\"cat\", \"/app/app.py\"]\n"
        rc, out = push_tree(world, files)
        assert rc != 0 and message in out, (base, out[-3000:])
    files = hello(aio["registry"])
    files["Dockerfile"] = f"FROM scratch AS a\nFROM {aio['registry']}/slipway/stack:trixie\n" \
                          f"COPY --from=127.0.0.1:5001/{repository} /app/app.py /stolen.py\n"
    rc, out = push_tree(world, files)
    assert rc != 0 and on_builder in out, out[-3000:]
    still_deploys(aio, world)
