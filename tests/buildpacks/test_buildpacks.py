"""`git push` of apps without a Dockerfile, for real: playbooks/deploy.yml → buildpack build on the build stack
image (this machine's Docker Engine) → one layer on the runtime stack image → registry → controller → Swarm."""
from __future__ import annotations

import json
import re
import subprocess
import tarfile
import time

from tests.controller.conftest import register
from tests.deploy.conftest import commit, deploy_command, git, run_deploy
from tests.controller.deployhelp import endpoints, fetch
from tests.live import ROOT

SECRET = "cfg-s3cr3t-9f2c1e"

PY_APP = {
    "requirements.txt": "slipway-greeting==1.0\n",
    "app.py": (
        "import http.server, os\nimport slipway_greeting\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        body = ('%s v=%s' % (slipway_greeting.greet(), open('version').read().strip())).encode()\n"
        "        self.send_response(200); self.end_headers(); self.wfile.write(body)\n"
        "http.server.HTTPServer(('0.0.0.0', int(os.environ['PORT'])), H).serve_forever()\n"),
    "worker.py": "import time\nwhile True:\n    print('working', flush=True)\n    time.sleep(5)\n",
    "Procfile": "web: python app.py\nworker: python worker.py\n",
    "version": "1\n",
}


def deploy(ctl, registry, app, sha, user, bare, cache_root, wait_stream=None, **playbook_vars):
    extra = {"slipway_app": app, "slipway_sha": sha, "slipway_user": user, "slipway_repo": str(bare),
             "slipway_registry": registry, "slipway_controller_url": ctl.url, "slipway_builder_key": ctl.builder_key,
             "slipway_buildpack_cache_dir": str(cache_root)}
    extra.update(playbook_vars)
    with deploy_command(extra) as (argv, env):
        # the build's output shows up while the deploy still runs
        r = run_deploy(argv, env, when_seen={wait_stream: lambda: None} if wait_stream else None)
    r.streamed_early = bool(wait_stream) and wait_stream in r.seen_running
    return r


def assert_no_config_in_image(image: str, tmp_path, *values: str) -> None:
    inspect = subprocess.run(["docker", "image", "inspect", image], capture_output=True, text=True, check=True).stdout
    history = subprocess.run(["docker", "image", "history", "--no-trunc", image], capture_output=True, text=True,
                             check=True).stdout
    for value in values:
        assert value not in inspect + history
    saved = tmp_path / "image.tar"
    subprocess.run(["docker", "image", "save", "-o", str(saved), image], check=True)
    with tarfile.open(saved) as outer:
        for member in outer.getmembers():
            if not member.isfile():
                continue
            data = outer.extractfile(member).read()
            for value in values:
                assert value.encode() not in data, member.name
            if member.name.endswith("layer.tar"):
                with tarfile.open(fileobj=outer.extractfile(member)) as layer:
                    for m in layer.getmembers():
                        if m.isfile():
                            blob = layer.extractfile(m).read()
                            for value in values:
                                assert value.encode() not in blob, (member.name, m.name)
                        assert not m.name.lstrip("./").startswith("tmp/env"), m.name
    saved.unlink()


