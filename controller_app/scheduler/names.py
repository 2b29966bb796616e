"""Swarm service names and the parsing of resource strings (no Docker calls here).

A service is named `<app>_<type>_<deployment>`. App ids and process types only hold `[a-z0-9-]`, so the
underscores make the name unambiguous (app `a-web` type `x` and app `a` type `web-x` differ). Swarm caps
names at 63 characters (a DNS label); a longer name keeps a truncated app and type, the deployment, and
a hash of the full triple: `<app…>_<type…>_<deployment>_<hash10>`, which cannot collide with an
untruncated name (those have three parts, not four). Names are for people: the scheduler finds its
services by labels, never by parsing names.
"""
from __future__ import annotations

import decimal
import hashlib
import re

from ..appid import APP_ID
from .base import SchedulerError

MAX_NAME = 63  # Swarm's limit for service names
HASH_LEN = 10

TYPE_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
MAX_TYPE = 30


def check_app(app: str) -> str:
    if not isinstance(app, str) or not APP_ID.match(app):
        raise SchedulerError(f"invalid app id {app!r}")
    return app


def check_type(proc_type: str) -> str:
    if not isinstance(proc_type, str) or len(proc_type) > MAX_TYPE or not TYPE_RE.match(proc_type):
        raise SchedulerError(f"invalid process type {proc_type!r}")
    return proc_type


def check_deployment(deployment: int) -> int:
    if isinstance(deployment, bool) or not isinstance(deployment, int) or deployment < 0:
        raise SchedulerError(f"invalid deployment id {deployment!r}")
    return deployment


def service_name(app: str, proc_type: str, deployment: int) -> str:
    """The Swarm service name of one process type of one deployment (≤ 63 chars, unique per triple)."""
    check_app(app)
    check_type(proc_type)
    check_deployment(deployment)
    full = f"{app}_{proc_type}_{deployment}"
    if len(full) <= MAX_NAME:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:HASH_LEN]
    dep = str(deployment)
    room = MAX_NAME - len(dep) - HASH_LEN - 3  # three underscores
    if room < 2:
        raise SchedulerError(f"deployment id {deployment} is too large")
    # keep the whole type when the app can give up room, but never less than a third for the type
    type_room = min(len(proc_type), max(room // 3, room - len(app)))
    app_room = room - type_room
    short_app = app[:app_room].rstrip("-") or app[0]
    short_type = proc_type[:type_room].rstrip("-") or proc_type[0]
    return f"{short_app}_{short_type}_{dep}_{digest}"


_MEMORY_RE = re.compile(r"^([0-9]+)([bkmg])$", re.IGNORECASE)
_MEMORY_UNITS = {"b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
MIN_MEMORY = 6 * 1024 ** 2  # Docker refuses smaller limits at container start (the task would loop)
MAX_MEMORY = 1024 ** 4


def parse_memory(value: str) -> int:
    """"256M", "1G", "512K", "1024B" -> bytes; anything else is a SchedulerError."""
    match = _MEMORY_RE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise SchedulerError(f"invalid memory limit {value!r}: use a whole number with B, K, M or G (e.g. 256M)")
    amount = int(match.group(1)) * _MEMORY_UNITS[match.group(2).lower()]
    if amount < MIN_MEMORY:
        raise SchedulerError(f"memory limit {value!r} is below the minimum of 6M")
    if amount > MAX_MEMORY:
        raise SchedulerError(f"memory limit {value!r} is too large")
    return amount


_CPU_MILLI_RE = re.compile(r"^([0-9]+)m$")
_CPU_CORES_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
MAX_CPU_NANO = 1024 * 10 ** 9


def parse_cpu(value: str) -> int:
    """"500m" (millicores) or "1.5" (cores) -> NanoCPUs; anything else is a SchedulerError."""
    text = value.strip() if isinstance(value, str) else ""
    nano = None
    if _CPU_MILLI_RE.match(text):
        nano = int(text[:-1]) * 10 ** 6
    elif _CPU_CORES_RE.match(text):
        nano = int(decimal.Decimal(text) * 10 ** 9)
    if nano is None:
        raise SchedulerError(f"invalid cpu limit {value!r}: use millicores (500m) or cores (1.5)")
    if nano < 10 ** 6:
        raise SchedulerError(f"cpu limit {value!r} is below the minimum of 1m")
    if nano > MAX_CPU_NANO:
        raise SchedulerError(f"cpu limit {value!r} is too large")
    return nano
