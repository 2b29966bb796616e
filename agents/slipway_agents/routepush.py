"""The router's endpoint table: which peers serve each app, handed to nginx without a reload.

nginx's balancer (Lua, roles/router/files/slipway_router.lua) reads the table from a shared dict. The route sync
builds it from `/v2/routes` (app id -> ["ip:port", ...]; only IP literals and ports, whatever the controller
sent), writes it to `endpoints_file` (nginx's master loads it when it starts or reloads: a restarted nginx
serves it at once), and PUTs it to `endpoints_socket`, a unix socket only root on the router reaches (tenants'
tasks on the same host cannot). nginx answers with the table's md5 and its app count; the route sync checks
both before it acknowledges the generation.

A generation that differs from the live one only in endpoints (deploys, scaling, task replacement, health) is
live once pushed: no render, no nginx -t, no reload. Any other change renders and reloads as before, with the
file written first so the reload serves the new table too. A push that fails falls back to render and reload.

The table body: {"generation": G, "base": B, "apps": {...}}, B the generation of the rendered config it goes
with: the status location answers G while B is its own generation (routesync.RouteSync.wait_loaded).
"""
from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import logging
import os

from .common import APP_ID
from .engine import UnixConnection

log = logging.getLogger("slipway.routesync")

LUA_MODULE = "slipway_router"
MAX_PEERS = 1000  # per app, as slipway_router.lua
MAX_BODY = 8 * 1024 * 1024  # the push socket's client_max_body_size (nginx.conf.j2)


class PushFailed(Exception):
    pass


def valid_endpoint(ep: object) -> str | None:
    """{"address": IP literal, "port": 1-65535} -> "ip:port" ("[v6]:port"); None for anything else."""
    if not isinstance(ep, dict):
        return None
    addr, port = ep.get("address"), ep.get("port")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536 or not isinstance(addr, str):
        return None
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return None
    if ip.version == 6 and (ip.scope_id or ip.ipv4_mapped):
        return None
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def endpoint_table(routes: dict) -> dict[str, list[str]]:
    """Each valid app's valid endpoints, in the controller's order, without duplicates."""
    table: dict[str, list[str]] = {}
    for raw in routes.get("apps") or []:
        app_id = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(app_id, str) or not APP_ID.match(app_id):
            continue  # the renderer logs it
        peers: list[str] = []
        for ep in raw.get("endpoints") or []:
            v = valid_endpoint(ep)
            if v is None:
                log.warning("app %s: skipping invalid endpoint %r", app_id, ep)
            elif v not in peers:
                peers.append(v)
        if len(peers) > MAX_PEERS:
            log.warning("app %s: %d endpoints, routing to the first %d", app_id, len(peers), MAX_PEERS)
            del peers[MAX_PEERS:]
        table[app_id] = peers
    return table


def routing_shape(routes: dict) -> str:
    """A digest of everything in the routes but the generation and the endpoints: what the config is made of."""
    rest = {k: v for k, v in routes.items() if k not in ("generation", "apps")}
    apps = [{k: v for k, v in a.items() if k != "endpoints"} if isinstance(a, dict) else a
            for a in routes.get("apps") or []]
    text = json.dumps([rest, apps], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def table_body(table: dict[str, list[str]], generation: int | str, base: int | str) -> bytes:
    return json.dumps({"generation": generation, "base": base, "apps": table}, sort_keys=True,
                      separators=(",", ":")).encode()


class EndpointPush:
    """The table's file and socket. socket_path empty: no push (every generation renders and reloads)."""

    def __init__(self, socket_path: str, file_path: str, timeout: float = 5):
        self.socket_path = socket_path
        self.file_path = file_path
        self.timeout = timeout

    def write_file(self, body: bytes) -> None:
        """Atomically (rename): nginx's master may read it at any moment (start, reload, nginx -t)."""
        tmp = self.file_path + ".new"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        os.replace(tmp, self.file_path)

    def push(self, body: bytes) -> None:
        """PUT the table; PushFailed unless nginx answers that it took exactly these bytes."""
        if not self.socket_path:
            raise PushFailed("no endpoints_socket")
        if len(body) > MAX_BODY:
            raise PushFailed(f"table of {len(body)} bytes, more than {MAX_BODY}")
        conn = UnixConnection(self.socket_path, self.timeout)
        try:
            conn.request("PUT", "/endpoints", body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            answer = r.read(65536)
        except (OSError, http.client.HTTPException) as e:
            raise PushFailed(f"{self.socket_path}: {e}") from None
        finally:
            conn.close()
        if r.status != 200:
            raise PushFailed(f"nginx refused the table ({r.status}): {answer[:200]!r}")
        try:
            took = json.loads(answer)
            digest, apps = took["digest"], took["apps"]
        except (ValueError, TypeError, KeyError) as e:
            raise PushFailed(f"unexpected answer {answer[:200]!r}: {e}") from None
        if digest != hashlib.md5(body, usedforsecurity=False).hexdigest():
            raise PushFailed(f"nginx took another table (md5 {digest})")
        if apps != len(json.loads(body)["apps"]):
            raise PushFailed(f"nginx took {apps} apps")
