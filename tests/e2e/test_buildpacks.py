"""Apps without a Dockerfile, pushed with real `git push` over SSH to the converged all-in-one host (issue 8):
a Python app with a dependency from a package index on the outside server (its build cache kept in the store),
a Node.js app with a dependency from an npm registry there, a static site and a custom BUILDPACK_URL (https),
each serving through the router; a build that no buildpack detects and one whose compile fails are rejected
with the old release still serving."""
from __future__ import annotations

import json
import re
import types

import pytest

from tests.buildpacks.conftest import npm_package, wheel
from tests.buildpacks.test_buildpacks import PY_APP, SECRET

from . import ops
from .conftest import WORK, get, git_repo, push, sh, wait_for
from .outside import outside, publish_dir, publish_git  # noqa: F401  (outside: the fixture)

pytestmark = pytest.mark.timeout(3600)


@pytest.fixture(scope="module")
def index(aio, outside, tmp_path_factory):
    """A pip simple index and an npm registry on the outside server (the internet, as the build sandbox sees
    it), made of packages built here."""
    root = tmp_path_factory.mktemp("e2e-index")
    (root / "packages").mkdir()
    whl = wheel(root / "packages", "slipway-greeting", "1.0", "slipway_greeting",
                'def greet():\n    return "hello from the index"\n')
    simple = root / "simple" / "slipway-greeting"
    simple.mkdir(parents=True)
    (simple / "index.html").write_text(f'<html><body><a href="../../packages/{whl}">{whl}</a></body></html>\n')
    base = f"{outside.http}/index"
    npm_package(root, "slipway-dep", "1.0.0", {"index.js": "module.exports = () => 'node dep says hi';\n"}, base)
    assert publish_dir(outside, root, "index") == base
    wait_for(lambda: sh(f"curl -fsS {base}/simple/slipway-greeting/", check=False).returncode == 0,
             message="the package index on the outside server")
    return types.SimpleNamespace(url=base, host=outside.address)


def new_app(aio, user_factory, prefix: str):
    world = ops.new_app(aio, user_factory, prefix)
    return world["owner"], world["app"], world["domain"]


def serves(domain: str, text: str, timeout: float = 60) -> str:
    return wait_for(lambda: (lambda r: r[1] if r[0] == 200 and text in r[1] else "")(get(domain)),
                    timeout=timeout, message=f"{domain} to serve {text!r}")


def compiled_seconds(output: str) -> float:
    return float(re.search(r"Compiled in ([0-9.]+)s", output).group(1))


def test_python_app_with_its_build_cache_in_the_store(aio, user_factory, index):
    user, app, domain = new_app(aio, user_factory, "py")
    user.api("POST", f"/v2/apps/{app}/config/", {"values": {"PIP_INDEX_URL": index.url + "/simple",
                                                             "PIP_TRUSTED_HOST": index.host,
                                                             "SECRET_TOKEN": SECRET}})
    src = f"{WORK}/src-{app}"
    git_repo(src, PY_APP)
    rc, cold, cold_s = push(user, app, src)
    assert rc == 0, cold[-4000:]
    assert "Python app detected" in cold and "Installing dependencies with pip" in cold
    assert "No build cache in the store yet" in cold and "Saved the build cache to the store" in cold
    serves(domain, "hello from the index v=1")
    image = f"{aio['registry']}/{app}"
    history = sh(f"docker history --no-trunc $(docker images -q {image} | head -1); "
                 f"docker image inspect $(docker images -q {image} | head -1)").stdout
    assert SECRET not in history and "PIP_INDEX_URL" not in history
    assert "Restoring" not in cold

    # the cache lives in the store, not on the builder: wipe the builder's folder, push again
    sh("rm -rf /var/lib/slipway/builder/buildcache/*")
    git_repo(src, {"version": "2\n"}, message="v2")
    rc, warm, warm_s = push(user, app, src)
    assert rc == 0, warm[-4000:]
    assert "Restoring the build cache from the store" in warm
    assert "Restoring the virtualenv from the build cache" in warm
    assert "Installing dependencies with pip" not in warm
    print(f"\npython app through git push: cold {cold_s:.1f}s (compile {compiled_seconds(cold):.1f}s), "
          f"warm {warm_s:.1f}s (compile {compiled_seconds(warm):.1f}s)")
    assert compiled_seconds(warm) < compiled_seconds(cold)
    serves(domain, "hello from the index v=2")

    # a worker from the Procfile
    user.api("POST", f"/v2/apps/{app}/scale/", {"worker": 1})
    wait_for(lambda: any(p["type"] == "worker" and p["state"] == "running"
                         for p in user.api("GET", f"/v2/apps/{app}/pods/")[1]["results"]),
             timeout=90, message="a running worker")

    # a compile that fails is rejected with pip's reason, and v=2 keeps serving
    git_repo(src, {"requirements.txt": "slipway-greeting==1.0\nno-such-package-xyz==9\n"}, message="bad dep")
    rc, out, _ = push(user, app, src)
    assert rc != 0 and "failed to compile Python app" in out and "no-such-package-xyz" in out, out[-3000:]
    assert get(domain)[1].endswith("v=2")

    # nothing any buildpack detects
    sh(f"cd {src} && git rm -q requirements.txt app.py worker.py Procfile version && git commit -qm empty")
    rc, out, _ = push(user, app, src)
    assert rc != 0 and "no buildpack detected this app (tried: python, nodejs, static)" in out, out[-3000:]
    assert get(domain)[1].endswith("v=2")


