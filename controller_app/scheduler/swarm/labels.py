"""The labels the Swarm backend puts on services and containers: it finds its objects by these labels,
never by parsing names (see scheduler.py)."""
from __future__ import annotations

import json

L_APP = "slipway.app"
L_RELEASE = "slipway.release"
L_DEPLOYMENT = "slipway.deployment"
L_TYPE = "slipway.type"
L_MANAGED = "slipway.managed"
L_ONEOFF = "slipway.oneoff"
L_SESSION_DEADLINE = "slipway.session-deadline"  # interactive one-offs: unix time after which any may remove it
L_SWARM_SERVICE = "com.docker.swarm.service.id"
L_HEALTHCHECK = "slipway.healthcheck"  # containers of routable types: the check the node agent probes with
# the timeouts the node agent accepts (agents/slipway_agents/nodetasks.py): a label outside them is refused whole
HEALTHCHECK_TIMEOUT = (0.1, 30.0)


def healthcheck_label(check: dict | None) -> str | None:
    """A release's health check as the node agent reads it: the path and the timeout (brought within the
    agent's range) only; None when the check sets neither (the agent's default check)."""
    out: dict = {}
    if isinstance(check, dict):
        if isinstance(check.get("path"), str):
            out["path"] = check["path"]
        timeout = check.get("timeout")
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
            low, high = HEALTHCHECK_TIMEOUT
            out["timeout"] = min(max(float(timeout), low), high)
    return json.dumps(out, sort_keys=True, separators=(",", ":")) if out else None
