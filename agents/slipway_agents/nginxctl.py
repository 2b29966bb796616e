"""The router host's nginx as the route sync drives it: its version, its master (from the pid file), where the
generation it serves is read back, and which app certificates this host's OpenSSL takes."""
from __future__ import annotations

import logging
import re
import ssl
import subprocess
import tempfile

from .nginxconf import STATUS_LOCATION

log = logging.getLogger("slipway.routesync")


class ConfigTestFailed(Exception):
    pass


def nginx_version(binary: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10, check=False).stderr
        m = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out)
        if m:
            return tuple(int(x) for x in m.groups())
    except OSError:
        pass
    return (1, 26, 0)


def default_check_url(http_listen: list[str]) -> str:
    for spec in http_listen:
        if spec.isdigit():
            return f"http://127.0.0.1:{spec}{STATUS_LOCATION}"
        m = re.match(r"^(\d+\.\d+\.\d+\.\d+|\*):(\d+)$", spec)
        if m:
            host = "127.0.0.1" if m.group(1) in ("*", "0.0.0.0") else m.group(1)
            return f"http://{host}:{m.group(2)}{STATUS_LOCATION}"
    return ""


def conf_pid_file(nginx_conf: str) -> str:
    """The main config's `pid` (nginx's own default when it names none, or cannot be read yet)."""
    try:
        with open(nginx_conf, encoding="utf-8") as fh:
            found = re.search(r"^\s*pid\s+([^;\s]+)\s*;", fh.read(), re.M)
    except OSError:
        found = None
    return found.group(1) if found else "/run/nginx.pid"


def master_pid(path: str) -> int:
    """nginx's master, from its pid file; never another process that got a stale file's number."""
    try:
        with open(path, encoding="ascii") as fh:
            pid = int(fh.read().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            master = fh.read().startswith(b"nginx: master process")
    except (OSError, ValueError) as e:
        raise RuntimeError(f"no nginx master to reload ({path}: {e})") from None
    if not master:
        raise RuntimeError(f"no nginx master to reload ({path}: process {pid} is something else)")
    return pid


def drop_invalid_certs(routes: dict) -> None:
    """Leave out certificates this host's OpenSSL refuses (on by default: one app's certificate then cannot stop
    routing changes for every app). Their domains are served over HTTP only; the error is logged."""
    with tempfile.TemporaryDirectory() as d:
        crt, key = f"{d}/c.pem", f"{d}/k.pem"
        for app in routes.get("apps") or []:
            certs = app.get("certs") if isinstance(app, dict) else None
            if not isinstance(certs, dict):
                continue
            for domain, c in list(certs.items()):
                try:
                    with open(crt, "w", encoding="utf-8") as fh:
                        fh.write(str(c.get("certificate", "")))
                    with open(key, "w", encoding="utf-8") as fh:
                        fh.write(str(c.get("key", "")))
                    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(crt, key)
                except (ssl.SSLError, OSError, AttributeError, ValueError) as e:
                    log.error("app %s: certificate for %s refused by OpenSSL (%s); serving it over HTTP only",
                              app.get("id"), domain, e)
                    del certs[domain]
