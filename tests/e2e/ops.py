"""What the operations tests (hygiene, restore, drills) share: running the collection's playbooks against the
all-in-one host, systemd units and their runtime drop-ins inside it, the journal, the registry's bucket.
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import subprocess
import time

from .conftest import HOST, WORK, get, git_repo, push, sh, unique

ROOT = pathlib.Path(__file__).resolve().parents[2]
HELLO = ROOT / "examples" / "hello"


def hello_source(banner: str = "") -> str:
    """examples/hello's app.py; with `banner`, a visibly different version: its answers start with it."""
    source = HELLO.joinpath("app.py").read_text()
    return source.replace('body = (f"', f'body = (f"{banner} ') if banner else source


def new_app(aio, user_factory, prefix: str) -> dict:
    """A user of its own and a new app: {aio, owner, app, domain, src (its work tree in the host)}."""
    owner = user_factory(prefix)
    app = unique(prefix + "-")
    owner.api("POST", "/v2/apps/", {"id": app})
    _, info = owner.api("GET", f"/v2/apps/{app}/")
    return {"aio": aio, "owner": owner, "app": app, "domain": info["url"].split("://")[-1].strip("/"),
            "src": f"{WORK}/src-{app}"}


def pushed_app(aio, user, prefix: str, app_py: str) -> str:
    """A new app of `user` serving `app_py` as its web process (on the stack image), pushed; its id."""
    from .test_push import dockerfile
    app = unique(prefix)
    user.api("POST", "/v2/apps/", {"id": app})
    src = f"{WORK}/src-{app}"
    git_repo(src, {"Dockerfile": dockerfile(aio["registry"]), "app.py": app_py,
                   "Procfile": "web: python3 -u /app/app.py"})
    rc, out, _ = push(user, app, src)
    assert rc == 0, out[-3000:]
    return app


def serving(world) -> str:
    """The app's answer through the router, '' when it does not answer 200."""
    status, body = get(world["domain"])
    return body if status == 200 else ""


