"""Render the router's nginx configuration from the controller's `/v2/routes` answer.

Pure functions: `render(routes, settings)` returns {relative path: (content, mode)}; the caller writes
them into a staging directory. Everything that comes from the controller is validated before it is
put into the config (domains, app ids, CIDRs), so no value can inject nginx directives.

Endpoints are not in the config: every app's location names its app (`set $slipway_app <id>`) and proxies to
the one upstream `slipway_apps`, whose balancer (Lua, roles/router/files/slipway_router.lua) picks a peer
from the endpoint table the route sync pushes (routepush.py). So the config changes only when an app's domains,
certificates or settings do, and an endpoint change needs no nginx -t nor reload. The main config loads the
Lua module, its shared dict, the table file and the push socket (roles/router/templates/nginx.conf.j2).
"""
from __future__ import annotations

import html
import ipaddress
import logging
import re
from dataclasses import dataclass, field

from .common import APP_ID
from .routepush import LUA_MODULE

log = logging.getLogger("slipway.routesync")

# host names, optionally a leading wildcard label (nginx server_name "*.example.com")
DOMAIN = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
LISTEN = re.compile(r"^[A-Za-z0-9.:\[\]*]+$")

UPSTREAM = "slipway_apps"
ERROR_LOCATION = "/__slipway/errors/"
STATUS_LOCATION = "/__slipway/generation"

DEFAULT_PAGES = {
    "unknown.html": ("No app here", "There is no app at this address. If you just created it, its route "
                     "will appear in a moment."),
    "unavailable.html": ("App not available", "This app has no running processes right now. "
                         "It may be starting, scaled to zero, or failing its health check."),
    "maintenance.html": ("Down for maintenance", "This app is in maintenance mode. Please try again later."),
}


def page(title: str, text: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)} | Slipway</title>"
        "<style>body{font-family:sans-serif;max-width:40em;margin:4em auto;color:#333}"
        "h1{font-weight:400}small{color:#888}</style></head>\n"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
        "<p><small>503 &middot; Slipway</small></p></body></html>\n")


@dataclass
class Settings:
    http_listen: list[str] = field(default_factory=lambda: ["80"])
    https_listen: list[str] = field(default_factory=lambda: ["443"])
    platform_domain: str = ""
    controller_domain: str = ""  # defaults to slipway.<platform_domain>
    controller_upstream: str = "http://127.0.0.1:8000"
    controller_cert: str = ""
    controller_key: str = ""
    controller_enforce_https: bool = False
    acme_upstream: str = ""  # where /.well-known/acme-challenge/ goes; empty = controller_upstream
    acme_socket: str = "/run/slipway-router-acme.sock"  # where challenges to an https target are gathered
    upstream_ca_file: str = ""  # CA for https upstreams (controller)
    client_max_body_size: str = "100m"
    proxy_read_timeout: int = 300
    proxy_connect_timeout: int = 5
    next_upstream_tries: int = 3
    http2_directive: bool = True  # nginx >= 1.25.1 uses "http2 on;" instead of "listen ... http2"
    pages: dict[str, str] = field(default_factory=dict)  # file name -> html (overrides)


def listen_ok(spec: str) -> bool:
    return bool(LISTEN.match(spec))


def valid_domain(d: object) -> bool:
    # ".invalid" (RFC 2606) is never an app's: the sync reads its generation back with such a Host
    return isinstance(d, str) and len(d) <= 253 and bool(DOMAIN.match(d)) and not d.endswith(".invalid")


def valid_cidr(c: object) -> str | None:
    if not isinstance(c, str):
        return None
    try:
        return str(ipaddress.ip_network(c.strip(), strict=False))
    except ValueError:
        return None


def cert_filename(domain: str) -> str:
    return domain.replace("*", "_wildcard_")


def upstream_url(url: str) -> str:
    url = url.rstrip("/")
    if not re.match(r"^https?://[A-Za-z0-9.:\[\]-]+$", url):
        raise ValueError(f"bad upstream URL {url!r}")
    return url


# What only the platform's own services call, with their keys (builder, routers, node agents, the registry's front,
# the registry GC, Prometheus): they reach the controller directly, never through a router, so none of it is served
# to the world and a leaked service key is of no use from outside the platform's hosts.
_PLATFORM_ONLY = "".join(
    f"    location {match} {{\n        default_type application/json;\n"
    "        return 404 '{\"detail\": \"Not found.\"}';\n    }\n"
    for match in ("^~ /v2/hooks/", "^~ /v2/routes", "= /metrics"))

