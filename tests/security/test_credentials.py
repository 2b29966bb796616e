"""Each credential does one job, and what a destroyed app leaves is nobody's: the pushers' user has no Docker
and one narrow way to build; a leaked builder key reads no config and registers no build; a stranger cannot deploy
another tenant's image into their own app; a re-created app name starts empty."""
from __future__ import annotations

import json
import shlex
import urllib.error
import urllib.request

import pytest

from tests.e2e.conftest import TLS, WORK, push, router_key, sh
from tests.e2e.forward import forwarded

from .tenant import hello, push_tree, stranger

pytestmark = pytest.mark.timeout(1200)
SANDBOX = "/opt/slipway/agents/bin/slipway-sandbox"


def as_git(cmd: str, stdin: str = "") -> tuple[int, str]:
    p = sh(f"cd / && runuser -u git -- {cmd}", check=False, input=stdin)
    return p.returncode, p.stdout


def post(url: str, path: str, body: dict, headers: dict) -> int:
    req = urllib.request.Request(url + path, method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=30, context=TLS[0]) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def push_token(aio, user: str, app: str) -> str:
    """A push's token, asked for as the builder does: with its key, from the builder's host."""
    with forwarded(8000) as direct:
        req = urllib.request.Request(f"{direct}/v2/hooks/push/", method="POST", headers={
            "Content-Type": "application/json", "X-Deis-Builder-Auth": aio["builder_key"]},
            data=json.dumps({"receive_user": user, "receive_repo": app}).encode())
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())["push_token"]


def test_the_pushers_user_has_no_docker_and_one_way_to_build(aio):
    assert "docker" not in sh("id -nG git").stdout.split()
    rc, out = as_git("docker ps")
    assert rc != 0 and "permission denied" in out.lower(), out
    rc, out = as_git("sudo -n -l")
    allowed = [line.strip() for line in out.splitlines() if "NOPASSWD" in line]
    assert allowed == [f"(root) NOPASSWD: {SANDBOX}"], out
    for cmd in ("sudo -n /usr/bin/docker ps", "sudo -n /bin/sh -c id", "sudo -n -u root id"):
        rc, out = as_git(cmd)
        assert rc != 0, (cmd, out)
    # the entry point takes nothing it was not made for
    uuid, sha, token = "0b3f7a52-8d3e-4c6e-9a51-3f1f2d6b9e10", "a" * 40, "t" * 32
    for args in (f"build 'x;id' {uuid} {sha} /var/lib/slipway/builder/work/x", f"build app {uuid} {sha} /etc",
                 f"build app {uuid} {sha} /var/lib/slipway/builder/work/../../../../etc",
                 f"--config /tmp/evil.ini build app {uuid} {sha} /etc"):
        rc, out = as_git(f"sudo -n {SANDBOX} {args}", stdin=token + "\n")
        assert rc == 2 and "Push rejected" in out, (args, out)


def test_a_leaked_builder_key_reads_no_config_and_registers_no_build(aio, user_factory):
    world = stranger(aio, user_factory, "leak")
    key = {"X-Deis-Builder-Auth": aio["builder_key"]}
    body = {"receive_user": world["owner"].name, "receive_repo": world["app"]}
    image = f"{aio['registry']}/{world['app']}:git-deadbeef"
    with forwarded(8000) as direct:  # even from a platform host
        assert post(direct, "/v2/hooks/config/", body, key) == 401
        assert post(direct, "/v2/hooks/build/", {**body, "image": image}, key) == 401
    # from anywhere else, through the routers: no service call at all, so the key mints no push token there
    assert post(aio["api"], "/v2/hooks/push/", body, key) == 404
    assert push_token(aio, world["owner"].name, world["app"])  # what the builder does, from its host


def test_the_routers_serve_none_of_the_platforms_own_calls(aio):
    """The builder's, the routers', the node agents', the registry front's, the GC's and Prometheus' calls reach
    the controller directly; through a router, with their keys or without, they are not found."""
    router = {"X-Slipway-Router-Auth": router_key()}
    metrics = sh("sed -n 's/^SLIPWAY_METRICS_KEY=//p' /etc/slipway/controller.env").stdout.strip()
    calls = [("GET", "/v2/routes", router), ("POST", "/v2/routes/ack/", router),
             ("GET", "/v2/hooks/key/SHA256:x", {"X-Deis-Builder-Auth": aio["builder_key"]}),
             ("POST", "/v2/hooks/apps/alive/", {"X-Deis-Builder-Auth": aio["builder_key"]}),
             ("GET", "/v2/hooks/images/", {}), ("GET", "/v2/hooks/registry/", {}),
             ("POST", "/v2/hooks/nodes/report/", {}), ("GET", "/metrics", {"Authorization": f"Bearer {metrics}"})]
    for method, path, headers in calls:
        assert call(aio["api"], method, path, headers) == 404, (method, path)
    with forwarded(8000) as direct:
        assert call(direct, "GET", "/v2/routes", router) == 200
        assert call(direct, "GET", "/metrics", {"Authorization": f"Bearer {metrics}"}) == 200
        assert call(direct, "GET", "/v2/hooks/images/", {}) in (401, 403)  # the controller's own refusal


