"""Config deltas: validate, merge onto the last good config, describe the change."""
from __future__ import annotations

import re

from .. import probes
from ..models import Config
from . import sealing
from .errors import FieldError, Unprocessable
from .names import PROC_TYPE

KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MEMORY = re.compile(r"^[0-9]+[BKMGbkmg]$")
CPU = re.compile(r"^([0-9]+m|[0-9]+(\.[0-9]+)?)$")
TAG = re.compile(r"^[A-Za-z0-9_.-]{1,63}$")
PLATFORM_KEYS = {"SLIPWAY_APP", "SLIPWAY_RELEASE"}
FIELDS = ("values", "memory", "cpu", "tags", "healthcheck", "registry")
# a private registry's credentials (Deis's registry:set): user and password, and the registry's host name when the
# images are not named by it (Deis's `hostname`); shown with the password masked, kept sealed
REGISTRY_KEYS = ("username", "password", "hostname")
REGISTRY_HOST = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$")
MASK = "********"
LIMITS = {"max_values": 500, "max_value_bytes": 32768}


class ConfigError(ValueError):
    """A value the config refuses: answered 400 with the field it came in ({"healthcheck": ["..."]})."""


def _check_value(field: str, key: str, value) -> object:
    if field == "values":
        if not KEY.match(key):
            raise ConfigError(f"Config keys must start with a letter or underscore and contain only letters, "
                              f"digits and underscores: {key!r}")
        if key in PLATFORM_KEYS:
            raise ConfigError(f"{key} is set by the platform")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if len(text.encode()) > LIMITS["max_value_bytes"]:
            raise ConfigError(f"{key} is larger than {LIMITS['max_value_bytes']} bytes")
        if key == "PORT" and (not text.isdigit() or not 1 <= int(text) <= 65535):
            raise ConfigError("PORT must be an integer between 1 and 65535")
        return text
    if field == "registry":
        text = str(value)
        if key not in REGISTRY_KEYS:
            raise ConfigError(f"{key!r} is not a registry setting ({', '.join(REGISTRY_KEYS)})")
        if not 0 < len(text) <= 1024 or not text.isprintable():
            raise ConfigError(f"The registry's {key} must be 1 to 1024 printable characters")
        if key == "hostname" and not REGISTRY_HOST.match(text.lower()):
            raise ConfigError(f"{text!r} is not a registry host name (host or host:port)")
        return text.lower() if key == "hostname" else text
    if field == "tags":
        if not TAG.match(key) or not TAG.match(str(value)):
            raise ConfigError(f"Tags must be labels of letters, digits, '_', '.', '-': {key}={value}")
        return str(value)
    if not PROC_TYPE.match(key):
        raise ConfigError(f"{key!r} is not a valid process type")
    if field == "memory":
        if not MEMORY.match(str(value)):
            raise ConfigError(f"Memory limit for {key} must be a number with a unit B, K, M or G: {value!r}")
        return str(value).upper()
    if field == "cpu":
        if not CPU.match(str(value)) or float(str(value).rstrip("m") or 0) == 0:
            raise ConfigError(f"CPU limit for {key} must be millicores like 500m or cores like 1.5: {value!r}")
        return str(value)
    try:  # healthcheck
        return probes.check(key, value)
    except probes.ProbeError as exc:
        raise ConfigError(str(exc)) from None


def apply(current: dict, delta: dict, field: str, check=lambda key, value: value) -> tuple[dict, dict[str, list]]:
    """`delta` onto `current` (neither changed): a value sets a key (as `check` returns it), null unsets one (422,
    as Deis, when it is not set). The result, and the keys "added", "changed" and "removed"."""
    out, keys = dict(current), {"added": [], "changed": [], "removed": []}
    for key, value in delta.items():
        if value is None:
            if key not in out:
                raise Unprocessable(f"{key} does not exist under {field}")
            del out[key]
            keys["removed"].append(key)
            continue
        try:
            new = check(key, value)
        except ConfigError as exc:
            raise FieldError(field, str(exc)) from None
        if key not in out:
            keys["added"].append(key)
        elif out[key] != new:
            keys["changed"].append(key)
        out[key] = new
    return out, keys


def merge(base: Config | None, delta: dict, routable: str = "cmd") -> tuple[dict, list[str]]:
    """`delta` onto `base`: the new config's fields (a Config's keyword arguments) and the summary fragments
    ("added FOO", ...). The registry's credentials are opened, and sealed again, only when the delta names them.
    A health check for Deis's `web/cmd` is the app's routable type's (`routable`: web or cmd)."""
    result = {f: dict(getattr(base, f) or {}) if base else {} for f in FIELDS}
    result["registry_sealed"] = base.registry_sealed if base else ""
    changes: list[str] = []
    for field in FIELDS:
        items = delta.get(field)
        if items is None:
            continue
        current = sealing.unseal(result["registry_sealed"]) if field == "registry" else result[field]
        if field == "healthcheck":
            try:
                items = probes.resolve(items, routable)
            except probes.ProbeError as exc:
                raise FieldError(field, str(exc)) from None
        result[field], keys = apply(current, items, field, lambda key, value: _check_value(field, key, value))
        if len(result["values"]) > LIMITS["max_values"]:
            raise FieldError("values", f"An app can have at most {LIMITS['max_values']} config values")
        if field == "registry":
            if result["registry"] and not {"username", "password"} <= set(result["registry"]):
                raise FieldError("registry", "The registry needs a username and a password (and is unset with both)")
            result["registry_sealed"] = sealing.seal(result["registry"])
            result["registry"] = {k: MASK if k == "password" else v for k, v in result["registry"].items()}
        label = "" if field == "values" else f" {field}"
        for verb, names in keys.items():
            if names:
                changes.append(f"{verb}{label} {', '.join(sorted(names))}")
    return result, changes
