"""The router's sync service: controller routes -> endpoint push, or config -> `nginx -t` -> swap -> reload -> ack.

    python3 -m slipway_agents.routesync [--config /etc/slipway/routesync.ini] [--once]

Loop: long-poll `GET /v2/routes?generation=G&wait=25` (header X-Slipway-Router-Auth). A new generation that
differs from the live one only in endpoints is pushed to nginx as an endpoint table (routepush.py: no render,
no nginx -t, no reload), then acknowledged once nginx answers that it took it. Any other one (or a push that
fails): render every file into a fresh staging directory next to the live one, run `nginx -t` on the full nginx
config with the live directory's path pointed at the staging directory, and only if that passes, write the
endpoint table's file, swap the `live` symlink atomically (rename), reload nginx, check that nginx now serves
that generation, push the table, and then POST
`/v2/routes/ack/ {router, generation}`. If `nginx -t` fails the old config keeps serving, the error is logged
and that generation is not acknowledged; the sync tries it again every `heartbeat` seconds (the cause may be
on the host, e.g. a broken snippet in /etc/nginx/conf.d that an operator then removes) until it passes or the
controller publishes a newer generation.

Settings (ini section [routesync], or environment SLIPWAY_<NAME>):
  controller_url, router_key (or router_key_file), ca_file, router_name (default: host name),
  nginx (binary), nginx_prefix (-p), nginx_conf (-c, the main config that includes <live_dir>/*.conf),
  config_dir (holds `live` and the generation directories), reload_command (default: SIGHUP to the master whose
  pid is in pid_file, by default the main config's `pid`; `nginx -s reload` would parse the whole config first),
  http_listen / https_listen (space separated nginx listen specs), check_url (where the loaded generation
  is read back, default derived from http_listen), platform_domain, controller_domain, controller_upstream,
  controller_cert, controller_key, controller_enforce_https, acme_upstream, acme_socket (where nginx gathers
  ACME challenges bound for an https target: in /run, so no stale socket outlives a reboot), endpoints_socket
  (nginx's unix socket taking the endpoint table; empty: every generation renders and reloads), endpoints_file
  (the table nginx loads when it starts or reloads; default <config_dir>/endpoints.json, as the main config's
  init_by_lua), pages_dir (html overrides for
  unknown.html / unavailable.html / maintenance.html), wait (long-poll seconds), heartbeat (seconds between
  re-acks, and between retries of a generation nginx -t refused), drop_invalid_certs (leave out certificates
  this host's OpenSSL refuses, e.g. a 1024-bit RSA key at security level 2, instead of refusing the whole
  generation: their domains are served over HTTP only and the error is logged; default true), log_level.
"""
from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from .common import Client, HTTPError, run_service
from .nginxconf import Renderer, Settings, listen_ok
from .nginxctl import (ConfigTestFailed, conf_pid_file, default_check_url, drop_invalid_certs, master_pid,
                       nginx_version)
from .routepush import EndpointPush, PushFailed, endpoint_table, routing_shape, table_body

log = logging.getLogger("slipway.routesync")

DEFAULTS = {
    "controller_url": "",
    "router_key": "",
    "router_key_file": "",
    "ca_file": "",
    "router_name": "",
    "nginx": "/usr/sbin/nginx",
    "nginx_prefix": "",
    "nginx_conf": "/etc/nginx/nginx.conf",
    "config_dir": "/etc/nginx/slipway",
    "reload_command": "",
    "pid_file": "",
    "http_listen": "80",
    "https_listen": "443",
    "check_url": "",
    "check_timeout": "10",
    "platform_domain": "",
    "controller_domain": "",
    "controller_upstream": "",
    "controller_cert": "",
    "controller_key": "",
    "controller_enforce_https": "false",
    "acme_upstream": "",
    "acme_socket": "/run/slipway-router-acme.sock",
    "endpoints_socket": "/run/slipway-router/endpoints.sock",
    "endpoints_file": "",
    "upstream_ca_file": "",
    "client_max_body_size": "100m",
    "proxy_read_timeout": "300",
    "pages_dir": "",
    "wait": "25",
    "keep_generations": "3",
    "heartbeat": "20",
    "drop_invalid_certs": "true",
    "log_level": "INFO",
}