# Plain HTTP to an HTTPS-only API: reads are redirected; anything else is refused, since a redirected POST has
# already sent its body (a password, a token) in the clear and clients would replay it as a GET.
_HTTPS_ONLY = ("    location / {\n"
               "        default_type application/json;\n"
               "        if ($request_method !~ ^(GET|HEAD)$) {\n"
               "            return 403 '{\"detail\": \"this API is served over HTTPS only: https://$host$request_uri\"}';\n"
               "        }\n"
               "        return 301 https://$host$request_uri;\n"
               "    }\n")


def _proxy_headers(indent: str) -> str:
    lines = [
        "proxy_http_version 1.1;",
        "proxy_set_header Host $host;",
        "proxy_set_header X-Real-IP $remote_addr;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Forwarded-Host $host;",
        "proxy_set_header X-Forwarded-Port $server_port;",
        "proxy_set_header X-Request-Start \"t=${msec}\";",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $slipway_connection_upgrade;",
    ]
    return "".join(f"{indent}{line}\n" for line in lines)


# What an https upstream is verified with when the router was given no CA: the system's trust (Debian's bundle).
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def _https_upstream_opts(url: str, s: Settings, indent: str) -> str:
    """An https upstream (the controller on another host) is always verified: with the CA the router was given (the
    platform CA), else the system's trust; never taken unverified."""
    if not url.startswith("https://"):
        return ""
    return (f"{indent}proxy_ssl_server_name on;\n"
            f"{indent}proxy_ssl_verify on;\n"
            f"{indent}proxy_ssl_trusted_certificate {s.upstream_ca_file or SYSTEM_CA_BUNDLE};\n")


