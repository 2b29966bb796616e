"""autoscale:list, autoscale:set, autoscale:unset: Deis's autoscale of a process type (a setting: no release).

The controller keeps the type between --min and --max tasks, aiming at --cpu-percent of each task's CPU limit
(`limits:set --cpu`), or of one core when the type has no limit. While a type is autoscaled, ps:scale refuses it.
"""
from __future__ import annotations

from slipway_cli.context import PROC_TYPE_RE
from slipway_cli.errors import CLIError
from slipway_cli.output import print_json, table

GROUP = "Autoscale"


def register(cmd):
    cmd("autoscale:list", do_list, "show the autoscaled process types", app=True, json=True)
    p = cmd("autoscale:set", do_set, "autoscale a process type, e.g. autoscale:set web --min 1 --max 4 "
            "--cpu-percent 70", app=True)
    p.add_argument("proc_type", metavar="TYPE")
    p.add_argument("--min", type=int, required=True, help="fewest processes (at least 1)")
    p.add_argument("--max", type=int, required=True, help="most processes")
    p.add_argument("--cpu-percent", type=int, required=True,
                   help="target CPU use per process, in percent of its CPU limit (or of one core without one)")
    p = cmd("autoscale:unset", do_unset, "stop autoscaling a process type (its count stays as it is)", app=True)
    p.add_argument("proc_type", metavar="TYPE")


def _type(name: str) -> str:
    if not PROC_TYPE_RE.match(name):
        raise CLIError(f"invalid process type {name!r}")
    return name


def do_list(ctx):
    app = ctx.app
    spec = ctx.client.settings(app).get("autoscale") or {}
    if ctx.json:
        print_json(spec)
        return 0
    print(f"=== {app} Autoscale")
    if not spec:
        print("No autoscaled process types")
        return 0
    rows = [[t, s.get("min"), s.get("max"), f"{s.get('cpu_percent')}%"] for t, s in sorted(spec.items())]
    print(table(rows, ["TYPE", "MIN", "MAX", "CPU TARGET"]))
    return 0


def do_set(ctx):
    a = ctx.args
    proc = _type(a.proc_type)
    if a.min < 1 or a.max < a.min:
        raise CLIError(f"--min must be at least 1 and --max at least --min (got {a.min} and {a.max})")
    if a.cpu_percent < 1:
        raise CLIError("--cpu-percent must be at least 1")
    ctx.client.set_settings(ctx.app, autoscale={proc: {"min": a.min, "max": a.max, "cpu_percent": a.cpu_percent}})
    print(f"Autoscaling {proc} of {ctx.app}: {a.min} to {a.max} processes at {a.cpu_percent}% CPU")
    return 0


def do_unset(ctx):
    proc = _type(ctx.args.proc_type)
    ctx.client.set_settings(ctx.app, autoscale={proc: None})
    print(f"Stopped autoscaling {proc} of {ctx.app}")
    return 0
