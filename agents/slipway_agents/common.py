"""Configuration loading, logging and a tiny HTTP client shared by the agents.

sshd starts the builder's agents several times per `git push`, so this module imports only what every use
needs: the HTTP and TLS machinery is imported on a client's first request.
"""
from __future__ import annotations

import configparser
import json
import logging
import os
import re
import sys
from typing import Any

log = logging.getLogger("slipway")
APP_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")  # the controller's app id rule: a DNS label


def load_config(section: str, defaults: dict[str, str], path: str | None = None,
                environ: dict[str, str] | None = None) -> dict[str, str]:
    """defaults < ini file [section] < environment (SLIPWAY_<KEY>).

    `<key>_file` settings (e.g. router_key_file) are read into `<key>` when `<key>` is empty,
    so secrets can live in a file of their own (systemd credentials, 0600 files).
    """
    env = os.environ if environ is None else environ
    cfg = dict(defaults)
    path = path or env.get("SLIPWAY_CONFIG")
    if path:
        parser = configparser.ConfigParser(interpolation=None)
        with open(path, encoding="utf-8") as fh:
            parser.read_file(fh)
        if parser.has_section(section):
            cfg.update(dict(parser.items(section)))
    for key in list(cfg) + [k + "_file" for k in cfg]:
        value = env.get("SLIPWAY_" + key.upper())
        if value is not None:
            cfg[key] = value
    for key in list(cfg):
        if key.endswith("_file") and cfg.get(key) and not cfg.get(key[:-5]) and key[:-5] in defaults:
            with open(cfg[key], encoding="utf-8") as fh:
                cfg[key[:-5]] = fh.read().strip()
    return cfg


class _Syslog(logging.Handler):
    """To syslog through the C library (the `syslog` module), lighter to import than logging.handlers."""

    PRIORITIES = {"DEBUG": 7, "INFO": 6, "WARNING": 4, "ERROR": 3, "CRITICAL": 2}

    def __init__(self, name: str):
        super().__init__()
        import syslog
        self._syslog = syslog
        syslog.openlog(name, syslog.LOG_PID, syslog.LOG_AUTH)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._syslog.syslog(self.PRIORITIES.get(record.levelname, 6), f"{record.levelname} {self.format(record)}")
        except Exception:  # noqa: BLE001 (logging must never break the agent)
            self.handleError(record)


def setup_logging(name: str, level: str = "INFO", syslog: bool = False, stderr: bool = True) -> None:
    handler: logging.Handler
    if syslog and os.path.exists("/dev/log"):
        handler = _Syslog(name)
    elif not stderr:
        handler = logging.NullHandler()
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"%(asctime)s {name} %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))


class HTTPError(Exception):
    def __init__(self, status: int, body: str, url: str):
        super().__init__(f"HTTP {status} from {url}: {body[:300]}")
        self.status = status
        self.body = body
        self.url = url


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


class Client:
    """Minimal JSON-over-HTTP(S) client (http.client): one base URL, fixed auth headers, a CA bundle. It does
    not follow redirects: the controller's paths are called exactly."""

    def __init__(self, base_url: str, headers: dict[str, str], ca_file: str | None = None,
                 timeout: float = 10.0):
        if not base_url:
            raise ValueError("controller_url is not set")
        self.base_url = base_url.rstrip("/")
        scheme, sep, rest = self.base_url.partition("://")
        if not sep or scheme not in ("http", "https"):
            raise ValueError(f"controller_url must be http:// or https://, not {base_url!r}")
        self.https = scheme == "https"
        self.netloc, slash, prefix = rest.partition("/")
        self.prefix = slash + prefix
        self.headers = dict(headers)
        self.headers.setdefault("User-Agent", "slipway-agents")
        self.timeout = timeout
        self.ca_file = ca_file
        self.context = None

    def request(self, method: str, path: str, body: Any = None, query: dict | None = None,
                timeout: float | None = None, ok: tuple[int, ...] = (200, 201, 204)) -> Response:
        import http.client
        import urllib.parse
        target = self.prefix + path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = dict(self.headers, Accept="application/json")
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.https:
            if self.context is None:
                import ssl
                self.context = ssl.create_default_context(cafile=self.ca_file or None)
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.netloc, timeout=timeout or self.timeout, context=self.context)
        else:
            conn = http.client.HTTPConnection(self.netloc, timeout=timeout or self.timeout)
        try:
            conn.request(method, target, body=data, headers=headers)
            r = conn.getresponse()
            resp = Response(r.status, dict(r.headers), r.read())
        except http.client.HTTPException as e:  # a malformed answer: an I/O error to the callers
            raise OSError(f"{method} {self.base_url}{target}: {e!r}") from None
        finally:
            conn.close()
        if resp.status not in ok:
            raise HTTPError(resp.status, resp.body.decode("utf-8", "replace"), self.base_url + target)
        return resp


def run_service(prog: str, doc: str, section: str, defaults: dict[str, str], make: Any,
                argv: list[str] | None = None, flags: tuple[tuple[str, str], ...] = ()) -> int:
    """The command line of the long-running agents (route sync, node agent): --config and the agent's own
    switches (flags: (option, help)), logging, the agent made from its settings (exit 2 when they are wrong),
    then its run(**switches) until SIGTERM or Ctrl-C (exit 0)."""
    import argparse
    import signal
    ap = argparse.ArgumentParser(prog=prog, description=doc.split("\n")[0])
    ap.add_argument("--config", help=f"ini file with a [{section}] section")
    for option, text in flags:
        ap.add_argument(option, action="store_true", help=text)
    switches = vars(ap.parse_args(argv))
    cfg = load_config(section, defaults, switches.pop("config"))
    name = prog.removeprefix("slipway-")
    setup_logging(name, cfg["log_level"])
    try:
        agent = make(cfg)
    except (ValueError, OSError) as e:
        logging.getLogger("slipway." + name).error("bad configuration: %s", e)
        return 2

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        return agent.run(**switches)
    except KeyboardInterrupt:
        return 0