class Renderer:
    def __init__(self, settings: Settings, root: str):
        """root: the absolute directory the rendered files will live in once live (for paths in the config)."""
        self.s = settings
        self.root = root.rstrip("/")

    # -- pieces ---------------------------------------------------------------------------------------
    def _listen(self, specs: list[str], ssl: bool, default: bool = False) -> str:
        out = ""
        for spec in specs:
            flags = ""
            if ssl:
                flags += " ssl"
                if not self.s.http2_directive:
                    flags += " http2"
            if default:
                flags += " default_server"
            out += f"    listen {spec}{flags};\n"
        if ssl and self.s.http2_directive:
            out += "    http2 on;\n"
        if ssl:
            out += ("    ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_prefer_server_ciphers off;\n"
                    "    ssl_session_cache shared:slipway_ssl:10m;\n")
        return out

    def _error_pages(self, name: str = "unavailable.html") -> str:
        return (f"    error_page 503 {ERROR_LOCATION}{name};\n"
                f"    location ^~ {ERROR_LOCATION} {{\n"
                f"        internal;\n"
                f"        alias {self.root}/pages/;\n"
                f"    }}\n")

    def _acme_target(self) -> str:
        target = self.s.acme_upstream or self.s.controller_upstream
        return upstream_url(target) if target else ""

    def _acme(self) -> str:
        target = self._acme_target()
        if not target:
            return ""
        # An https target goes through the one server of _acme_hop: a TLS context (and its CA file) per location
        # would be loaded for every app at each nginx -t and reload (0.4 ms per app with one CA, 30 ms with
        # Debian's bundle).
        via = f"http://unix:{self.s.acme_socket}" if target.startswith("https://") else target
        return ("    location ^~ /.well-known/acme-challenge/ {\n"
                "        allow all;  # the CA validates from anywhere, whatever the app's whitelist\n"
                f"        proxy_pass {via};\n"
                + _proxy_headers("        ")
                + "    }\n")

    def _acme_hop(self) -> str:
        target = self._acme_target()
        if not target.startswith("https://"):
            return ""
        return ("# ACME challenges of every app to the https target, with one TLS context\n"
                f"server {{\n    listen unix:{self.s.acme_socket};\n"
                f"    location / {{\n        proxy_pass {target};\n"
                "        proxy_http_version 1.1;\n        proxy_set_header Host $host;\n"
                + _https_upstream_opts(target, self.s, "        ") + "    }\n}\n\n")

    def _app_body(self, app: dict) -> str:
        """Access rules and locations shared by the HTTP and HTTPS servers of one app."""
        out = ""
        out += "".join(f"    allow {cidr};\n" for cidr in app["whitelist"])
        if app["whitelist"]:
            out += "    deny all;\n"
        out += f"    client_max_body_size {self.s.client_max_body_size};\n"
        if app["maintenance"]:
            out += self._error_pages("maintenance.html") + "    location / {\n        return 503;\n    }\n"
            return out
        out += self._error_pages()
        out += ("    location / {\n"
                f"        set $slipway_app {app['id']};\n"
                f"        access_by_lua_block {{ require(\"{LUA_MODULE}\").access() }}\n"
                f"        proxy_pass http://{UPSTREAM};\n"
                + _proxy_headers("        ")
                + "        proxy_next_upstream error timeout http_502 http_503;\n"
                f"        proxy_next_upstream_tries {self.s.next_upstream_tries};\n"
                "        proxy_next_upstream_timeout 15s;\n"
                f"        proxy_connect_timeout {self.s.proxy_connect_timeout}s;\n"
                f"        proxy_read_timeout {self.s.proxy_read_timeout}s;\n"
                f"        proxy_send_timeout {self.s.proxy_read_timeout}s;\n"
                "        proxy_buffering off;\n"
                "        proxy_redirect off;\n"
                "    }\n")
        return out

    def _ssl(self, domain: str) -> str:
        name = cert_filename(domain)
        return (f"    ssl_certificate {self.root}/certs/{name}.crt;\n"
                f"    ssl_certificate_key {self.root}/certs/{name}.key;\n")

    # -- whole config -----------------------------------------------------------------------------------
    def normalise_app(self, raw: dict) -> dict | None:
        app_id = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(app_id, str) or not APP_ID.match(app_id):
            log.warning("skipping app with invalid id %r", app_id)
            return None
        domains = []
        for d in raw.get("domains") or []:
            d = d.lower().rstrip(".") if isinstance(d, str) else d
            if valid_domain(d):
                if d not in domains:
                    domains.append(d)
            else:
                log.warning("app %s: skipping invalid domain %r", app_id, d)
        whitelist = []
        for c in raw.get("whitelist") or []:
            v = valid_cidr(c)
            if v is None:
                log.warning("app %s: skipping invalid whitelist entry %r", app_id, c)
            else:
                whitelist.append(v)
        certs = {}
        for d, c in (raw.get("certs") or {}).items():
            d = d.lower().rstrip(".") if isinstance(d, str) else d
            if (d in domains and isinstance(c, dict) and isinstance(c.get("certificate"), str)
                    and isinstance(c.get("key"), str)):
                certs[d] = {"certificate": c["certificate"], "key": c["key"]}
            else:
                log.warning("app %s: skipping certificate for %r (unknown domain or malformed)", app_id, d)
        return {"id": app_id, "domains": domains, "whitelist": whitelist,
                "certs": certs, "maintenance": bool(raw.get("maintenance")),
                "enforce_https": bool(raw.get("enforce_https"))}

    def render(self, routes: dict, generation: str) -> dict[str, tuple[str, int]]:
        s = self.s
        files: dict[str, tuple[str, int]] = {}
        for name, (title, text) in DEFAULT_PAGES.items():
            files[f"pages/{name}"] = (s.pages.get(name) or page(title, text), 0o644)

        out = ["# Rendered by slipway routesync. Do not edit: every routing change rewrites it.\n",
               f"# generation {generation}\n\n"]
        out.append("map $http_upgrade $slipway_connection_upgrade {\n    default upgrade;\n    ''      '';\n}\n")
        out.append("underscores_in_headers on;\nserver_names_hash_bucket_size 128;\n"
                   "server_names_hash_max_size 8192;\n\n")
        # every app's peers, from the pushed table. One upstream, not one per app: an app's first or last endpoint
        # changes no config. Idle connections kept per worker (one LRU pool over every app's peers, where each app
        # had 64 of its own): enough for busy apps to skip a TCP handshake per request
        out.append(f"upstream {UPSTREAM} {{\n    server 0.0.0.1;  # never used: the balancer sets each peer\n"
                   f"    balancer_by_lua_block {{ require(\"{LUA_MODULE}\").balance() }}\n"
                   "    keepalive 1024;\n    keepalive_requests 10000;\n}\n\n")

        # default server: unknown hosts get the Slipway 503 page; the sync checks the loaded generation here
        out.append("server {\n" + self._listen(s.http_listen, False, default=True))
        if s.https_listen:
            out.append(self._listen(s.https_listen, True, default=True) + "    ssl_reject_handshake on;\n")
        out.append("    server_name _;\n"
                   f"    location = {STATUS_LOCATION} {{\n"
                   "        allow 127.0.0.1;\n        allow ::1;\n        deny all;\n"
                   f"        set $slipway_generation \"{generation}\";\n"
                   f"        content_by_lua_block {{ require(\"{LUA_MODULE}\").status() }}\n    }}\n"
                   f"    error_page 503 {ERROR_LOCATION}unknown.html;\n"
                   f"    location ^~ {ERROR_LOCATION} {{\n        internal;\n        alias {self.root}/pages/;\n    }}\n"
                   "    location / {\n        return 503;\n    }\n}\n\n")

        out.append(self._acme_hop())
        seen_domains: set[str] = set()
        if s.controller_domain or s.platform_domain:
            cdomain = s.controller_domain or f"slipway.{s.platform_domain}"
            if s.platform_domain and cdomain != f"deis.{s.platform_domain}":  # the name the Deis CLI is told
                cdomain += f" deis.{s.platform_domain}"
            seen_domains.update(cdomain.split())
            target = upstream_url(s.controller_upstream)
            loc = (_PLATFORM_ONLY + "    location / {\n"
                   f"        proxy_pass {target};\n" + _proxy_headers("        ")
                   + _https_upstream_opts(target, s, "        ")
                   + "        proxy_read_timeout 1200s;\n        proxy_send_timeout 1200s;\n"
                   + f"        client_max_body_size {s.client_max_body_size};\n"
                   "        proxy_buffering off;\n    }\n")
            redirect = s.controller_enforce_https and s.controller_cert
            out.append("# the controller API\nserver {\n" + self._listen(s.http_listen, False)
                       + f"    server_name {cdomain};\n"
                       + (_HTTPS_ONLY + self._acme() if redirect else loc) + "}\n")
            if s.controller_cert and s.https_listen:
                out.append("server {\n" + self._listen(s.https_listen, True)
                           + f"    server_name {cdomain};\n"
                           f"    ssl_certificate {s.controller_cert};\n"
                           f"    ssl_certificate_key {s.controller_key or s.controller_cert};\n" + loc + "}\n")
            out.append("\n")

        apps = []
        for raw in routes.get("apps") or []:
            app = self.normalise_app(raw)
            if app is None:
                continue
            doms = [d for d in app["domains"] if d not in seen_domains]
            for d in set(app["domains"]) - set(doms):
                log.warning("app %s: domain %s is already served by another app; skipped", app["id"], d)
            seen_domains.update(doms)
            app["domains"] = doms
            app["certs"] = {d: c for d, c in app["certs"].items() if d in doms}
            if doms:
                apps.append(app)

        for app in sorted(apps, key=lambda a: a["id"]):
            out.append(f"# app {app['id']}\n")
            tls = [d for d in app["domains"] if d in app["certs"]]
            plain = [d for d in app["domains"] if d not in app["certs"]]
            body = self._app_body(app)
            http_domains = plain + ([] if app["enforce_https"] else tls)
            if http_domains:
                out.append("server {\n" + self._listen(s.http_listen, False)
                           + f"    server_name {' '.join(http_domains)};\n" + self._acme() + body + "}\n")
            if app["enforce_https"] and tls:
                out.append("server {\n" + self._listen(s.http_listen, False)
                           + f"    server_name {' '.join(tls)};\n" + self._acme()
                           + "    location / {\n        return 301 https://$host$request_uri;\n    }\n}\n")
            for d in tls:
                c = app["certs"][d]
                name = cert_filename(d)
                files[f"certs/{name}.crt"] = (c["certificate"].strip() + "\n", 0o644)
                files[f"certs/{name}.key"] = (c["key"].strip() + "\n", 0o600)
                if not s.https_listen:
                    continue
                hsts = ("    add_header Strict-Transport-Security \"max-age=31536000\" always;\n"
                        if app["enforce_https"] else "")
                out.append("server {\n" + self._listen(s.https_listen, True) + f"    server_name {d};\n"
                           + self._ssl(d) + hsts + body + "}\n")
            out.append("\n")
        files["slipway.conf"] = ("".join(out), 0o644)
        return files