def test_node_app_static_site_and_custom_buildpack(aio, user_factory, index, outside):
    user, app, domain = new_app(aio, user_factory, "node")
    user.api("POST", f"/v2/apps/{app}/config/", {"values": {"NPM_CONFIG_REGISTRY": index.url + "/"}})
    git_repo(f"{WORK}/src-{app}", {
        "package.json": json.dumps({"name": "nodeapp", "version": "1.0.0", "private": True,
                                    "scripts": {"start": "node server.js"},
                                    "dependencies": {"slipway-dep": "^1.0.0"}}),
        "server.js": ("const dep = require('slipway-dep');\n"
                      "require('http').createServer((q, s) => s.end(dep())).listen(process.env.PORT);\n")})
    rc, out, _ = push(user, app, f"{WORK}/src-{app}")
    assert rc == 0 and "Node.js app detected" in out, out[-4000:]
    serves(domain, "node dep says hi")

    user, app, domain = new_app(aio, user_factory, "site")
    git_repo(f"{WORK}/src-{app}", {"public/index.html": "<h1>static ok</h1>", "README.md": "site"})
    rc, out, _ = push(user, app, f"{WORK}/src-{app}")
    assert rc == 0 and "Static app detected" in out, out[-4000:]
    serves(domain, "static ok")

    # a buildpack of the user's own, from a git repository over https on the internet (at a tag)
    url = publish_git(outside, "greeting-buildpack", {
        "bin/detect": '#!/bin/sh\n[ -f "$1/greeting.txt" ] && echo Greeting\n',
        "bin/compile": '#!/bin/sh\nset -e\necho "-----> greeting buildpack v1"\nmkdir -p "$1/site"\n'
                       'cp "$1/greeting.txt" "$1/site/index.html"\n',
        "bin/release": "#!/bin/sh\nprintf -- '---\\ndefault_process_types:\\n"
                       "  web: python3 -m http.server $PORT -d /app/site\\n'\n"}, tag="v1")
    user, app, domain = new_app(aio, user_factory, "bp")
    user.api("POST", f"/v2/apps/{app}/config/", {"values": {"BUILDPACK_URL": f"{url}#v1"}})
    git_repo(f"{WORK}/src-{app}", {"greeting.txt": "custom hello"})
    rc, out, _ = push(user, app, f"{WORK}/src-{app}")
    assert rc == 0 and "Greeting app detected" in out and "greeting buildpack v1" in out, out[-4000:]
    serves(domain, "custom hello")


def cache_object(uuid: str) -> str:
    """The store's answer (HTTP status) for an app's build cache object, asked with the builder's own credentials."""
    ini = "/etc/slipway/builder/sandbox.ini"
    return sh(f"curl -sS -K \"$(sed -n 's/^cache_auth = //p' {ini})\" -o /dev/null -w '%{{http_code}}' "
              f"\"$(sed -n 's/^cache_url = //p' {ini})/{uuid}.tar.gz\"").stdout.strip()


def test_a_recreated_app_name_starts_without_the_old_build_cache(aio, user_factory, index):
    """The build cache is the app's by its uuid: a destroyed app's name, made again by someone else, builds from
    nothing, and the builder's cleanup removes the old cache object from the store."""
    values = {"PIP_INDEX_URL": index.url + "/simple", "PIP_TRUSTED_HOST": index.host}
    user, app, _domain = new_app(aio, user_factory, "pyre")
    user.api("POST", f"/v2/apps/{app}/config/", {"values": values})
    src = f"{WORK}/src-{app}"
    git_repo(src, PY_APP)
    rc, out, _ = push(user, app, src)
    assert rc == 0 and "Saved the build cache to the store" in out, out[-4000:]
    old = user.api("GET", f"/v2/apps/{app}/")[1]["uuid"]
    assert cache_object(old) == "200"
    user.api("DELETE", f"/v2/apps/{app}/")
    sh("systemctl start slipway-builder-cleanup.service")
    assert cache_object(old) == "404"
    second = user_factory("pyre2")
    second.api("POST", "/v2/apps/", {"id": app})
    second.api("POST", f"/v2/apps/{app}/config/", {"values": values})
    rc, out, _ = push(second, app, src)
    assert rc == 0 and "No build cache in the store yet" in out and "Restoring" not in out, out[-4000:]
