"""A destroyed app's images leave the platform registry at once (through the real front, with the garbage
collection's account), and while they cannot (the registry away) the name stays retired: a new app of that name is
refused until they are gone. Real nginx front (the role's upstream: distribution's unix socket), real distribution
registry, real controller."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest

from conftest import AGENTS, Nginx
from fakes import free_port
from test_registry_front import Client, front_conf
from test_registry_gc import LocalRegistry

from tests.live import live_controller


def api(ctl, method: str, path: str, body=None, token: str | None = None, headers: dict | None = None):
    """(status, JSON answer) of a controller call."""
    req = urllib.request.Request(ctl.url + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json", **(headers or {}),
                                          **({"Authorization": f"token {token}"} if token else {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def ctl(port):
    subprocess.run([os.path.join(os.path.dirname(AGENTS), "scripts", "dev-services.sh")], check=True,
                   capture_output=True)
    with live_controller(SLIPWAY_SCHEDULER="none", SLIPWAY_REGISTRY=f"127.0.0.1:{port}",
                         SLIPWAY_REGISTRY_API=f"http://127.0.0.1:{port}") as c:
        yield c


@pytest.fixture
def front(workdir, ctl, port):
    registry = LocalRegistry(workdir)
    registry.start()
    nginx = Nginx(workdir)
    nginx.http_port = port
    os.makedirs(os.path.join(nginx.config_dir, "live"), exist_ok=True)
    with open(os.path.join(nginx.config_dir, "live", "registry.conf"), "w") as fh:
        fh.write(front_conf(workdir, port, ctl.url, registry))
    nginx.start()
    yield nginx, registry
    nginx.stop()
    registry.stop()


def push_image(ctl, token: str, front_port: int, app: str) -> None:
    username = api(ctl, "GET", "/v2/auth/whoami/", token=token)[1]["username"]
    status, check = api(ctl, "POST", "/v2/hooks/push/", {"receive_user": username, "receive_repo": app},
                        headers={"X-Deis-Builder-Auth": ctl.builder_key})
    assert status == 200, check
    Client(f"http://127.0.0.1:{front_port}", "push", check["push_token"]).push(
        app, "git-1", dt.datetime.now(dt.timezone.utc), [os.urandom(300)])


def tags(registry, app: str) -> list:
    status, _, body = registry.call("GET", f"/v2/{app}/tags/list")
    return (json.loads(body).get("tags") or []) if status == 200 else []


def test_a_destroyed_apps_images_leave_the_registry(ctl, front, port):
    nginx, registry = front
    token = ctl.admin_token
    app = "purge-" + uuid.uuid4().hex[:6]
    assert api(ctl, "POST", "/v2/apps/", {"id": app}, token)[0] == 201
    push_image(ctl, token, port, app)
    assert tags(registry, app) == ["git-1"]
    assert api(ctl, "DELETE", f"/v2/apps/{app}/", token=token)[0] == 204
    assert tags(registry, app) == []
    assert api(ctl, "POST", "/v2/apps/", {"id": app}, token)[0] == 201  # the name is free again at once


def test_a_name_stays_retired_until_its_images_are_gone(ctl, front, port):
    nginx, registry = front
    token = ctl.admin_token
    app = "retire-" + uuid.uuid4().hex[:6]
    assert api(ctl, "POST", "/v2/apps/", {"id": app}, token)[0] == 201
    push_image(ctl, token, port, app)
    nginx.stop()  # the registry's front is away while the app is destroyed
    assert api(ctl, "DELETE", f"/v2/apps/{app}/", token=token)[0] == 204
    status, body = api(ctl, "POST", "/v2/apps/", {"id": app}, token)
    assert status == 409 and "still being removed" in body["detail"], body
    assert tags(registry, app) == ["git-1"]
    nginx.start()
    assert api(ctl, "POST", "/v2/apps/", {"id": app}, token)[0] == 201
    assert tags(registry, app) == []


def test_a_push_mounts_a_stack_layer_from_any_repository_and_nothing_else(ctl, front, port):
    """The docker client offers to mount a layer from whichever repository it last saw it in: a layer of the
    shared stack images may come from anywhere (it reveals nothing), another app's own layer may not."""
    nginx, registry = front
    token = ctl.admin_token
    mine, theirs = "mnt-" + uuid.uuid4().hex[:6], "their-" + uuid.uuid4().hex[:6]
    for app in (mine, theirs):
        assert api(ctl, "POST", "/v2/apps/", {"id": app}, token)[0] == 201
    now = dt.datetime.now(dt.timezone.utc)
    stack = registry.push("slipway/stack", "trixie", now, [os.urandom(400)])
    layer = stack["blobs"][1]["digest"]
    private = registry.push(theirs, "git-1", now, [open("/dev/urandom", "rb").read(300)])["blobs"][1]["digest"]
    registry.blob(theirs, registry.call("GET", f"/v2/slipway/stack/blobs/{layer}")[2])  # theirs has it too
    username = api(ctl, "GET", "/v2/auth/whoami/", token=token)[1]["username"]
    status, check = api(ctl, "POST", "/v2/hooks/push/", {"receive_user": username, "receive_repo": mine},
                        headers={"X-Deis-Builder-Auth": ctl.builder_key})
    pusher = Client(f"http://127.0.0.1:{port}", "push", check["push_token"])
    assert pusher.call("POST", f"/v2/{mine}/blobs/uploads/?mount={layer}&from={theirs}", b"")[0] == 201
    assert pusher.call("POST", f"/v2/{mine}/blobs/uploads/?mount={private}&from={theirs}", b"")[0] == 403
    assert pusher.call("GET", f"/v2/{mine}/blobs/{private}")[0] == 404
