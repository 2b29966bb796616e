"""The commands of a name-to-value mapping of an app (tags, labels, registry settings): `<group>:list` shows it,
`<group>:set KEY=VALUE...` and `<group>:unset KEY...` send a delta (null unsets) to the controller."""
from __future__ import annotations

import dataclasses
import re
from typing import Callable

from slipway_cli.context import parse_pairs
from slipway_cli.errors import CLIError
from slipway_cli.output import print_json, table


@dataclasses.dataclass(frozen=True)
class Mapping:
    group: str  # "tags"
    title: str  # "Tags", as `<app> Tags`
    noun: str  # "tag", in messages
    key_re: re.Pattern
    key_desc: str
    read: Callable  # (client, app) -> dict
    write: Callable  # (client, app, delta) -> None
    note: str = ""  # added to the set/unset messages, e.g. " (a new release)"
    echo_values: bool = True  # False: `set` names the keys only (a password is never printed)

    def register(self, cmd, list_help: str, set_help: str, unset_help: str) -> None:
        cmd(f"{self.group}:list", self.do_list, list_help, app=True, json=True)
        p = cmd(f"{self.group}:set", self.do_set, set_help, app=True)
        p.add_argument("pairs", metavar="KEY=VALUE", nargs="+")
        p = cmd(f"{self.group}:unset", self.do_unset, unset_help, app=True)
        p.add_argument("keys", metavar="KEY", nargs="+")

    def do_list(self, ctx):
        app = ctx.app
        values = self.read(ctx.client, app) or {}
        if ctx.json:
            print_json(values)
            return 0
        print(f"=== {app} {self.title}")
        print(table(sorted(values.items()), ["KEY", "VALUE"]) if values else f"No {self.title.lower()}")
        return 0

    def do_set(self, ctx):
        values = parse_pairs(ctx.args.pairs, self.noun, self.key_re, self.key_desc)
        app = ctx.app
        self.write(ctx.client, app, values)
        shown = (f"{k}={v}" if self.echo_values else k for k, v in values.items())
        print(f"{self.title} of {app} set: {' '.join(shown)}{self.note}")
        return 0

    def do_unset(self, ctx):
        for key in ctx.args.keys:
            if not self.key_re.match(key):
                raise CLIError(f"invalid {self.noun} {key!r}: expected {self.key_desc}")
        app = ctx.app
        self.write(ctx.client, app, {k: None for k in ctx.args.keys})
        print(f"{self.title} of {app} unset: {' '.join(ctx.args.keys)}{self.note}")
        return 0
