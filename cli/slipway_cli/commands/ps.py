"""ps:list, ps:scale, ps:restart, ps:history."""
from __future__ import annotations

from slipway_cli.context import PROC_TYPE_RE, parse_scale
from slipway_cli.errors import CLIError
from slipway_cli.client import q
from slipway_cli.output import print_json, records_table, short_date

GROUP = "Processes"

COLUMNS = [("NAME", "name"), ("TYPE", "type"), ("RELEASE", "release"), ("STATE", "state"), ("NODE", "node"),
           ("STARTED", "started")]


def register(cmd):
    p = cmd("ps:list", do_list, "list an app's processes", app=True, json=True)
    p.add_argument("proc_type", metavar="TYPE", nargs="?", help="only this process type")

    p = cmd("ps:scale", do_scale, "set the number of processes per type, e.g. ps:scale web=3 worker=1", app=True)
    p.add_argument("pairs", metavar="TYPE=N", nargs="+")

    p = cmd("ps:restart", do_restart, "restart all processes, those of a TYPE, or one process", app=True,
            json=True)
    p.add_argument("proc_type", metavar="TYPE", nargs="?")
    p.add_argument("name", metavar="NAME", nargs="?", help="one process (see ps:list)")

    cmd("ps:history", do_history, "every change of the app's processes: releases, scales, autoscaling, restarts",
        app=True, json=True)


def _check_type(t):
    if t and not PROC_TYPE_RE.match(t):
        raise CLIError(f"invalid process type {t!r}")


def _pods_table(pods):
    rows = [dict(p, started=short_date(p.get("started"))) for p in pods]
    return records_table(rows, COLUMNS)


def do_list(ctx):
    _check_type(ctx.args.proc_type)
    app = ctx.app
    body = ctx.client.pods(app, ctx.args.proc_type)
    if ctx.json:
        print_json(body)
        return 0
    pods = body.get("results", []) if isinstance(body, dict) else body
    print(f"=== {app} Processes")
    print(_pods_table(pods) if pods else "No processes running")
    return 0


def do_scale(ctx):
    structure = parse_scale(ctx.args.pairs)
    app = ctx.app
    ctx.client.scale(app, structure)
    print(f"Scaled {app}: " + " ".join(f"{k}={v}" for k, v in structure.items()))
    return 0


def do_restart(ctx):
    a = ctx.args
    _check_type(a.proc_type)
    app = ctx.app
    pods = ctx.client.restart(app, a.proc_type, a.name)
    if ctx.json:
        print_json(pods)
        return 0
    what = f"{a.proc_type}/{a.name}" if a.name else (a.proc_type or "all processes")
    print(f"Restarted {what} of {app}")
    if isinstance(pods, dict):
        pods = pods.get("results", [])
    if pods:
        print(_pods_table(pods))
    return 0


HISTORY = [("WHEN", "created"), ("RELEASE", "release"), ("PROCESSES", "processes"), ("STATUS", "status"),
           ("CAUSE", "cause")]


def do_history(ctx):
    app = ctx.app
    body = ctx.client.get_list(f"/v2/apps/{q(app)}/deployments/")
    if ctx.json:
        print_json(body)
        return 0
    rows = [dict(d, created=short_date(d.get("created")), cause=d.get("cause") or d.get("reason") or "",
                 processes=" ".join(f"{t}={n}" for t, n in sorted((d.get("structure") or {}).items())))
            for d in body.get("results", [])]
    print(f"=== {app} Process history")
    print(records_table(rows, HISTORY) if rows else "No deployments yet")
    return 0
