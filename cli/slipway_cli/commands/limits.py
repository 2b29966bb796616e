"""limits:list, limits:set, limits:unset (memory and CPU per process type)."""
from __future__ import annotations

import re

from slipway_cli.errors import CLIError
from slipway_cli.context import PROC_TYPE_RE, parse_pairs
from slipway_cli.output import print_json, table

GROUP = "Limits"


def register(cmd):
    cmd("limits:list", do_list, "show memory and CPU limits per process type", app=True, json=True)
    p = cmd("limits:set", do_set, "set limits, e.g. limits:set web=512M, limits:set --cpu web=500m (a new release)",
            app=True)
    _kind(p)
    p.add_argument("pairs", metavar="TYPE=LIMIT", nargs="+")
    p = cmd("limits:unset", do_unset, "remove limits for process types (a new release)", app=True)
    _kind(p)
    p.add_argument("types", metavar="TYPE", nargs="+")


def _kind(p):
    g = p.add_mutually_exclusive_group()
    g.add_argument("-m", "--memory", dest="kind", action="store_const", const="memory",
                   help="memory limits, e.g. 256M, 1G (the default)")
    g.add_argument("-c", "--cpu", dest="kind", action="store_const", const="cpu",
                   help="CPU limits, e.g. 500m (millicores) or 1.5 (cores)")
    p.set_defaults(kind="memory")


def normalize_memory(value: str) -> str:
    """`512m`/`512MB`/`512 M` -> `512M`; the server checks `[0-9]+[BKMG]`."""
    v = value.strip().upper().replace(" ", "")
    m = re.fullmatch(r"([0-9]+)([BKMG])B?", v)
    if not m:
        raise CLIError(f"invalid memory limit {value!r}: expected a number and a unit B, K, M or G (e.g. 512M)")
    return m.group(1) + m.group(2)


def normalize_cpu(value: str) -> str:
    v = value.strip()
    if not re.fullmatch(r"[0-9]+m|[0-9]+(\.[0-9]+)?", v):
        raise CLIError(f"invalid CPU limit {value!r}: expected millicores like 500m or cores like 1.5")
    return v


def do_list(ctx):
    app = ctx.app
    cfg = ctx.client.config(app)
    if ctx.json:
        print_json({"memory": cfg.get("memory") or {}, "cpu": cfg.get("cpu") or {}})
        return 0
    memory, cpu = cfg.get("memory") or {}, cfg.get("cpu") or {}
    types = sorted(set(memory) | set(cpu))
    print(f"=== {app} Limits")
    if not types:
        print("Unlimited")
        return 0
    print(table([[t, memory.get(t, "unlimited"), cpu.get(t, "unlimited")] for t in types],
                ["TYPE", "MEMORY", "CPU"]))
    return 0


def do_set(ctx):
    a = ctx.args
    pairs = parse_pairs(a.pairs, "TYPE", PROC_TYPE_RE, "lowercase letters, digits and -")
    norm = normalize_memory if a.kind == "memory" else normalize_cpu
    limits = {t: norm(v) for t, v in pairs.items()}
    app = ctx.app
    ctx.client.set_config(app, **{a.kind: limits})
    print(f"Set {a.kind} limits for {app}: " + " ".join(f"{k}={v}" for k, v in limits.items()))
    return 0


def do_unset(ctx):
    a = ctx.args
    for t in a.types:
        if not PROC_TYPE_RE.match(t):
            raise CLIError(f"invalid process type {t!r}")
    app = ctx.app
    ctx.client.set_config(app, **{a.kind: {t: None for t in a.types}})
    print(f"Unset {a.kind} limits for {app}: {' '.join(a.types)}")
    return 0
