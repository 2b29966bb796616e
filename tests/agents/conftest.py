from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENTS = os.path.join(ROOT, "agents")
sys.path.insert(0, AGENTS)
sys.path.insert(0, ROOT)  # tests.live
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakes import FakeController, free_port  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_MODULES = "/usr/lib/nginx/modules"  # Debian's libnginx-mod-http-lua (and its ndk)
LUA_DIR = os.path.join(ROOT, "roles", "router", "files")
# the agents run on the hosts' system Python (stdlib only), not on the test venv
SYSTEM_PYTHON = os.environ.get("SLIPWAY_AGENTS_PYTHON", "/usr/bin/python3")


@pytest.fixture
def workdir():
    """A world-readable temp dir (nginx workers run as nobody; sshd's key command as the git user)."""
    d = tempfile.mkdtemp(prefix="slipway-agents-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Nginx:
    def __init__(self, d: str):
        self.dir = d
        self.http_port = free_port()
        self.https_port = free_port()
        self.config_dir = os.path.join(d, "slipway")
        self.conf = os.path.join(d, "nginx.conf")
        os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
        self.endpoints_socket = os.path.join(d, "endpoints.sock")
        with open(self.conf, "w") as fh:
            fh.write(f"""
load_module {NGINX_MODULES}/ndk_http_module.so;
load_module {NGINX_MODULES}/ngx_http_lua_module.so;
user nobody nogroup;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    lua_package_path "{LUA_DIR}/?.lua;;";
    lua_shared_dict slipway_endpoints 32m;
    init_by_lua_block {{ require("slipway_router").init("{self.config_dir}/endpoints.json") }}
    server {{
        listen unix:{self.endpoints_socket};
        client_max_body_size 8m;
        client_body_buffer_size 8m;
        location = /endpoints {{ content_by_lua_block {{ require("slipway_router").push() }} }}
    }}
    include {self.config_dir}/live/*.conf;
}}
""")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-c", self.conf, "-e", f"{self.dir}/error.log",
                                      "-g", "daemon off; master_process on;"])
        time.sleep(0.2)
        assert self.proc.poll() is None, open(f"{self.dir}/error.log").read()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def nginx(workdir):
    n = Nginx(workdir)
    n.start()
    yield n
    n.stop()


@pytest.fixture
def fake_controller():
    with FakeController() as fc:
        yield fc


class RouteSyncProc:
    def __init__(self, nginx: Nginx, controller_url: str, router_key: str, **extra: str):
        self.log = os.path.join(nginx.dir, "routesync.log")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SLIPWAY_CONTROLLER_URL": controller_url,
            "SLIPWAY_ROUTER_KEY": router_key,
            "SLIPWAY_ROUTER_NAME": "router-test",
            "SLIPWAY_NGINX": NGINX,
            "SLIPWAY_NGINX_PREFIX": nginx.dir,
            "SLIPWAY_NGINX_CONF": nginx.conf,
            "SLIPWAY_CONFIG_DIR": nginx.config_dir,
            "SLIPWAY_HTTP_LISTEN": f"127.0.0.1:{nginx.http_port}",
            "SLIPWAY_HTTPS_LISTEN": f"127.0.0.1:{nginx.https_port}",
            "SLIPWAY_WAIT": "5",
            "SLIPWAY_ACME_SOCKET": os.path.join(nginx.dir, "acme.sock"),
            "SLIPWAY_ENDPOINTS_SOCKET": nginx.endpoints_socket,
            "SLIPWAY_LOG_LEVEL": "DEBUG",
            "SLIPWAY_PYTHON": SYSTEM_PYTHON,
        }
        env.update(extra)
        self.fh = open(self.log, "w")
        self.proc = subprocess.Popen([os.path.join(AGENTS, "bin", "slipway-routesync")], env=env,
                                     stdout=self.fh, stderr=subprocess.STDOUT)

    def output(self) -> str:
        with open(self.log) as fh:
            return fh.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.fh.close()


@pytest.fixture
def routesync(nginx):
    procs = []

    def start(controller_url: str, router_key: str, **extra: str) -> RouteSyncProc:
        p = RouteSyncProc(nginx, controller_url, router_key, **extra)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.stop()


def http_request(port: int, host: str, path: str = "/", headers: dict | None = None, tls: bool = False,
                 cafile: str | None = None, timeout: float = 5, method: str = "GET") -> tuple[int, dict, bytes]:
    """One HTTP/1.1 request to 127.0.0.1:port with the given Host (and SNI), answer (status, headers, body)."""
    import http.client
    if tls:
        ctx = ssl.create_default_context(cafile=cafile) if cafile else ssl._create_unverified_context()
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=ctx)
        # SNI and the certificate check use the virtual host name, the TCP connection goes to 127.0.0.1
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        conn.sock = ctx.wrap_socket(sock, server_hostname=host)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = {"Host": host}
        hdrs.update(headers or {})
        conn.request(method, path, headers=hdrs)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def wait_for(predicate, timeout: float = 10, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except OSError as e:
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
