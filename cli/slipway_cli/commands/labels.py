"""labels:list, labels:set, labels:unset: free key/value labels of an app (a setting: no new release)."""
from __future__ import annotations

import re

from slipway_cli.context import parse_pairs
from slipway_cli.errors import CLIError
from slipway_cli.output import print_json, table

GROUP = "Labels"
# the controller checks labels as Deis (Kubernetes) spells them; this only catches typos early
LABEL_RE = re.compile(r"([a-z0-9.-]+/)?[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?\Z")


def register(cmd):
    cmd("labels:list", do_list, "show the app's labels", app=True, json=True)
    p = cmd("labels:set", do_set, "label the app, e.g. labels:set team=shop git_repo=example.com-shop.git",
            app=True)
    p.add_argument("pairs", metavar="KEY=VALUE", nargs="+")
    p = cmd("labels:unset", do_unset, "remove labels", app=True)
    p.add_argument("keys", metavar="KEY", nargs="+")


def do_list(ctx):
    app = ctx.app
    labels = ctx.client.settings(app).get("label") or {}
    if ctx.json:
        print_json(labels)
        return 0
    print(f"=== {app} Labels")
    print(table(sorted(labels.items()), ["KEY", "VALUE"]) if labels else "No labels")
    return 0


def do_set(ctx):
    labels = parse_pairs(ctx.args.pairs, "label", LABEL_RE, "letters, digits, . _ - (and a prefix/)")
    app = ctx.app
    ctx.client.set_settings(app, label=labels)
    print(f"Labels of {app} set: " + " ".join(f"{k}={v}" for k, v in labels.items()))
    return 0


def do_unset(ctx):
    for key in ctx.args.keys:
        if not LABEL_RE.match(key):
            raise CLIError(f"invalid label {key!r}")
    app = ctx.app
    ctx.client.set_settings(app, label={k: None for k in ctx.args.keys})
    print(f"Labels of {app} unset: {' '.join(ctx.args.keys)}")
    return 0