def playbook(name: str, *extra: str, timeout: float = 1200) -> tuple[int, str, float]:
    """ansible-playbook playbooks/<name> on the host (inventories/local, docker connection): (rc, output, s)."""
    env = dict(os.environ, PATH=f"{ROOT}/.venv/bin:{os.environ.get('PATH', '')}",
               ANSIBLE_COLLECTIONS_PATH=f"{ROOT}/.cache/collections", ANSIBLE_ROLES_PATH=f"{ROOT}/roles",
               ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_RESULT_FORMAT="yaml")
    cmd = ["ansible-playbook", "-i", f"{ROOT}/inventories/local", "-e", "ansible_connection=community.docker.docker",
           "-e", f"ansible_host={HOST}", f"{ROOT}/playbooks/{name}", *extra]
    started = time.monotonic()
    p = subprocess.run(cmd, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return p.returncode, p.stdout, time.monotonic() - started


@contextlib.contextmanager
def dropin(unit: str, body: str):
    """A runtime drop-in (/run, gone at reboot) for `unit` while the block runs, removed afterwards."""
    path = f"/run/systemd/system/{unit}.d/50-e2e.conf"
    sh(f"mkdir -p /run/systemd/system/{unit}.d && cat > {path} <<'EOF'\n{body}\nEOF\nsystemctl daemon-reload")
    try:
        yield
    finally:
        sh(f"rm -f {path} && systemctl daemon-reload")


def start_unit(unit: str, timeout: float = 1800) -> tuple[bool, list[dict], str]:
    """systemctl start a oneshot unit, wait for it; (succeeded, the JSON lines it printed, its journal)."""
    sh(f"systemctl reset-failed {unit} 2>/dev/null; true")
    p = sh(f"systemctl start {unit}", check=False, timeout=timeout)
    invocation = sh(f"systemctl show -p InvocationID --value {unit}").stdout.strip()
    log = sh(f"journalctl -q -o cat _SYSTEMD_INVOCATION_ID={invocation}", check=False).stdout
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{") and line.endswith("}")]
    return p.returncode == 0, lines, log + p.stdout


def ensure_active(unit: str, check: str = "true", timeout: float = 120) -> None:
    """Start `unit` if a drill left it stopped, then wait until `check` (a shell command in the host) passes."""
    sh(f"systemctl is-active -q {unit} || systemctl start {unit}", timeout=timeout)
    deadline = time.monotonic() + timeout
    while sh(check, check=False).returncode != 0:
        assert time.monotonic() < deadline, f"{unit} did not come back: {check}"
        time.sleep(1)


# Runs inside the host: the registry bucket through the store's S3 API on 127.0.0.1 with the registry's own
# keys (from its config). `stats` prints "<blob count> <bytes>" of the blob store; `has <digest>...` prints
# the digests whose data is in the bucket.
BUCKET = r'''
import re, subprocess, sys, urllib.parse, xml.etree.ElementTree as ET
cfg = open("/etc/docker/registry/config.yml").read()
def get(key):
    return re.search(r'^\s*' + key + r':\s*"?([^"\n]*)"?\s*$', cfg, re.M).group(1).strip()
port = urllib.parse.urlsplit(get("regionendpoint")).port or 443
base = f"https://localhost:{port}/{get('bucket')}"
prefix = get("rootdirectory").strip("/") + "/docker/registry/v2/blobs/"
auth = (f'user = "{get("accesskey")}:{get("secretkey")}"\naws-sigv4 = "aws:amz:us-east-1:s3"\n'
        'cacert = "/etc/slipway/tls/ca.crt"\n')
def curl(url, *args):
    return subprocess.run(["curl", "-sS", "-K", "-", *args, url], input=auth, capture_output=True, text=True)
def tag(e):
    return e.tag.rsplit("}", 1)[-1]
if sys.argv[1] == "stats":
    count = size = 0
    token = None
    while True:
        q = {"list-type": "2", "prefix": prefix, "max-keys": "1000"}
        if token:
            q["continuation-token"] = token
        p = curl(base + "?" + urllib.parse.urlencode(q), "-f")
        assert p.returncode == 0, p.stderr
        root = ET.fromstring(p.stdout)
        token, truncated = None, False
        for e in root:
            if tag(e) == "Contents":
                fields = {tag(c): c.text for c in e}
                count += fields["Key"].endswith("/data")
                size += int(fields["Size"])
            elif tag(e) == "NextContinuationToken":
                token = e.text
            elif tag(e) == "IsTruncated":
                truncated = e.text == "true"
        if not (truncated and token):
            break
    print(count, size)
else:
    for digest in sys.argv[2:]:
        hexd = digest.split(":", 1)[1]
        p = curl(f"{base}/{prefix}sha256/{hexd[:2]}/{hexd}/data", "-o", "/dev/null", "-w", "%{http_code}", "-I")
        if p.stdout.strip() == "200":
            print(digest)
'''


def bucket_stats() -> tuple[int, int]:
    count, size = sh("python3 - stats", input=BUCKET).stdout.split()
    return int(count), int(size)


def blobs_in_bucket(digests: list[str]) -> set[str]:
    return set(sh("python3 - has " + " ".join(digests), input=BUCKET).stdout.split())


MANIFEST_TYPES = ("application/vnd.docker.distribution.manifest.v2+json,"
                  "application/vnd.oci.image.manifest.v1+json")
# curl to distribution on the host: its unix socket (the registry role's slipway_registry_backend_socket)
BACKEND = "curl -sS --unix-socket /run/slipway-registry/registry.sock"


def registry_tags(repo: str) -> list[str]:
    """Tags of a repository whose manifest is there, from distribution itself on the host (its unix socket,
    behind nginx). On S3 storage the tags of a deleted manifest may still be listed: they answer 404."""
    script = (f"for t in $({BACKEND} http://localhost/v2/{repo}/tags/list | python3 -c 'import json, sys; "
              f"print(\" \".join(json.load(sys.stdin).get(\"tags\") or []))' 2>/dev/null); do "
              f"[ $({BACKEND} -o /dev/null -w '%{{http_code}}' -H 'Accept: {MANIFEST_TYPES}' "
              f"http://localhost/v2/{repo}/manifests/$t) = 200 ] && echo $t; done; true")
    return sorted(sh(script).stdout.split())


def image_blobs(repo: str, tag: str) -> list[dict]:
    """The config and layer blobs ({digest, size}) of repo:tag."""
    manifest = json.loads(sh(f"{BACKEND} -H 'Accept: {MANIFEST_TYPES}' "
                             f"http://localhost/v2/{repo}/manifests/{tag}").stdout)
    return [manifest["config"]] + manifest["layers"]