def call(url: str, method: str, path: str, headers: dict) -> int:
    req = urllib.request.Request(url + path, method=method, headers=headers,
                                 data=b"{}" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=30, context=TLS[0]) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_a_stranger_cannot_deploy_another_tenants_image(aio, user_factory):
    victim = stranger(aio, user_factory, "vic")
    rc, out = push_tree(victim, hello(aio["registry"], "victim"))
    assert rc == 0, out[-3000:]
    _, builds = victim["owner"].api("GET", f"/v2/apps/{victim['app']}/builds/")
    image = builds["results"][0]["image"]
    thief = stranger(aio, user_factory, "thief")
    for ref in (image, image.replace(f"/{victim['app']}:", f"//{victim['app']}:"),
                image.upper().replace(aio["registry"].upper(), aio["registry"])):
        status, answer = thief["owner"].api("POST", f"/v2/apps/{thief['app']}/builds/", {"image": ref}, expect=None)
        assert status in (400, 403), (ref, status, answer)
    _, releases = thief["owner"].api("GET", f"/v2/apps/{thief['app']}/releases/")
    assert releases["count"] == 1, releases


def test_a_recreated_app_name_starts_empty(aio, user_factory):
    first = stranger(aio, user_factory, "first")
    rc, out = push_tree(first, hello(aio["registry"], "first owner's history"))
    assert rc == 0, out[-3000:]
    _, info = first["owner"].api("GET", f"/v2/apps/{first['app']}/")
    assert f"{info['uuid']}.git" in sh("ls /var/lib/slipway/repos").stdout.split()
    first["owner"].api("DELETE", f"/v2/apps/{first['app']}/")
    second = user_factory("second")
    second.api("POST", "/v2/apps/", {"id": first["app"]})
    clone = f"{WORK}/clone-{first['app']}"
    p = sh(f"rm -rf {clone}; GIT_SSH_COMMAND={shlex.quote(second.ssh)} git clone git@127.0.0.1:{first['app']}.git "
           f"{clone} 2>&1", check=False)
    assert p.returncode != 0 and "has no repository yet" in p.stdout, p.stdout
    assert sh(f"docker images -q slipway-cache/{info['uuid']}").stdout.strip()  # its Dockerfile layer cache
    # the builder's hourly cleanup removes the first owner's repository and layer cache
    sh("systemctl start slipway-builder-cleanup.service")
    assert f"{info['uuid']}.git" not in sh("ls /var/lib/slipway/repos").stdout.split()
    assert sh(f"docker images -q slipway-cache/{info['uuid']}").stdout.strip() == ""
    # and the new owner's own push works
    world = {"owner": second, "app": first["app"], "src": f"{WORK}/src2-{first['app']}"}
    rc, out = push_tree(world, hello(aio["registry"], "second owner"))
    assert rc == 0, out[-3000:]
    assert push(second, first["app"], world["src"])[0] == 0


def test_a_recreated_app_name_cannot_run_the_old_owners_image(aio, user_factory):
    """The old owner's image left the registry with the app, but a node keeps its copy, and Swarm runs a local
    copy when its pull fails: the new owner of the name cannot deploy the old tag."""
    first = stranger(aio, user_factory, "oldimg")
    rc, out = push_tree(first, hello(aio["registry"], "the first owner's secret build"))
    assert rc == 0, out[-3000:]
    _, builds = first["owner"].api("GET", f"/v2/apps/{first['app']}/builds/")
    image = builds["results"][0]["image"].split("@")[0]
    first["owner"].api("DELETE", f"/v2/apps/{first['app']}/")
    assert sh(f"docker images -q {image}").stdout.strip(), "the host no longer keeps the old image"
    second = user_factory("newimg")
    second.api("POST", "/v2/apps/", {"id": first["app"]})
    status, answer = second.api("POST", f"/v2/apps/{first['app']}/builds/", {"image": image}, expect=None)
    assert status == 400 and "is not in the platform registry" in str(answer), (status, answer)
    assert not sh(f"docker ps -q --filter label=slipway.app={first['app']}").stdout.strip()


def test_the_registry_front_decides_per_repository(aio, user_factory):
    """Through the real front (nginx auth_request to the controller): a push's token reaches its own app's
    repository and the stack images, not another app's; no form body passes (distribution would read a blob
    mount's source from it); anonymous clients are refused; the nodes' pull account reads."""
    mine, theirs = stranger(aio, user_factory, "regme"), stranger(aio, user_factory, "regthem")
    rc, out = push_tree(theirs, hello(aio["registry"], "theirs"))
    assert rc == 0, out[-3000:]
    token = push_token(aio, mine["owner"].name, mine["app"])
    base = f"https://{aio['registry']}/v2"
    curl = "curl -s -o /dev/null -w '%{http_code}' --cacert /etc/slipway/tls/ca.crt"
    pull = sh("sed -n 's/^SLIPWAY_REGISTRY_PULL_PASSWORD=//p' /etc/slipway/controller.env").stdout.strip()

    def code(path: str, auth: str = "", extra: str = "") -> str:
        return sh(f"{curl} {extra} {('-u ' + shlex.quote(auth)) if auth else ''} {shlex.quote(base + path)}").stdout

    tags = "/tags/list"
    assert code(f"/{theirs['app']}{tags}") == "401"
    assert code(f"/{mine['app']}{tags}", f"push:{token}") in ("200", "404")  # its own (nothing pushed yet)
    assert code(f"/slipway/stack{tags}", f"push:{token}") == "200"
    assert code(f"/{theirs['app']}{tags}", f"push:{token}") == "403"
    assert code(f"/{mine['app']}/blobs/uploads/", f"push:{token}",
                f"-X POST -H 'Content-Type: application/x-www-form-urlencoded' --data 'mount=sha256:{'0' * 64}"
                f"&from={theirs['app']}'") == "403"
    assert code(f"/{theirs['app']}{tags}", f"pull:{pull}") == "200"
    assert code(f"/{theirs['app']}/blobs/uploads/", f"pull:{pull}", "-X POST") == "403"
