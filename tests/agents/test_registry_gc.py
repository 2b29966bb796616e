"""slipway-registry-gc against a real distribution registry (Debian's docker-registry with the registry role's
config.yml, on filesystem storage) and the real controller (tests/live.py): releases say which images stay, the
rest goes, blobs are reclaimed. The registry listens on a unix socket as on hosts, in a folder made as the role's
tmpfiles.d line makes it, with its unit's umask; it has no TCP port.

The registry is switched read-only and back by commands that restart it (the agent's systemd drop-in does
the same on hosts; the e2e hygiene test covers that path). Needs PostgreSQL from scripts/dev-services.sh.
"""
from __future__ import annotations

import datetime as dt
import grp
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import textwrap
import time
import urllib.parse
import urllib.request
import uuid

import jinja2
import pytest
import yaml

from conftest import AGENTS, ROOT, SYSTEM_PYTHON
from slipway_agents.engine import UnixConnection

from tests.live import live_controller

REGISTRY = shutil.which("docker-registry") or "/usr/bin/docker-registry"
SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"
LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
ROLE = os.path.join(ROOT, "roles", "registry")


def role_file(*path: str) -> str:
    with open(os.path.join(ROLE, *path)) as fh:
        return fh.read()


# The socket's folder and the unit's umask, as the role sets them (its tmpfiles.d line, its drop-in).
SOCKET_DIR_MODE = int(re.search(r"^\s*d .* (\d{4}) docker-registry www-data -$", role_file("tasks", "main.yml"),
                                re.M).group(1), 8)
UMASK = re.search(r"^UMask=(\d+)$", role_file("templates", "override.conf.j2"), re.M).group(1)


