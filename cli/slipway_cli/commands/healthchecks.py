"""healthchecks:list, healthchecks:set, healthchecks:unset (HTTP health checks per process type)."""
from __future__ import annotations

from slipway_cli.errors import CLIError
from slipway_cli.context import PROC_TYPE_RE
from slipway_cli.output import print_json, table

GROUP = "Health checks"

# No port: the controller probes each process on its own $PORT only.
FIELDS = ["path", "timeout", "interval", "initial_delay", "healthy_threshold"]


def register(cmd):
    cmd("healthchecks:list", do_list, "show the health checks per process type", app=True, json=True)
    p = cmd("healthchecks:set", do_set,
            "set the HTTP health check of a process type (default web) (a new release)", app=True)
    p.add_argument("proc_type", metavar="TYPE", nargs="?", default="web")
    p.add_argument("--path", help="HTTP path to GET (default /)")
    p.add_argument("--timeout", type=float, help="seconds per probe")
    p.add_argument("--interval", type=float, help="seconds between probes")
    p.add_argument("--initial-delay", type=float, help="seconds before the first probe")
    p.add_argument("--healthy-threshold", type=int, help="successes needed to be healthy")
    p = cmd("healthchecks:unset", do_unset, "remove health checks (back to the default) (a new release)", app=True)
    p.add_argument("types", metavar="TYPE", nargs="*", help="process types (default web)")


def _check(t):
    if not PROC_TYPE_RE.match(t):
        raise CLIError(f"invalid process type {t!r}")


def do_list(ctx):
    app = ctx.app
    cfg = ctx.client.config(app)
    hc = cfg.get("healthcheck") or {}
    if ctx.json:
        print_json(hc)
        return 0
    print(f"=== {app} Health checks")
    if not hc:
        print("Default (HTTP GET / on $PORT) for every type")
        return 0
    rows = [[t] + [(v or {}).get(f) for f in FIELDS] for t, v in sorted(hc.items())]
    print(table(rows, ["TYPE", "PATH", "TIMEOUT", "INTERVAL", "INITIAL DELAY", "HEALTHY THRESHOLD"]))
    return 0


def _num(v):
    return int(v) if isinstance(v, float) and v.is_integer() else v


def do_set(ctx):
    a = ctx.args
    _check(a.proc_type)
    given = {"path": a.path, "timeout": _num(a.timeout), "interval": _num(a.interval),
             "initial_delay": _num(a.initial_delay), "healthy_threshold": a.healthy_threshold}
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        raise CLIError("nothing to set: give at least one of --path, --timeout, --interval, "
                       "--initial-delay, --healthy-threshold")
    if "path" in given and not given["path"].startswith("/"):
        raise CLIError("--path must start with /")
    app = ctx.app
    current = (ctx.client.config(app).get("healthcheck") or {}).get(a.proc_type) or {}
    check = dict({k: v for k, v in current.items() if k in FIELDS}, **given)
    ctx.client.set_config(app, healthcheck={a.proc_type: check})
    print(f"Health check of {app} {a.proc_type} set: " + ", ".join(f"{k}={v}" for k, v in check.items()))
    return 0


def do_unset(ctx):
    types = ctx.args.types or ["web"]
    for t in types:
        _check(t)
    app = ctx.app
    ctx.client.set_config(app, healthcheck={t: None for t in types})
    print(f"Health checks of {app} unset: {' '.join(types)}")
    return 0
