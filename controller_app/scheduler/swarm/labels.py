"""The labels the Swarm backend puts on services and containers: it finds its objects by these labels,
never by parsing names (see scheduler.py)."""
from __future__ import annotations

import json

from ... import probes

L_APP = "slipway.app"
L_RELEASE = "slipway.release"
L_DEPLOYMENT = "slipway.deployment"
L_TYPE = "slipway.type"
L_MANAGED = "slipway.managed"
L_ONEOFF = "slipway.oneoff"
L_SESSION_DEADLINE = "slipway.session-deadline"  # interactive one-offs: unix time after which any may remove it
L_SWARM_SERVICE = "com.docker.swarm.service.id"
L_HEALTHCHECK = "slipway.healthcheck"  # containers of a type with a health check: the probes the node agent runs
AGENT_NAMES = {probes.READINESS: "readiness", probes.LIVENESS: "liveness"}
AGENT_KINDS = {"httpGet": "http", "tcpSocket": "tcp", "exec": "exec"}
AGENT_TIMINGS = {"timeoutSeconds": "timeout", "periodSeconds": "period", "initialDelaySeconds": "initial_delay",
                 "successThreshold": "success", "failureThreshold": "failure"}


def _agent_probe(probe, port: int) -> dict | None:
    """One stored probe as the agent reads it: {"kind", its handler's keys, the timings}; `port` null means
    the task's own PORT (also written for the port equal to `port`, the app's PORT)."""
    kind, spec = probes.handler(probe) if isinstance(probe, dict) else ("", {})
    if not kind:
        return None
    out: dict = {"kind": AGENT_KINDS[kind]}
    if kind == "exec":
        out["command"] = [str(a) for a in spec.get("command") or []]
    else:
        out["port"] = None if spec.get("port") in (None, port) else spec["port"]
    if kind == "httpGet":
        out["path"] = spec.get("path", "/")
        out["headers"] = [[h.get("name"), h.get("value")] for h in spec.get("httpHeaders") or []]
    for field, name in AGENT_TIMINGS.items():
        value = probe.get(field, probes.DEFAULTS[field])
        low, high = probes.BOUNDS[field]
        out[name] = min(max(value, low), high) if isinstance(value, int) else probes.DEFAULTS[field]
    return out


def healthcheck_label(check: dict | None, port: int) -> str | None:
    """A type's health check (probes.py's shape) as the node agent reads it, compact JSON:
    {"readiness": Q, "liveness": Q}, each present only when set; None without a probe (the agent's default)."""
    out = {}
    for name, agent_name in AGENT_NAMES.items():
        probe = _agent_probe(check.get(name), port) if isinstance(check, dict) else None
        if probe:
            out[agent_name] = probe
    return json.dumps(out, sort_keys=True, separators=(",", ":")) if out else None
