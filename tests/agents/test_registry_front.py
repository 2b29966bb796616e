"""The platform registry behind nginx whose `auth_request` asks the real controller (GET /v2/hooks/registry/):
a push token pushes and pulls its app's repository only, the nodes' pull account pulls, the GC's account lists
and deletes, nobody else gets in. Real nginx (with the role's upstream, distribution's unix socket, and proxy
settings), real distribution registry, real controller."""
from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import os
import re
import subprocess
import urllib.parse
import urllib.request
import uuid

import jinja2
import pytest

from conftest import AGENTS, Nginx
from test_registry_gc import SCHEMA2, LocalRegistry, api, role_file, role_template, token  # noqa: F401 (token)

from tests.live import live_controller

FRONT = """
{upstream}
server {{
    listen 127.0.0.1:{port};
    client_max_body_size 0;
    location = /_slipway_auth {{
        internal;
        proxy_pass {controller}/v2/hooks/registry/;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_set_header X-Original-URI $request_uri;
        proxy_set_header X-Original-Method $request_method;
    }}
    location /v2/ {{
        auth_request /_slipway_auth;
        include {proxy};
    }}
}}
"""


def front_conf(d: str, port: int, controller: str, registry: LocalRegistry) -> str:
    """The front on 127.0.0.1:port: the role's upstream and proxy settings, the controller's auth_request."""
    upstream = re.search(r"^upstream slipway_registry \{.*?^\}", role_file("templates", "nginx-registry.conf.j2"),
                         re.M | re.S).group(0)
    proxy = os.path.join(d, "registry-proxy.conf")
    with open(proxy, "w") as fh:
        fh.write(role_template("registry-proxy.conf.j2"))
    return FRONT.format(upstream=jinja2.Template(upstream).render(slipway_registry_backend_socket=registry.socket),
                        port=port, controller=controller, proxy=proxy)


class Client(LocalRegistry):
    """The registry API through the front, as a docker client with these basic credentials."""

    def __init__(self, url: str, user: str | None = None, password: str | None = None):
        self.url = url
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode() if user else None

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(urllib.parse.urlsplit(self.url).netloc, timeout=30)

    def call(self, method, path, data=None, headers=None):
        headers = dict(headers or {})
        if self.auth:
            headers["Authorization"] = self.auth
        return super().call(method, path, data, headers)


@pytest.fixture(scope="module")
def ctl():
    subprocess.run([os.path.join(os.path.dirname(AGENTS), "scripts", "dev-services.sh")], check=True,
                   capture_output=True)
    with live_controller(SLIPWAY_SCHEDULER="none") as c:
        yield c


@pytest.fixture
def front(workdir, ctl):
    registry = LocalRegistry(workdir)
    registry.start()
    nginx = Nginx(workdir)
    os.makedirs(os.path.join(nginx.config_dir, "live"), exist_ok=True)
    with open(os.path.join(nginx.config_dir, "live", "registry.conf"), "w") as fh:
        fh.write(front_conf(workdir, nginx.http_port, ctl.url, registry))
    nginx.start()
    yield f"http://127.0.0.1:{nginx.http_port}", registry
    nginx.stop()
    registry.stop()


def push_token(ctl, user: str, app: str) -> str:
    req = urllib.request.Request(f"{ctl.url}/v2/hooks/push/", method="POST",
                                 data=json.dumps({"receive_user": user, "receive_repo": app}).encode(),
                                 headers={"Content-Type": "application/json", "X-Deis-Builder-Auth": ctl.builder_key})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())["push_token"]


def test_the_registry_front_lets_each_account_do_its_job(ctl, token, front):  # noqa: F811
    url, registry = front
    mine, theirs = "front-" + uuid.uuid4().hex[:6], "other-" + uuid.uuid4().hex[:6]
    for app in (mine, theirs):
        api(ctl, "POST", "/v2/apps/", {"id": app}, token)
    now = dt.datetime.now(dt.timezone.utc)
    registry.push("slipway/stack", "trixie", now, [os.urandom(500)])  # directly: the platform's own image
    secret = registry.push(theirs, "git-1", now, [b"the other tenant's files"])
    username = json.loads(urllib.request.urlopen(urllib.request.Request(
        f"{ctl.url}/v2/auth/whoami/", headers={"Authorization": f"token {token}"}), timeout=30).read())["username"]

    anonymous = Client(url)
    status, head, _ = anonymous.call("GET", "/v2/")
    challenge = {k.lower(): v for k, v in head.items()}.get("www-authenticate")
    assert status == 401 and challenge == 'Basic realm="Slipway registry"', head

    pusher = Client(url, "push", push_token(ctl, username, mine))
    assert pusher.call("GET", "/v2/")[0] == 200
    image = pusher.push(mine, "git-1", now, [os.urandom(800)])  # blobs and manifest through the front
    assert pusher.call("HEAD", f"/v2/{mine}/manifests/git-1", headers={"Accept": SCHEMA2})[0] == 200
    assert pusher.call("GET", "/v2/slipway/stack/manifests/trixie", headers={"Accept": SCHEMA2})[0] == 200
    assert pusher.call("GET", f"/v2/{theirs}/manifests/git-1", headers={"Accept": SCHEMA2})[0] == 403
    assert pusher.call("GET", f"/v2/{theirs}/blobs/{secret['blobs'][1]['digest']}")[0] == 403
    assert pusher.call("POST", f"/v2/{theirs}/blobs/uploads/", b"")[0] == 403
    layer = secret["blobs"][1]["digest"]  # a cross-repository mount would copy the other tenant's layer
    assert pusher.call("POST", f"/v2/{mine}/blobs/uploads/?mount={layer}&from={theirs}", b"")[0] == 403
    assert pusher.call("GET", f"/v2/{mine}/blobs/{layer}")[0] == 404
    assert pusher.call("POST", "/v2/slipway/stack/blobs/uploads/", b"")[0] == 403
    assert pusher.call("DELETE", f"/v2/{mine}/manifests/{image['digest']}")[0] == 403
    assert pusher.call("GET", "/v2/_catalog")[0] == 403
    assert Client(url, "push", "not-a-token").call("GET", "/v2/")[0] == 401

    puller = Client(url, "pull", ctl.env["SLIPWAY_REGISTRY_PULL_PASSWORD"])
    assert puller.call("GET", f"/v2/{theirs}/manifests/git-1", headers={"Accept": SCHEMA2})[0] == 200
    assert puller.call("GET", f"/v2/{mine}/blobs/{image['blobs'][1]['digest']}")[0] == 200
    assert puller.call("POST", f"/v2/{mine}/blobs/uploads/", b"")[0] == 403
    assert puller.call("GET", "/v2/_catalog")[0] == 403

    gc = Client(url, "gc", ctl.env["SLIPWAY_REGISTRY_GC_KEY"])
    status, _, body = gc.call("GET", "/v2/_catalog")
    assert status == 200 and {mine, theirs, "slipway/stack"} <= set(json.loads(body)["repositories"])
    assert gc.call("DELETE", f"/v2/{mine}/manifests/{image['digest']}")[0] == 202
    assert Client(url, "gc", ctl.builder_key).call("GET", "/v2/_catalog")[0] == 401
