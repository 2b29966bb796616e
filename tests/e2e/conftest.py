"""End-to-end fixtures: the converged all-in-one host (molecule/default, container `slipway-aio`), its
controller API as users reach it, through the router's HTTPS port that molecule publishes on 127.0.0.1
(`https://localhost:<port>`, the platform CA trusted), and everything else (git push over SSH to the builder on
2222, requests through the router on 80, load) run inside the host with `docker exec` against 127.0.0.1:
traffic never goes to a container's 172.x address.

The session converges the molecule default scenario once when the host is not converged (set
SLIPWAY_E2E_CONVERGE=0 to fail instead), e.g. `.venv/bin/molecule converge && .venv/bin/pytest tests/e2e`.
"""
from __future__ import annotations

import glob
import json
import os
import pathlib
import secrets
import shlex
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOST = os.environ.get("SLIPWAY_E2E_HOST", "slipway-aio")
WORK = "/root/e2e"
UNITS = ["slipway-controller", "slipway-builder-sshd", "slipway-routesync", "nginx", "docker", "docker-registry",
         "slipway-node-agent"]


def sh(cmd: str, *, check: bool = True, input: str | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run a bash command inside the host; stdout and stderr together in .stdout."""
    p = subprocess.run(["docker", "exec", "-i", HOST, "bash", "-c", cmd], input=input, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"in {HOST}: {cmd}\n(exit {p.returncode})\n{p.stdout}")
    return p


def psql(query: str, *, check: bool = True) -> str:
    """One query on the platform database in the host, as postgres: its rows, unaligned."""
    return sh(f"cd / && runuser -u postgres -- psql -XAtq -d slipway_controller -c {shlex.quote(query)}",
              check=check).stdout.strip()


def router_key() -> str:
    """The router's key, from the route sync's settings in the host."""
    return sh("sed -n 's/^router_key *= *//p' /etc/slipway/router/routesync.ini").stdout.strip()


def _converged() -> str:
    """'' when the host is up and converged, else why not."""
    p = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", HOST], text=True, capture_output=True)
    if p.stdout.strip() != "true":
        return f"{HOST} is not running"
    p = sh("systemctl is-active " + " ".join(UNITS) + " && test -s /var/lib/slipway/deploy/env/extravars"
           " && test -f /usr/share/ansible/collections/ansible_collections/slipway/paas/playbooks/deploy.yml"
           " && curl -fsS http://127.0.0.1:8000/readiness", check=False)
    return "" if p.returncode == 0 else f"{HOST} is not converged:\n{p.stdout}"


def platform(converge: bool = True) -> dict:
    """The converged host's registry and controller API address (converging molecule/default first when the
    host is not up and `converge`); shared by the fixture below and the benchmarks in bench/."""
    why = _converged()
    if why:
        if not converge:
            raise AssertionError(why)
        print(f"\n{why}\nconverging molecule/default (once for the session)...", flush=True)
        env = dict(os.environ, PATH=f"{ROOT}/.venv/bin:{os.environ.get('PATH', '')}")  # molecule runs ansible-*
        subprocess.run("scripts/dev-services.sh >/dev/null && scripts/build-host-image.sh && molecule converge",
                       shell=True, cwd=ROOT, check=True, env=env)
        why = _converged()
        assert not why, why
    setting = lambda path, name: sh(f"sed -n 's/^{name} *= *//p' {path}").stdout.strip()  # noqa: E731
    sh(f"mkdir -p {WORK}/keys")
    for name in ("load.py",):
        subprocess.run(["docker", "cp", str(pathlib.Path(__file__).with_name(name)), f"{HOST}:{WORK}/{name}"],
                       check=True)
    api = controller_url()
    return {
        "registry": setting("/etc/slipway/builder/sandbox.ini", "registry"),
        "builder_key": setting("/etc/slipway/builder/builder.ini", "builder_key"),
        "api": api,
        "admin_token": admin_token(API(api)),
    }


TLS: list[ssl.SSLContext | None] = [None]  # the API client's TLS context, made once by controller_url


def controller_url() -> str:
    """The controller API through the router's HTTPS port published on 127.0.0.1 (the local inventory names the
    controller vhost `localhost`), with the platform CA trusted by this process and the programs it starts
    (urllib, requests, schemathesis, the CLI), as a user who added the platform CA would."""
    ports = subprocess.run(["docker", "port", HOST, "443/tcp"], text=True, capture_output=True).stdout.split()
    port = next((p.rsplit(":", 1)[1] for p in ports if p.startswith("127.0.0.1:")), None)
    assert port, f"{HOST} publishes no router HTTPS port on 127.0.0.1 (molecule/default publishes 443 as 18443)"
    ca = ROOT / ".cache" / "e2e" / "platform-ca.crt"
    ca.parent.mkdir(parents=True, exist_ok=True)
    ca.write_text(sh("cat /etc/slipway/tls/ca.crt").stdout)
    os.environ["SSL_CERT_FILE"] = os.environ["REQUESTS_CA_BUNDLE"] = str(ca)
    TLS[:] = [ssl.create_default_context(cafile=str(ca))]
    return f"https://localhost:{port}"


@pytest.fixture(scope="session")
def aio():
    try:
        return platform(converge=os.environ.get("SLIPWAY_E2E_CONVERGE", "1") != "0")
    except AssertionError as e:
        pytest.fail(str(e))


class API:
    """The controller API as a user reaches it (see controller_url)."""

    def __init__(self, base: str, token: str | None = None):
        self.base, self.token = base, token

    def __call__(self, method: str, path: str, body=None, *, expect=(200, 201, 204), timeout=900):
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=TLS[0]) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        value = json.loads(raw) if raw.strip() and raw.strip()[:1] in (b"{", b"[") else raw.decode()
        if expect and status not in expect:
            raise AssertionError(f"{method} {path} -> {status}: {value}")
        return status, value


def admin_token(api: API) -> str:
    """The platform admin's token, as the controller role saved it in the control node's secrets folder (the
    molecule scenario's inventory: SLIPWAY_E2E_SECRETS names another folder): registration is admin_only, so
    users come from the admin. The newest saved token the controller accepts."""
    given = os.environ.get("SLIPWAY_E2E_SECRETS")
    found = [os.path.join(given, "controller_admin_token")] if given else sorted(
        glob.glob(os.path.expanduser("~/.ansible/tmp/molecule.*.default/inventory/.secrets/controller_admin_token"))
        + glob.glob(os.path.expanduser("~/.cache/molecule/*/default/inventory/.secrets/controller_admin_token")),
        key=os.path.getmtime, reverse=True)
    for path in found:
        token = pathlib.Path(path).read_text().strip()
        if API(api.base, token)("GET", "/v2/auth/whoami/", expect=None)[0] == 200:
            return token
    raise AssertionError(f"no saved admin token the platform accepts (looked at {found or 'nothing'}); "
                         "converge molecule/default, or set SLIPWAY_E2E_SECRETS to its secrets folder")


class User:
    def __init__(self, aio, name: str):
        self.name = name
        self.password = secrets.token_hex(12)
        anon = API(aio["api"])
        API(aio["api"], aio["admin_token"])("POST", "/v2/auth/register/", {
            "username": name, "password": self.password, "email": f"{name}@example.test"})
        _, answer = anon("POST", "/v2/auth/login/", {"username": name, "password": self.password})
        self.api = API(aio["api"], answer["token"])
        self.key = f"{WORK}/keys/{name}"
        sh(f"ssh-keygen -q -t ed25519 -N '' -C {name}@e2e -f {self.key}")
        public = sh(f"cat {self.key}.pub").stdout.strip()
        self.api("POST", "/v2/keys/", {"id": f"{name}@e2e", "public": public})

    @property
    def ssh(self) -> str:
        return (f"ssh -i {self.key} -p 2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                "-o BatchMode=yes -o LogLevel=ERROR")


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(3)}"


@pytest.fixture(scope="session")
def user_factory(aio):
    return lambda prefix: User(aio, unique(prefix))


def git_repo(path: str, files: dict[str, str], message: str = "first") -> None:
    """Create or update a work tree in the host with these files, committed."""
    script = ["set -e", f"mkdir -p {path}", f"cd {path}",
              "[ -d .git ] || { git init -q -b main && git config user.email e2e@example.test && git config user.name e2e; }"]
    for name, content in files.items():
        script.append(f"mkdir -p \"$(dirname {shlex.quote(name)})\" && cat > {shlex.quote(name)} <<'SLIPWAY_EOF'\n{content}\nSLIPWAY_EOF")
    script.append(f"git add -A && git commit -q --allow-empty -m {shlex.quote(message)}")
    sh("\n".join(script))


def push(user: User, app: str, path: str, ref: str = "main", *, repo: str | None = None) -> tuple[int, str, float]:
    """git push over SSH to the builder on 127.0.0.1:2222 (inside the host): (exit code, output, seconds)."""
    started = time.monotonic()
    p = sh(f"cd {path} && GIT_SSH_COMMAND={shlex.quote(user.ssh)} "
           f"git push --force git@127.0.0.1:{repo or app + '.git'} HEAD:{ref} 2>&1", check=False, timeout=1200)
    return p.returncode, p.stdout, time.monotonic() - started


def get(host: str, path: str = "/") -> tuple[int, str]:
    """A request through the router (nginx on 127.0.0.1:80 inside the host)."""
    p = sh(f"curl -sS -m 10 -o /tmp/e2e-get.out -w '%{{http_code}}' -H {shlex.quote('Host: ' + host)} "
           f"http://127.0.0.1{path}; echo; cat /tmp/e2e-get.out", check=False)
    first, _, rest = p.stdout.partition("\n")
    try:
        return int(first.strip()[-3:]), rest.strip()
    except ValueError:
        return 0, p.stdout


class Load:
    """The load generator (tests/e2e/load.py) inside the host, aimed at the router with the app's Host."""

    def __init__(self, host: str, name: str, threads: int = 4, *, args: tuple[str, ...] = ()):
        self.stop = f"{WORK}/stop-{name}"
        sh(f"rm -f {self.stop}")
        self.proc = subprocess.Popen(["docker", "exec", HOST, "python3", f"{WORK}/load.py", host, self.stop,
                                      "--threads", str(threads), *args], stdout=subprocess.PIPE, text=True)
        assert json.loads(self.proc.stdout.readline()).get("ready")
        time.sleep(1.0)  # some traffic before the change

    def finish(self, settle: float = 1.5) -> dict:
        time.sleep(settle)  # and after it
        sh(f"touch {self.stop}")
        out, _ = self.proc.communicate(timeout=60)
        return json.loads(out.strip().splitlines()[-1])


def wait_for(predicate, timeout: float = 30, interval: float = 0.3, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)