TRUE = {"1", "true", "yes", "on"}


class RouteSync:
    def __init__(self, cfg: dict[str, str]):
        self.cfg = cfg
        self.name = cfg["router_name"] or socket.getfqdn()
        self.client = Client(cfg["controller_url"], {"X-Slipway-Router-Auth": cfg["router_key"]},
                             ca_file=cfg["ca_file"] or None, timeout=10)
        self.config_dir = os.path.abspath(cfg["config_dir"])
        self.live = os.path.join(self.config_dir, "live")
        self.wait = int(cfg["wait"])
        http_listen = cfg["http_listen"].replace(",", " ").split()
        https_listen = cfg["https_listen"].replace(",", " ").split()
        for spec in http_listen + https_listen:
            if not listen_ok(spec):
                raise ValueError(f"bad listen spec {spec!r}")
        pages = {}
        if cfg["pages_dir"]:
            for name in ("unknown.html", "unavailable.html", "maintenance.html"):
                path = os.path.join(cfg["pages_dir"], name)
                if os.path.isfile(path):
                    with open(path, encoding="utf-8") as fh:
                        pages[name] = fh.read()
        self.settings = Settings(
            http_listen=http_listen, https_listen=https_listen,
            platform_domain=cfg["platform_domain"], controller_domain=cfg["controller_domain"],
            controller_upstream=cfg["controller_upstream"] or cfg["controller_url"],
            controller_cert=cfg["controller_cert"], controller_key=cfg["controller_key"],
            controller_enforce_https=cfg["controller_enforce_https"].lower() in TRUE,
            acme_upstream=cfg["acme_upstream"], acme_socket=cfg["acme_socket"],
            upstream_ca_file=cfg["upstream_ca_file"] or cfg["ca_file"],
            client_max_body_size=cfg["client_max_body_size"],
            proxy_read_timeout=int(cfg["proxy_read_timeout"]),
            http2_directive=nginx_version(cfg["nginx"]) >= (1, 25, 1), pages=pages)
        self.check_url = cfg["check_url"] or default_check_url(http_listen)
        self.pid_file = cfg["pid_file"] or conf_pid_file(cfg["nginx_conf"])
        self.push = EndpointPush(cfg["endpoints_socket"],
                                 cfg["endpoints_file"] or os.path.join(self.config_dir, "endpoints.json"))
        self.rendered: tuple[str, str] | None = None  # (generation, routing_shape) of the live config
        self.applied: str | None = None   # generation nginx serves
        self.seen: str | None = None      # last generation handled (applied or refused)
        self.pending_ack: str | None = None
        self.last_ack = 0.0
        self.refused: str | None = None   # generation nginx -t refused, tried again every `heartbeat` seconds
        self.refused_at = 0.0

    # -- nginx ----------------------------------------------------------------------------------------------
    def nginx_cmd(self, *args: str, conf: str | None = None) -> list[str]:
        cmd = [self.cfg["nginx"]]
        if self.cfg["nginx_prefix"]:
            cmd += ["-p", self.cfg["nginx_prefix"]]
        cmd += ["-c", conf or self.cfg["nginx_conf"]]
        return cmd + list(args)

    def test_config(self, staged: str) -> None:
        """`nginx -t` on the full main config, with the live directory replaced by the staged one."""
        with open(self.cfg["nginx_conf"], encoding="utf-8") as fh:
            main = fh.read()
        if self.live not in main:
            raise ConfigTestFailed(f"{self.cfg['nginx_conf']} does not include {self.live}/*.conf")
        test_conf = os.path.join(staged, ".nginx-test.conf")
        with open(test_conf, "w", encoding="utf-8") as fh:
            fh.write(main.replace(self.live + "/", staged + "/"))
        try:
            r = subprocess.run(self.nginx_cmd("-t", "-q", conf=test_conf), capture_output=True, text=True,
                               timeout=60, check=False)
        finally:
            os.unlink(test_conf)
        if r.returncode != 0:
            raise ConfigTestFailed((r.stderr or r.stdout).strip())

    def master_pid(self) -> int:
        return master_pid(self.pid_file)

    def reload(self) -> None:
        if not self.cfg["reload_command"]:
            os.kill(self.master_pid(), signal.SIGHUP)
            return
        cmd = shlex.split(self.cfg["reload_command"])
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"reload failed ({' '.join(cmd)}): {(r.stderr or r.stdout).strip()}")

    def wait_loaded(self, generation: str) -> bool:
        """True once nginx answers with this generation and no longer accepts with the old one. nginx's master
        starts the new workers, sleeps 100 ms, and only then tells the old ones to stop accepting, so this waits
        that long (and a little more) after a new worker first answers: the acknowledgement then means every new
        connection meets the new config. (A worker answers its config's generation, or that of the endpoint table
        pushed on top of it: routepush.)"""
        if not self.check_url:
            return True
        deadline = time.monotonic() + float(self.cfg["check_timeout"])
        req = urllib.request.Request(self.check_url, headers={"Host": "slipway-routesync.invalid"})
        last = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(req, timeout=2) as r:
                    last = r.read().decode().strip()
            except (OSError, urllib.error.URLError) as e:
                last = str(e)
            if last == generation:
                time.sleep(0.12)
                return True
            time.sleep(0.02)
        log.error("nginx did not load generation %s within %ss (answer: %s)", generation,
                  self.cfg["check_timeout"], last)
        return False

    # -- files ------------------------------------------------------------------------------------------------
    def stage(self, routes: dict, generation: str) -> str:
        os.makedirs(self.config_dir, mode=0o755, exist_ok=True)
        staged = tempfile.mkdtemp(prefix=f"gen-{re.sub(r'[^A-Za-z0-9]', '_', generation)[:40]}-",
                                  dir=self.config_dir)
        os.chmod(staged, 0o755)
        files = Renderer(self.settings, staged).render(routes, generation)
        for rel, (content, mode) in files.items():
            path = os.path.join(staged, rel)
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(content)
        if os.path.isdir(os.path.join(staged, "certs")):
            os.chmod(os.path.join(staged, "certs"), 0o700)
        return staged

    def swap(self, staged: str) -> None:
        tmp_link = self.live + ".new"
        if os.path.lexists(tmp_link):
            os.unlink(tmp_link)
        os.symlink(os.path.basename(staged), tmp_link)
        os.replace(tmp_link, self.live)  # rename(2): atomic

    def cleanup(self, keep: str) -> None:
        """Drop old generation directories, keeping the live one and a few before it."""
        gens = sorted((e for e in os.scandir(self.config_dir) if e.is_dir(follow_symlinks=False)
                       and e.name.startswith("gen-")), key=lambda e: e.stat().st_mtime, reverse=True)
        n = int(self.cfg["keep_generations"])
        for e in gens[n:]:
            if e.path != keep:
                shutil.rmtree(e.path, ignore_errors=True)

    def ensure_live(self) -> None:
        """Before the first sync, make sure `live` exists so nginx can start (unknown hosts -> 503)."""
        if not os.path.exists(self.live):
            staged = self.stage({"apps": []}, "0")
            self.swap(staged)
            try:  # best effort: nginx may not run yet (it picks the folder up when it starts)
                self.reload()
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                log.info("initial reload skipped: %s", e)

    # -- one generation -----------------------------------------------------------------------------------------
    def apply(self, routes: dict) -> bool:
        generation = str(routes.get("generation"))
        self.seen = generation
        started = time.monotonic()
        shape, table = routing_shape(routes), endpoint_table(routes)
        if self.rendered and self.rendered[1] == shape and self.push.socket_path:
            body = table_body(table, _gen_value(generation), _gen_value(self.rendered[0]))
            try:
                self.push.write_file(body)  # what a restarted nginx starts with
                self.push.push(body)
            except (PushFailed, OSError) as e:
                log.warning("generation %s: endpoint push failed (%s); rendering and reloading instead", generation, e)
            else:
                self.applied = self.pending_ack = generation
                log.info("generation %s live (%d apps, endpoints only) %.0f ms after it arrived", generation,
                         len(table), (time.monotonic() - started) * 1000)
                return True
        if self.cfg["drop_invalid_certs"].lower() in TRUE:
            drop_invalid_certs(routes)
        staged = self.stage(routes, generation)
        try:
            self.test_config(staged)
        except ConfigTestFailed as e:
            log.error("generation %s refused by nginx -t; keeping the running config (trying again in %ss): %s",
                      generation, self.cfg["heartbeat"], e)
            shutil.rmtree(staged, ignore_errors=True)
            self.refused, self.refused_at = generation, time.monotonic()
            return False
        self.refused = None
        body = table_body(table, _gen_value(generation), _gen_value(generation))
        self.push.write_file(body)  # the reload's init loads it
        self.swap(staged)
        tested = time.monotonic()
        try:
            self.reload()
            if not self.wait_loaded(generation):
                raise RuntimeError(f"nginx did not load generation {generation}")
        except (RuntimeError, OSError, subprocess.SubprocessError):
            self.seen, self.rendered = None, None  # fetch and apply again after the back-off
            raise
        self.rendered = (generation, shape)
        if self.push.socket_path:
            try:  # in step with the file the reload loaded, and a check that pushes work
                self.push.push(body)
            except PushFailed as e:
                log.warning("generation %s: endpoint push failed (%s); each change reloads until it works",
                            generation, e)
        self.applied = generation
        self.pending_ack = generation
        self.cleanup(staged)
        log.info("generation %s live (%d apps) %.0f ms after it arrived (render and nginx -t %.0f ms)", generation,
                 len(routes.get("apps") or []), (time.monotonic() - started) * 1000, (tested - started) * 1000)
        return True

    def ack(self) -> None:
        """Post the applied generation: once after each reload, and again every `heartbeat` seconds,
        so the controller keeps counting this router as alive (it waits only for live routers)."""
        gen = self.pending_ack
        if gen is None:
            if self.applied is None or time.monotonic() - self.last_ack < float(self.cfg["heartbeat"]):
                return
            gen = self.applied
        self.client.request("POST", "/v2/routes/ack/", {"router": self.name, "generation": _gen_value(gen)})
        if self.pending_ack is not None:
            log.info("acknowledged generation %s", gen)
        self.pending_ack = None
        self.last_ack = time.monotonic()

    def retry_left(self) -> float | None:
        """Seconds until the refused generation is tried again (None: nothing refused is pending)."""
        if self.refused is None or self.seen != self.refused:
            return None
        return max(0.0, self.refused_at + float(self.cfg["heartbeat"]) - time.monotonic())

    def poll(self) -> dict | None:
        query: dict[str, str | int] = {}
        wait = self.wait
        left = self.retry_left()
        if left is not None and left <= 0:
            log.info("trying refused generation %s again", self.refused)
            self.seen = None  # fetch it in full and apply it again
        elif left is not None:
            wait = max(1, min(wait, int(left + 0.999)))
        if self.seen is not None:
            query = {"generation": self.seen, "wait": wait}
        r = self.client.request("GET", "/v2/routes", query=query, timeout=wait + 15, ok=(200, 304))
        if r.status == 304:
            return None
        data = r.json()
        if not isinstance(data, dict) or "generation" not in data:
            raise ValueError("unexpected /v2/routes answer")
        return data

    def run(self, once: bool = False) -> int:
        self.ensure_live()
        backoff = 0.5
        while True:
            try:
                self.ack()
                routes = self.poll()
                if routes is not None and (str(routes["generation"]) != self.applied or self.seen is None):
                    self.apply(routes)
                    self.ack()
                elif routes is not None:
                    self.seen = str(routes["generation"])
                backoff = 0.5
                if once:
                    return 0 if self.applied == self.seen else 1
            except (OSError, HTTPError, ValueError, RuntimeError, subprocess.SubprocessError) as e:
                log.warning("sync error: %s (retrying in %.1fs)", e, backoff)
                if once:
                    return 1
                time.sleep(backoff)
                backoff = min(backoff * 2, 10)


def _gen_value(g: str) -> int | str:
    return int(g) if g.lstrip("-").isdigit() else g


def main(argv: list[str] | None = None) -> int:
    return run_service("slipway-routesync", __doc__, "routesync", DEFAULTS, RouteSync, argv,
                       flags=(("--once", "sync one generation and exit"),))


if __name__ == "__main__":
    sys.exit(main())
