"""Health checks in Deis Workflow's shape (Kubernetes container probes), per process type:

    {"<type>": {"livenessProbe": P, "readinessProbe": P}}   (either may be absent)
    P = {"initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold",
         and exactly one handler: "httpGet": {"path", "port"?, "httpHeaders": [{"name", "value"}]},
         "tcpSocket": {"port"?} or "exec": {"command": ["argv0", ...]}}

A handler without a port probes the process's own PORT. Values are checked strictly (`check`) and stored complete
(Kubernetes' defaults filled in). The shape before it, {"<type>": {"path", "timeout", "interval", "initial_delay",
"healthy_threshold"}}, is still taken and becomes a readiness `httpGet` probe (`from_old`; migration 0009 converts
the stored ones the same way). Every value comes from a tenant: nothing here trusts it.
"""
from __future__ import annotations

import math
import re

LIVENESS, READINESS = "livenessProbe", "readinessProbe"
PROBES = (LIVENESS, READINESS)
HANDLERS = ("httpGet", "tcpSocket", "exec")
DEFAULTS = {"initialDelaySeconds": 0, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
            "failureThreshold": 3}
BOUNDS = {"initialDelaySeconds": (0, 3600), "timeoutSeconds": (1, 60), "periodSeconds": (1, 3600),
          "successThreshold": (1, 100), "failureThreshold": (1, 100)}
# the former shape's fields and the probe fields they become (its `path` becomes the httpGet handler's)
OLD = {"timeout": "timeoutSeconds", "interval": "periodSeconds", "initial_delay": "initialDelaySeconds",
       "healthy_threshold": "successThreshold"}
OLD_RANGE = (0, 600)
ROUTABLE_ALIAS = "web/cmd"  # Deis's key for the app's routable type (web if the app has one, else cmd)
PATH = re.compile(r"^/[\x21-\x7e]{0,1023}$")  # printable ASCII, no space, no CR/LF
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")  # an HTTP token
HEADER_VALUE = re.compile(r"^[\x20-\x7e]{0,1024}$")
MAX_HEADERS, MAX_ARGS, MAX_ARG = 10, 32, 1024


class ProbeError(ValueError):
    """A health check refused, with the reason in words for the API's user."""


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _port(where: str, spec: dict, out: dict) -> None:
    port = spec.get("port")
    if port is None:
        return
    if isinstance(port, str):
        raise ProbeError(f"{where} port must be a number: named ports are not supported")
    if not _int(port) or not 1 <= port <= 65535:
        raise ProbeError(f"{where} port must be between 1 and 65535")
    out["port"] = port


def _keys(where: str, value, allowed) -> dict:
    if not isinstance(value, dict):
        raise ProbeError(f"{where} must be an object")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ProbeError(f"{where} has unknown fields: {', '.join(map(str, unknown))[:200]} (known: "
                         f"{', '.join(allowed)})")
    return value


def _http(where: str, spec) -> dict:
    spec = _keys(where, spec, ("path", "port", "httpHeaders"))
    path = spec.get("path", "/")
    if not isinstance(path, str) or not PATH.match(path):
        raise ProbeError(f"{where} path must start with '/' and be printable ASCII without spaces "
                         f"(at most 1024 characters)")
    out: dict = {"path": path}
    _port(where, spec, out)
    headers = spec.get("httpHeaders") or []
    if not isinstance(headers, list) or len(headers) > MAX_HEADERS:
        raise ProbeError(f"{where} httpHeaders must be a list of at most {MAX_HEADERS} headers")
    out["httpHeaders"] = []
    for header in headers:
        header = _keys(f"{where} header", header, ("name", "value"))
        name, value = header.get("name"), header.get("value", "")
        if not isinstance(name, str) or not HEADER_NAME.match(name):
            raise ProbeError(f"{where} header name {str(name)[:80]!r} is not an HTTP token")
        if not isinstance(value, str) or not HEADER_VALUE.match(value):
            raise ProbeError(f"{where} header {name} value must be printable ASCII (at most 1024 characters)")
        out["httpHeaders"].append({"name": name, "value": value})
    return out


def _tcp(where: str, spec) -> dict:
    out: dict = {}
    _port(where, _keys(where, spec, ("port",)), out)
    return out


def _exec(where: str, spec) -> dict:
    command = _keys(where, spec, ("command",)).get("command")
    if (not isinstance(command, list) or not 1 <= len(command) <= MAX_ARGS
            or not all(isinstance(a, str) and len(a) <= MAX_ARG and "\x00" not in a for a in command)
            or not command[0]):
        raise ProbeError(f"{where} command must be a list of 1 to {MAX_ARGS} strings (the program first) of at "
                         f"most {MAX_ARG} characters")
    return {"command": list(command)}