def role_template(name: str, **values) -> str:
    """One of the registry role's templates, rendered with these values."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLE, "templates")),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["comment"] = lambda text: "# " + text
    return env.get_template(name).render(ansible_managed="Managed by the tests", **values)


def role_config(socket: str, root: str) -> dict:
    """The role's config.yml for this socket, with a folder for storage instead of the store's bucket."""
    config = yaml.safe_load(role_template(
        "config.yml.j2", slipway_registry_log_level="info", slipway_registry_s3_access_key="x",
        slipway_registry_s3_secret_key="x", slipway_registry_s3_region="x", slipway_registry_s3_endpoint="x",
        slipway_registry_s3_bucket="x", slipway_registry_s3_root_directory="x", __slipway_registry_http_secret="s",
        slipway_registry_backend_socket=socket))
    config["storage"] = {"filesystem": {"rootdirectory": root}, "delete": {"enabled": True},
                         "maintenance": {"uploadpurging": {"enabled": False}}}
    return config


class LocalRegistry:
    """docker-registry serve with the role's configuration, restartable read-only (REGISTRY_STORAGE_MAINTENANCE)
    and back. Its socket's folder belongs to nogroup, the group of the tests' nginx workers (www-data's on hosts)."""

    def __init__(self, d: str):
        self.dir = d
        run = os.path.join(d, "run")
        os.mkdir(run)
        os.chown(run, 0, grp.getgrnam("nogroup").gr_gid)
        os.chmod(run, SOCKET_DIR_MODE)
        self.socket = os.path.join(run, "registry.sock")
        self.root = os.path.join(d, "data")
        self.config = os.path.join(d, "config.yml")
        with open(self.config, "w") as fh:
            yaml.safe_dump(role_config(self.socket, self.root), fh)
        self.switch = os.path.join(d, "switch.sh")
        with open(self.switch, "w") as fh:
            fh.write(textwrap.dedent(f"""\
                #!/bin/bash
                # $1: ro or rw. Stop the running registry (its pid file), start it again in that mode.
                d={d}
                if [ -s $d/pid ]; then
                  pid=$(cat $d/pid); kill $pid 2>/dev/null
                  for i in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
                fi
                if [ "$1" = ro ]; then
                  export REGISTRY_STORAGE_MAINTENANCE='{{uploadpurging: {{enabled: false}}, readonly: {{enabled: true}}}}'
                fi
                echo "--- $1" >> $d/log
                umask {UMASK}
                setsid {REGISTRY} serve $d/config.yml >> $d/log 2>&1 < /dev/null &
                echo $! > $d/pid
                """))
        os.chmod(self.switch, 0o755)

    def start(self, mode: str = "rw") -> None:
        subprocess.run([self.switch, mode], check=True)
        deadline = time.monotonic() + 20
        while True:
            try:
                if self.call("GET", "/v2/")[0] == 200:
                    return
            except OSError:
                pass
            assert time.monotonic() < deadline, open(os.path.join(self.dir, "log")).read()
            time.sleep(0.1)

    def pid(self) -> int:
        with open(os.path.join(self.dir, "pid")) as fh:
            return int(fh.read())

    def stop(self) -> None:
        subprocess.run(["kill", str(self.pid())], check=False)

    def connection(self) -> http.client.HTTPConnection:
        return UnixConnection(self.socket, timeout=30)

    def call(self, method: str, path: str, data: bytes | None = None, headers: dict | None = None):
        if not path.startswith("/"):  # a Location distribution made absolute
            path = urllib.parse.urlsplit(path)._replace(scheme="", netloc="").geturl()
        conn = self.connection()
        try:
            conn.request(method, path, body=data, headers=headers or {})
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def blob(self, repo: str, content: bytes) -> dict:
        digest = "sha256:" + hashlib.sha256(content).hexdigest()
        status, head, _ = self.call("POST", f"/v2/{repo}/blobs/uploads/", b"")
        assert status == 202, status
        location = head["Location"]
        sep = "&" if "?" in location else "?"
        status, _, body = self.call("PUT", f"{location}{sep}digest={digest}", content,
                                    {"Content-Type": "application/octet-stream"})
        assert status == 201, (status, body)
        return {"digest": digest, "size": len(content)}

    def push(self, repo: str, tag: str, created: dt.datetime, layers: list[bytes]) -> dict:
        """An image: its layers and a config blob carrying `created`, as docker build makes them."""
        blobs = [self.blob(repo, layer) for layer in layers]
        config = json.dumps({"architecture": "amd64", "os": "linux", "created": created.isoformat(),
                             "rootfs": {"type": "layers", "diff_ids": [b["digest"] for b in blobs]},
                             "config": {"Cmd": ["true"], "Labels": {"tag": tag}}}).encode()
        cfg = self.blob(repo, config)
        manifest = json.dumps({"schemaVersion": 2, "mediaType": SCHEMA2,
                               "config": {"mediaType": "application/vnd.docker.container.image.v1+json", **cfg},
                               "layers": [{"mediaType": LAYER, **b} for b in blobs]}).encode()
        status, head, body = self.call("PUT", f"/v2/{repo}/manifests/{tag}", manifest, {"Content-Type": SCHEMA2})
        assert status == 201, (status, body)
        return {"digest": head["Docker-Content-Digest"], "blobs": [cfg] + blobs, "manifest_size": len(manifest)}

    def has_manifest(self, repo: str, tag: str) -> bool:
        return self.call("HEAD", f"/v2/{repo}/manifests/{tag}", headers={"Accept": SCHEMA2})[0] == 200

    def blob_on_disk(self, digest: str) -> bool:
        hexd = digest.split(":", 1)[1]
        return os.path.exists(os.path.join(self.root, "docker/registry/v2/blobs/sha256", hexd[:2], hexd, "data"))

    def tags(self, repo: str) -> list[str]:
        status, _, body = self.call("GET", f"/v2/{repo}/tags/list")
        return sorted(json.loads(body).get("tags") or []) if status == 200 else []


@pytest.fixture
def registry(workdir):
    r = LocalRegistry(workdir)
    r.start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def ctl():
    subprocess.run([os.path.join(os.path.dirname(AGENTS), "scripts", "dev-services.sh")], check=True,
                   capture_output=True)
    with live_controller(SLIPWAY_SCHEDULER="none") as c:  # the images hook needs no scheduler
        yield c


def api(ctl, method: str, path: str, body=None, token: str | None = None):
    req = urllib.request.Request(ctl.url + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"token {token}"} if token else {})})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


