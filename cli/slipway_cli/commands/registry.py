"""registry:list, registry:set, registry:unset: a private registry's credentials for an app's images (a new
release; the password is never shown back)."""
from __future__ import annotations

from slipway_cli.context import parse_pairs
from slipway_cli.errors import CLIError
from slipway_cli.output import print_json, table

GROUP = "Registry"
KEYS = ("username", "password", "hostname")


def register(cmd):
    cmd("registry:list", do_list, "show the app's private registry settings (the password masked)", app=True,
        json=True)
    p = cmd("registry:set", do_set, "set the credentials its images are pulled with, e.g. "
            "registry:set username=team password=... (hostname=registry.example.com:5000 when the image's name "
            "does not say)", app=True)
    p.add_argument("pairs", metavar="KEY=VALUE", nargs="+")
    p = cmd("registry:unset", do_unset, "remove them, e.g. registry:unset username password", app=True)
    p.add_argument("keys", metavar="KEY", nargs="+")


def _check(keys) -> None:
    unknown = [k for k in keys if k not in KEYS]
    if unknown:
        raise CLIError(f"unknown registry setting {', '.join(unknown)} (settings: {', '.join(KEYS)})")


def do_list(ctx):
    app = ctx.app
    registry = ctx.client.config(app).get("registry") or {}
    if ctx.json:
        print_json(registry)
        return 0
    print(f"=== {app} Registry")
    print(table(sorted(registry.items()), ["KEY", "VALUE"]) if registry else "No registry credentials")
    return 0


def do_set(ctx):
    values = parse_pairs(ctx.args.pairs, "registry setting", None)
    _check(values)
    app = ctx.app
    ctx.client.set_config(app, registry=values)
    print(f"Registry settings of {app} set: {' '.join(sorted(values))} (a new release)")
    return 0


def do_unset(ctx):
    _check(ctx.args.keys)
    app = ctx.app
    ctx.client.set_config(app, registry={k: None for k in ctx.args.keys})
    print(f"Registry settings of {app} unset: {' '.join(ctx.args.keys)} (a new release)")
    return 0