def _probe(proc: str, name: str, probe) -> dict:
    where = f"{name} of {proc}"
    probe = _keys(where, probe, (*DEFAULTS, *HANDLERS))
    out = {}
    for field, default in DEFAULTS.items():
        value = default if probe.get(field) is None else probe[field]
        low, high = BOUNDS[field]
        if not _int(value) or not low <= value <= high:
            raise ProbeError(f"{where}: {field} must be an integer between {low} and {high}")
        out[field] = value
    if name == LIVENESS and out["successThreshold"] != 1:
        raise ProbeError(f"{where}: successThreshold must be 1 for a liveness probe")
    handlers = [h for h in HANDLERS if h in probe]
    if len(handlers) != 1:
        raise ProbeError(f"{where} needs exactly one of {', '.join(HANDLERS)}")
    build = {"httpGet": _http, "tcpSocket": _tcp, "exec": _exec}[handlers[0]]
    out[handlers[0]] = build(f"{where} {handlers[0]}", probe[handlers[0]])
    return out


def is_old(value: dict) -> bool:
    """Whether a type's health check is in the former shape (any field but the probes: refused by `check` when
    it is not a former field)."""
    return bool(value) and not set(value) & set(PROBES)


def _ceil(value, field: str) -> int:
    low, high = BOUNDS[field]
    return min(max(math.ceil(value), low), high)


def from_old(value: dict, strict: bool = True) -> dict:
    """A former check as a readiness httpGet probe (on PORT): timeout, interval and initial delay rounded up to
    whole seconds and brought within the probe's bounds. `strict`: a field that is unknown or of the wrong type
    is refused (else left out, as the migration of stored checks does, and a path that is not valid any more
    becomes '/')."""
    probe: dict = {}
    path = "/"
    for name, item in value.items():
        if name in ("port", "host"):
            if strict:
                raise ProbeError(f"Health checks in this form probe the process's own PORT: {name!r} cannot be "
                                 f"set (set PORT in the config values, or give an httpGet probe its port)")
            continue
        if name == "path":
            if isinstance(item, str) and PATH.match(item):
                path = item
            elif strict:
                raise ProbeError("Health check path must start with '/' and be printable ASCII without spaces")
            continue
        number = isinstance(item, (int, float)) and not isinstance(item, bool) and math.isfinite(item)
        if name not in OLD or not (_int(item) if name == "healthy_threshold" else number):
            if strict:
                raise ProbeError(f"Health check field {str(name)[:80]!r} is unknown or has the wrong type")
            continue
        if strict and not OLD_RANGE[0] <= item <= OLD_RANGE[1]:
            raise ProbeError(f"Health check {name} is out of range")
        probe[OLD[name]] = _ceil(item, OLD[name])
    probe["httpGet"] = {"path": path}
    return {READINESS: _probe("the check", READINESS, probe)}


def check(proc: str, value) -> dict:
    """A type's health check as it is stored: validated, the former shape converted, defaults filled in."""
    if not isinstance(value, dict):
        raise ProbeError(f"Health check for {proc} must be an object")
    if is_old(value):
        return from_old(value)
    _keys(f"Health check for {proc}", value, PROBES)
    return {name: _probe(proc, name, value[name]) for name in PROBES if name in value}


def resolve(types: dict, routable: str) -> dict:
    """A delta's process types with Deis's `web/cmd` as the app's routable type (`routable`)."""
    out = {}
    for key, value in types.items():
        real = routable if key == ROUTABLE_ALIAS else key
        if real in out:
            raise ProbeError(f"{ROUTABLE_ALIAS} and {real} name the same process type: give one")
        out[real] = value
    return out


def readiness(check_value) -> dict | None:
    """A stored check's readiness probe (None: the default check)."""
    probe = (check_value or {}).get(READINESS) if isinstance(check_value, dict) else None
    return probe if isinstance(probe, dict) else None


def handler(probe: dict) -> tuple[str, dict]:
    """(handler name, its spec) of a stored probe; ("", {}) for one without a known handler."""
    name = next((h for h in HANDLERS if isinstance(probe.get(h), dict)), "")
    return name, (probe.get(name) or {}) if name else {}


def on_port(probe: dict, port: int) -> bool:
    """Whether an httpGet or tcpSocket probe targets the process's own PORT (`port`)."""
    name, spec = handler(probe)
    return name in ("httpGet", "tcpSocket") and spec.get("port") in (None, port)