def layers(image: str) -> list[str]:
    out = subprocess.run(["docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}", image],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def pods(user, app) -> list[dict]:
    return user.get(f"/v2/apps/{app}/pods/").json()["results"]


def test_python_app_cache_worker_and_rejected_pushes(ctl, registry, repo, index, cache_root, tmp_path):
    bare, work = repo
    user = register(ctl, "pydev")
    app = user.post("/v2/apps/", {}).json()["id"]
    user.post(f"/v2/apps/{app}/config/", {"values": {"PIP_INDEX_URL": index + "/simple", "SECRET_TOKEN": SECRET}})

    sha = commit(work, PY_APP)
    cold = deploy(ctl, registry, app, sha, "pydev", bare, cache_root, wait_stream="Python app detected")
    assert cold.returncode == 0, cold.stdout[-4000:]
    assert cold.streamed_early, "the build output did not stream while the deploy ran"
    streamed = cold.stdout
    assert "Installing dependencies with pip" in streamed and "slipway-greeting" in streamed
    assert f"{app} v3 is serving" in cold.stdout
    assert fetch(endpoints(ctl, app)[0]).strip() == "hello from the index v=1"
    build = user.get(f"/v2/apps/{app}/builds/").json()["results"][0]
    assert build["procfile"] == {"web": "python app.py", "worker": "python worker.py"}
    image = f"{registry}/{app}:git-{sha[:8]}"
    assert len(layers(image)) == len(layers("slipway/stack:trixie")) + 1
    assert_no_config_in_image(image, tmp_path, SECRET, index)

    # a worker from the Procfile
    assert user.post(f"/v2/apps/{app}/scale/", {"worker": 1}).status_code == 204
    deadline = time.monotonic() + 60
    while not any(p["type"] == "worker" and p["state"] == "running" for p in pods(user, app)):
        assert time.monotonic() < deadline, pods(user, app)
        time.sleep(1)

    # the second push without dependency changes reuses the cached virtualenv
    sha2 = commit(work, {"version": "2\n"})
    warm = deploy(ctl, registry, app, sha2, "pydev", bare, cache_root)
    assert warm.returncode == 0, warm.stdout[-4000:]
    compiled = [float(re.search(r"Compiled in ([0-9.]+)s", text).group(1)) for text in (streamed, warm.stdout)]
    print(f"\npython app: cold push {cold.seconds:.1f}s (compile {compiled[0]:.1f}s), "
          f"warm push {warm.seconds:.1f}s (compile {compiled[1]:.1f}s)")
    assert compiled[1] < compiled[0]
    assert "Restoring the virtualenv from the build cache" in warm.stdout
    assert "Installing dependencies with pip" not in warm.stdout
    assert warm.seconds < cold.seconds
    assert fetch(endpoints(ctl, app)[0]).strip() == "hello from the index v=2"
    serving = user.get(f"/v2/apps/{app}/releases/").json()["count"]

    # a compile that fails (a dependency the index does not have) is rejected; v=2 keeps serving.
    # The cache is off for this app now: the build says so and the cached venv is not used.
    user.post(f"/v2/apps/{app}/config/", {"values": {"SLIPWAY_DISABLE_CACHE": "1"}})
    sha3 = commit(work, {"requirements.txt": "slipway-greeting==1.0\nno-such-package-xyz==9\n"})
    r = deploy(ctl, registry, app, sha3, "pydev", bare, cache_root)
    assert r.returncode != 0
    assert "Build cache disabled" in r.stdout
    assert "failed to compile Python app" in r.stdout, r.stdout[-3000:]
    assert "no-such-package-xyz" in r.stdout
    assert fetch(endpoints(ctl, app)[0]).strip() == "hello from the index v=2"

    # no buildpack detects a tree without any of their files
    sha4 = commit(work, {n: None for n in ("requirements.txt", "app.py", "worker.py", "Procfile")})
    r = deploy(ctl, registry, app, sha4, "pydev", bare, cache_root)
    assert r.returncode != 0
    assert "no buildpack detected this app (tried: python, nodejs, static)" in r.stdout, r.stdout[-3000:]
    assert fetch(endpoints(ctl, app)[0]).strip() == "hello from the index v=2"
    assert user.get(f"/v2/apps/{app}/releases/").json()["count"] == serving + 1  # the config change only


def test_node_app_from_a_local_registry(ctl, registry, repo, index, cache_root, tmp_path):
    bare, work = repo
    user = register(ctl, "nodedev")
    app = user.post("/v2/apps/", {}).json()["id"]
    # the registry as a platform default this time (the JSON file the playbook's slipway_buildpack_env_file names,
    # as the builder role writes it), not app config
    user.post(f"/v2/apps/{app}/config/", {"values": {"API_KEY": SECRET}})
    sha = commit(work, {
        "package.json": json.dumps({"name": "nodeapp", "version": "1.0.0", "private": True,
                                    "scripts": {"start": "node server.js"},
                                    "dependencies": {"slipway-dep": "^1.0.0"}}),
        "server.js": ("const dep = require('slipway-dep');\n"
                      "require('http').createServer((q, s) => s.end(dep())).listen(process.env.PORT);\n"),
    })
    defaults = tmp_path / "buildpack-env.json"
    defaults.write_text(json.dumps({"NPM_CONFIG_REGISTRY": index + "/"}))
    r = deploy(ctl, registry, app, sha, "nodedev", bare, cache_root, slipway_buildpack_env_file=str(defaults))
    assert r.returncode == 0, r.stdout[-4000:]
    assert "Node.js app detected" in r.stdout and "added 1 package" in r.stdout
    assert user.get(f"/v2/apps/{app}/builds/").json()["results"][0]["procfile"] == {"web": "npm start"}
    assert fetch(endpoints(ctl, app)[0]) == "node dep says hi"
    assert_no_config_in_image(f"{registry}/{app}:git-{sha[:8]}", tmp_path, SECRET, index)


def test_static_site(ctl, registry, repo, cache_root):
    bare, work = repo
    user = register(ctl, "webdev")
    app = user.post("/v2/apps/", {}).json()["id"]
    sha = commit(work, {"public/index.html": "<h1>static ok</h1>\n", "README.md": "site\n"})
    r = deploy(ctl, registry, app, sha, "webdev", bare, cache_root)
    assert r.returncode == 0, r.stdout[-4000:]
    assert "Static app detected" in r.stdout
    assert fetch(endpoints(ctl, app)[0]) == "<h1>static ok</h1>\n"


def test_custom_buildpack_from_buildpack_url(ctl, registry, repo, cache_root, tmp_path, https_files):
    bp = tmp_path / "custom-bp"
    (bp / "bin").mkdir(parents=True)
    scripts = {
        "detect": "#!/bin/sh\n[ -f \"$1/greeting.txt\" ] && echo Greeting\n",
        "compile": ("#!/bin/sh\nset -e\necho \"-----> greeting buildpack VERSION\"\nmkdir -p \"$1/site\"\n"
                    "{ cat \"$1/greeting.txt\"; echo \" (VERSION)\"; } > \"$1/site/index.html\"\n"),
        "release": "#!/bin/sh\nprintf -- '---\\ndefault_process_types:\\n  web: python3 -m http.server $PORT -d /app/site\\n'\n",
    }

    def write(version):
        for name, text in scripts.items():
            (bp / "bin" / name).write_text(text.replace("VERSION", version))
            (bp / "bin" / name).chmod(0o755)

    subprocess.run(["git", "init", "-q", str(bp)], check=True)
    write("v1")
    git(bp, "add", "-A")
    git(bp, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "v1")
    git(bp, "tag", "v1")
    write("v2-unreleased")
    git(bp, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "v2")

    # published over https (git's dumb HTTP protocol), the only kind of BUILDPACK_URL a build fetches
    subprocess.run(["git", "clone", "-q", "--bare", str(bp), str(https_files["root"] / "custom-bp.git")], check=True)
    git(https_files["root"] / "custom-bp.git", "update-server-info")
    bare, work = repo
    user = register(ctl, "bpdev")
    app = user.post("/v2/apps/", {}).json()["id"]
    user.post(f"/v2/apps/{app}/config/", {"values": {"BUILDPACK_URL": f"{https_files['url']}/custom-bp.git#v1"}})
    sha = commit(work, {"greeting.txt": "custom hello", "Procfile": "web: python3 -m http.server $PORT -d /app/site\n"
                                                                     "worker: sleep infinity\n"})
    r = deploy(ctl, registry, app, sha, "bpdev", bare, cache_root, slipway_build_ca_file=https_files["ca"])
    assert r.returncode == 0, r.stdout[-4000:]
    assert "Greeting app detected" in r.stdout and "greeting buildpack v1" in r.stdout
    assert fetch(endpoints(ctl, app)[0]).strip() == "custom hello (v1)"
    assert set(user.get(f"/v2/apps/{app}/builds/").json()["results"][0]["procfile"]) == {"web", "worker"}


# A pyproject.toml app that is itself a package, built by an in-tree PEP 517 backend (no setuptools download).
PYPROJECT_APP = {
    "pyproject.toml": ('[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["_build"]\n'),
    "_build/backend.py": (
        "import base64, hashlib, os, zipfile\n"
        "NAME, VERSION = 'pyapp', '1.0'\n"
        "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
        "    info = f'{NAME}-{VERSION}.dist-info'\n"
        "    files = {f'{NAME}/{n}': open(os.path.join(NAME, n)).read() for n in os.listdir(NAME) if n.endswith('.py')}\n"
        "    files[f'{info}/METADATA'] = (f'Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n'\n"
        "                                'Requires-Dist: slipway-greeting==1.0\\n')\n"
        "    files[f'{info}/WHEEL'] = 'Wheel-Version: 1.0\\nGenerator: inline\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n'\n"
        "    record = [f'{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b\"=\").decode()},'\n"
        "              f'{len(t.encode())}' for p, t in files.items()] + [f'{info}/RECORD,,']\n"
        "    files[f'{info}/RECORD'] = '\\n'.join(record) + '\\n'\n"
        "    name = f'{NAME}-{VERSION}-py3-none-any.whl'\n"
        "    with zipfile.ZipFile(os.path.join(wheel_directory, name), 'w') as z:\n"
        "        for p, t in files.items():\n"
        "            z.writestr(p, t)\n"
        "    return name\n"),
    "pyapp/__init__.py": "WORDS = 'pyproject v1'\n",
    "pyapp/__main__.py": (
        "import http.server, os\nimport slipway_greeting\nfrom pyapp import WORDS\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        body = ('%s: %s' % (WORDS, slipway_greeting.greet())).encode()\n"
        "        self.send_response(200); self.end_headers(); self.wfile.write(body)\n"
        "http.server.HTTPServer(('0.0.0.0', int(os.environ['PORT'])), H).serve_forever()\n"),
    # -I: not the source tree in /app but the package installed in the virtualenv is what runs
    "Procfile": "web: python -I -m pyapp\n",
}


def test_pyproject_app_is_installed_and_refreshed_over_the_cache(ctl, registry, repo, index, cache_root):
    bare, work = repo
    user = register(ctl, "pyprojdev")
    app = user.post("/v2/apps/", {}).json()["id"]
    user.post(f"/v2/apps/{app}/config/", {"values": {"PIP_INDEX_URL": index + "/simple"}})
    r = deploy(ctl, registry, app, commit(work, PYPROJECT_APP), "pyprojdev", bare, cache_root)
    assert r.returncode == 0, r.stdout[-4000:]
    assert "Python app detected" in r.stdout and "Installing dependencies with pip" in r.stdout
    assert fetch(endpoints(ctl, app)[0]) == "pyproject v1: hello from the index"
    # only the app's code changes: the cached virtualenv is reused, the app's own package is reinstalled
    r = deploy(ctl, registry, app, commit(work, {"pyapp/__init__.py": "WORDS = 'pyproject v2'\n"}), "pyprojdev",
               bare, cache_root)
    assert r.returncode == 0, r.stdout[-4000:]
    assert "Restoring the virtualenv from the build cache" in r.stdout and "Installing the app's package" in r.stdout
    assert "Installing dependencies with pip" not in r.stdout
    assert fetch(endpoints(ctl, app)[0]) == "pyproject v2: hello from the index"