def psql(ctl, sql: str) -> str:
    return subprocess.run(["psql", ctl.database_url, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          capture_output=True, text=True, check=True).stdout.strip()


def release(ctl, app: str, image: str, failed: bool = False) -> int:
    """A build of `image` and its release, as the build hook leaves them (without deploying anything)."""
    build = uuid.uuid4()
    return int(psql(ctl, f"""
        INSERT INTO builds (uuid, created, updated, app_uuid, owner_id, image, sha, procfile, dockerfile)
          SELECT '{build}', now(), now(), uuid, owner_id, '{image}', '', '{{}}', '' FROM apps WHERE id = '{app}';
        INSERT INTO releases (uuid, created, updated, app_uuid, owner_id, version, build_uuid, config_uuid,
                              summary, state, exception)
          SELECT '{uuid.uuid4()}', now(), now(), a.uuid, a.owner_id,
                 (SELECT max(version) + 1 FROM releases WHERE app_uuid = a.uuid), '{build}',
                 (SELECT config_uuid FROM releases WHERE app_uuid = a.uuid ORDER BY version DESC LIMIT 1),
                 'test', '{'failed' if failed else 'serving'}', ''
          FROM apps a WHERE a.id = '{app}'
          RETURNING version;"""))


def run_gc(ctl, registry: LocalRegistry, key: str | None = None, *args: str, **settings: str):
    ini = os.path.join(registry.dir, "registry-gc.ini")
    values = {"controller_url": ctl.url, "gc_key": key or ctl.env["SLIPWAY_REGISTRY_GC_KEY"],
              "registry_socket": registry.socket,
              "registry_config": registry.config, "registry_command": REGISTRY,
              "readonly_command": f"{registry.switch} ro", "writable_command": f"{registry.switch} rw",
              "keep_builds": "3", "grace_seconds": "600", **settings}
    with open(ini, "w") as fh:
        fh.write("[registry_gc]\n" + "".join(f"{k} = {v}\n" for k, v in values.items()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLIPWAY_")}
    env["PYTHONPATH"] = AGENTS
    p = subprocess.run([SYSTEM_PYTHON, "-m", "slipway_agents.registry_gc", "--config", ini, *args],
                       capture_output=True, text=True, env=env, timeout=300)
    summary = json.loads(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 else None
    return p, summary


@pytest.fixture(scope="module")
def token(ctl):
    return ctl.admin_token  # the platform's admin, made by the bootstrap command


def test_unreferenced_images_go_rollback_images_stay(ctl, token, registry):
    app = "gc-" + uuid.uuid4().hex[:6]
    api(ctl, "POST", "/v2/apps/", {"id": app}, token)
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    base = os.urandom(4096)  # a layer every image shares, like the stack image's
    shared = "sha256:" + hashlib.sha256(base).hexdigest()
    stack = registry.push("slipway/stack", "trixie", old - dt.timedelta(days=30), [base])
    images = {}
    for n in range(1, 8):  # git-1 .. git-7, each with a layer of its own
        images[n] = registry.push(app, f"git-{n}", old + dt.timedelta(minutes=n), [base, os.urandom(20000 + n)])
    host = "registry.example.test:5000"
    for n in (1, 2, 3, 4, 5):
        release(ctl, app, f"{host}/{app}:git-{n}")
    release(ctl, app, f"{host}/{app}:git-6", failed=True)  # an unhealthy release: rollback skips it
    release(ctl, app, f"{host}/{app}:git-7")
    release(ctl, app, f"{host}/{app}:git-7")  # a config change: same build
    pushing = registry.push(app, "git-8", dt.datetime.now(dt.timezone.utc), [base, os.urandom(3000)])
    gone = registry.push("deleted-app", "git-1", old, [base, os.urandom(5000)])  # no such app any more

    p, summary = run_gc(ctl, registry)
    print(p.stderr[-3000:], json.dumps(summary, indent=1))
    assert p.returncode == 0, p.stderr

    # kept: the newest three builds of good releases (7, 5, 4), the one being pushed (recent), the stack
    assert registry.tags(app) == ["git-4", "git-5", "git-7", "git-8"]
    assert registry.has_manifest("slipway/stack", "trixie")
    assert registry.tags("deleted-app") == []
    deleted = [images[n] for n in (1, 2, 3, 6)] + [gone]
    for image in [images[n] for n in (4, 5, 7)] + [pushing, stack]:
        assert all(registry.blob_on_disk(b["digest"]) for b in image["blobs"]), image
    for image in deleted:
        assert not any(registry.blob_on_disk(b["digest"]) for b in image["blobs"] if b["digest"] != shared), image
    assert registry.blob_on_disk(shared)
    expected = sum(b["size"] for image in deleted for b in image["blobs"] if b["digest"] != shared)
    expected += sum(image["manifest_size"] for image in deleted)
    assert summary["manifests_deleted"] == 5 and summary["bytes_reclaimed"] == expected, summary
    assert summary["blobs_deleted"] == 15, summary  # each deleted image's manifest, config and own layer
    print(f"registry gc: {summary['manifests_deleted']} manifests, {summary['blobs_deleted']} blobs, "
          f"{summary['bytes_reclaimed']} bytes reclaimed; read-only for {summary['readonly_seconds']} s")

    # the registry is writable again and serves what stayed, whole
    registry.push(app, "git-9", dt.datetime.now(dt.timezone.utc), [base])
    for b in images[4]["blobs"]:
        assert registry.call("GET", f"/v2/{app}/blobs/{b['digest']}")[0] == 200

    # a second run finds nothing more to delete
    p, summary = run_gc(ctl, registry)
    assert p.returncode == 0 and summary["manifests_deleted"] == 0 and summary["blobs_deleted"] == 0, p.stderr


def test_dry_run_deletes_nothing(ctl, token, registry):
    app = "gcdry-" + uuid.uuid4().hex[:6]
    api(ctl, "POST", "/v2/apps/", {"id": app}, token)
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=5)
    image = registry.push(app, "git-1", old, [os.urandom(1000)])
    p, summary = run_gc(ctl, registry, None, "--dry-run")
    assert p.returncode == 0, p.stderr
    assert summary["dry_run"] and f"{app}@{image['digest']} (git-1)" in summary["deleted"], summary
    assert registry.tags(app) == ["git-1"] and registry.blob_on_disk(image["blobs"][1]["digest"])


def test_no_answer_from_the_controller_deletes_nothing(ctl, token, registry):
    app = "gcsafe-" + uuid.uuid4().hex[:6]
    api(ctl, "POST", "/v2/apps/", {"id": app}, token)
    image = registry.push(app, "git-1", dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=5),
                          [os.urandom(1000)])
    for key in ("not-the-gc-key", ctl.builder_key):  # the builder key is not the GC's
        p, _ = run_gc(ctl, registry, key)
        assert p.returncode == 1 and "nothing deleted" in p.stderr and "401" in p.stderr, p.stderr
    assert registry.tags(app) == ["git-1"] and registry.blob_on_disk(image["blobs"][1]["digest"])
    assert registry.call("POST", f"/v2/{app}/blobs/uploads/", b"")[0] == 202  # never switched read-only


def test_a_controller_without_apps_deletes_nothing(registry):
    """A controller on an empty database (say, restored from the wrong backup) must not empty the registry."""
    with live_controller(SLIPWAY_SCHEDULER="none") as empty:
        image = registry.push("some-app", "git-1", dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3),
                              [os.urandom(1000)])
        p, _ = run_gc(empty, registry)
    assert p.returncode == 1 and "knows no app" in p.stderr, p.stderr
    assert registry.tags("some-app") == ["git-1"] and registry.blob_on_disk(image["blobs"][1]["digest"])


def test_a_destroyed_apps_repository_goes_whole(ctl, token, registry):
    """However young its images: an app created later under the same name must not find them."""
    live, destroyed = "gclive-" + uuid.uuid4().hex[:6], "gcgone-" + uuid.uuid4().hex[:6]
    for app in (live, destroyed):
        api(ctl, "POST", "/v2/apps/", {"id": app}, token)
    now = dt.datetime.now(dt.timezone.utc)
    young = [registry.push(destroyed, f"git-{n}", now, [os.urandom(2000)]) for n in (1, 2)]
    release(ctl, destroyed, f"registry.example.test:5000/{destroyed}:git-1")
    kept = registry.push(live, "git-1", now, [os.urandom(2000)])  # pushed, not yet registered: recent, stays
    stack = registry.push("slipway/stack", "trixie", now - dt.timedelta(days=90), [os.urandom(2000)])
    req = urllib.request.Request(f"{ctl.url}/v2/apps/{destroyed}/", method="DELETE",
                                 headers={"Authorization": f"token {token}"})
    assert urllib.request.urlopen(req, timeout=60).status == 204

    p, summary = run_gc(ctl, registry)
    assert p.returncode == 0, p.stderr
    assert registry.tags(destroyed) == [] and registry.tags(live) == ["git-1"], summary
    assert registry.has_manifest("slipway/stack", "trixie")
    assert all(registry.blob_on_disk(b["digest"]) for b in kept["blobs"] + stack["blobs"])
    assert not any(registry.blob_on_disk(b["digest"]) for image in young for b in image["blobs"])
    assert sorted(summary["deleted"]) == sorted(f"{destroyed}@{m['digest']} (git-{n})"
                                                for n, m in zip((1, 2), young)), summary


def listening_sockets(pid: int) -> tuple[list[str], list[str]]:
    """(the unix socket paths, the TCP addresses as /proc writes them) a process listens on."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        target = os.readlink(f"/proc/{pid}/fd/{fd}") if os.path.exists(f"/proc/{pid}/fd/{fd}") else ""
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    tcp = []
    for table in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{table}") as fh:
            tcp += [f[1] for f in (line.split() for line in fh.readlines()[1:]) if f[3] == "0A" and f[9] in inodes]
    with open(f"/proc/{pid}/net/unix") as fh:
        # listening ones only (flag __SO_ACCEPTCON): a connection the server accepted shows the same path
        unix = [f[7] for f in (line.split() for line in fh.readlines()[1:])
                if len(f) > 7 and f[6] in inodes and int(f[3], 16) & 0x10000]
    return unix, tcp


def test_the_backend_answers_on_its_socket_only(registry):
    """On the role's configuration distribution listens on its unix socket and on no TCP port (a tenant's build or
    image pull on the host would reach any loopback one); the socket lets in root and the front's group only."""
    assert role_config(registry.socket, registry.root)["http"]["net"] == "unix"
    assert registry.call("GET", "/v2/")[0] == 200
    assert listening_sockets(registry.pid()) == ([registry.socket], [])
    st, folder = os.stat(registry.socket), os.stat(os.path.dirname(registry.socket))
    assert folder.st_mode & 0o7777 == SOCKET_DIR_MODE and st.st_mode & 0o777 == 0o777 & ~int(UMASK, 8)
    assert st.st_gid == folder.st_gid == grp.getgrnam("nogroup").gr_gid  # the folder's group (setgid)
    probe = ("import http.client, sys; sys.path.insert(0, sys.argv[1]); from slipway_agents.engine import "
             "UnixConnection\ntry:\n c = UnixConnection(sys.argv[2], 10); c.request('GET', '/v2/'); "
             "print(c.getresponse().status)\nexcept OSError as e:\n print(type(e).__name__)")
    for user, answer in (("nobody", "200"), ("daemon", "PermissionError")):  # nobody: nogroup, the nginx workers'
        p = subprocess.run(["runuser", "-u", user, "--", SYSTEM_PYTHON, "-c", probe, AGENTS, registry.socket],
                           capture_output=True, text=True, timeout=60)
        assert p.stdout.strip() == answer, (user, p.stdout, p.stderr)
