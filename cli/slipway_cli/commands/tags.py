"""tags:list, tags:set, tags:unset (placement constraints on node labels)."""
from __future__ import annotations

import re

from slipway_cli.errors import CLIError
from slipway_cli.context import parse_pairs
from slipway_cli.output import print_json, table

GROUP = "Tags"
TAG_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?\Z")


def register(cmd):
    cmd("tags:list", do_list, "show the app's placement tags", app=True, json=True)
    p = cmd("tags:set", do_set, "run the app only on nodes with these labels, e.g. tags:set zone=eu (a new release)",
            app=True)
    p.add_argument("pairs", metavar="KEY=VALUE", nargs="+")
    p = cmd("tags:unset", do_unset, "remove placement tags (a new release)", app=True)
    p.add_argument("keys", metavar="KEY", nargs="+")


def do_list(ctx):
    app = ctx.app
    tags = ctx.client.config(app).get("tags") or {}
    if ctx.json:
        print_json(tags)
        return 0
    print(f"=== {app} Tags")
    print(table(sorted(tags.items()), ["KEY", "VALUE"]) if tags else "No tags")
    return 0


def do_set(ctx):
    tags = parse_pairs(ctx.args.pairs, "tag", TAG_RE, "letters, digits, . _ / -")
    app = ctx.app
    ctx.client.set_config(app, tags=tags)
    print(f"Tags of {app} set: " + " ".join(f"{k}={v}" for k, v in tags.items()))
    return 0


def do_unset(ctx):
    for k in ctx.args.keys:
        if not TAG_RE.match(k):
            raise CLIError(f"invalid tag {k!r}")
    app = ctx.app
    ctx.client.set_config(app, tags={k: None for k in ctx.args.keys})
    print(f"Tags of {app} unset: {' '.join(ctx.args.keys)}")
    return 0
