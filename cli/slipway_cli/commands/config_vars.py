"""config:list, config:set, config:unset, config:pull, config:push."""
from __future__ import annotations

import os
import sys

from slipway_cli import dotenv
from slipway_cli.errors import CLIError
from slipway_cli.context import KEY_RE, parse_pairs
from slipway_cli.output import cell, print_json

GROUP = "Config"


def register(cmd):
    p = cmd("config:list", do_list, "list an app's environment variables", app=True, json=True)
    p.add_argument("--oneline", action="store_true", help="print KEY=VALUE pairs on one line")

    p = cmd("config:set", do_set, "set environment variables (a new release)", app=True)
    p.add_argument("pairs", metavar="KEY=VALUE", nargs="+")

    p = cmd("config:unset", do_unset, "unset environment variables (a new release)", app=True)
    p.add_argument("keys", metavar="KEY", nargs="+")

    p = cmd("config:pull", do_pull, "write the app's environment to .env", app=True)
    p.add_argument("--path", default=".env", help="file to write (default .env; - for stdout)")
    p.add_argument("-o", "--overwrite", action="store_true",
                   help="let the app's values replace values already in the file (default: keep the file's)")

    p = cmd("config:push", do_push, "set the app's environment from .env (a new release)", app=True)
    p.add_argument("--path", default=".env", help="file to read (default .env)")


def show_values(app: str, values: dict, oneline: bool = False) -> None:
    if oneline:
        print(" ".join(f"{k}={dotenv.quote(str(v))}" for k, v in sorted(values.items())))
        return
    print(f"=== {app} Config")
    if not values:
        print("No config vars set")
        return
    width = max(len(k) for k in values)
    for k, v in sorted(values.items()):
        print(f"{k:<{width}}  {cell(v)}".rstrip())


def do_list(ctx):
    app = ctx.app
    cfg = ctx.client.config(app)
    if ctx.json:
        print_json(cfg)
        return 0
    show_values(app, cfg.get("values") or {}, ctx.args.oneline)
    return 0


def do_set(ctx):
    values = parse_pairs(ctx.args.pairs, "KEY")
    if "PORT" in values:
        port = values["PORT"]
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise CLIError(f"PORT must be a number from 1 to 65535, not {port!r}")
    app = ctx.app
    cfg = ctx.client.set_config(app, values=values)
    print(f"Config set ({', '.join(values)}); a new release is deployed")
    show_values(app, (cfg or {}).get("values") or {})
    return 0


def do_unset(ctx):
    keys = ctx.args.keys
    for k in keys:
        if not KEY_RE.match(k):
            raise CLIError(f"invalid KEY {k!r}")
    app = ctx.app
    cfg = ctx.client.set_config(app, values={k: None for k in keys})
    print(f"Config unset ({', '.join(keys)}); a new release is deployed")
    show_values(app, (cfg or {}).get("values") or {})
    return 0


def merge_env(local: dict, remote: dict, overwrite: bool) -> dict:
    """The .env after a pull: the file's keys first (in order), then the app's new keys."""
    merged = dict(local)
    for k, v in remote.items():
        if v is None:
            continue
        if k not in merged or overwrite:
            merged[k] = str(v)
    return merged


def do_pull(ctx):
    a = ctx.args
    values = ctx.client.config(ctx.app).get("values") or {}
    if a.path == "-":
        sys.stdout.write(dotenv.dump(values))
        return 0
    local = {}
    if os.path.exists(a.path):
        try:
            local = dotenv.read(a.path)
        except (OSError, dotenv.DotenvError) as e:
            raise CLIError(f"cannot read {a.path}: {e}") from None
    merged = merge_env(local, values, a.overwrite)
    tmp = a.path + ".slipway-tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # .env files hold secrets
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(dotenv.dump(merged))
        os.replace(tmp, a.path)
    except OSError as e:
        raise CLIError(f"cannot write {a.path}: {e.strerror or e}") from None
    kept = [k for k in values if k in local and local[k] != str(values[k]) and not a.overwrite]
    print(f"Wrote {len(merged)} variables to {a.path}")
    if kept:
        print(f"Kept local values for {', '.join(kept)} (use --overwrite to take the app's)")
    return 0


def do_push(ctx):
    a = ctx.args
    try:
        values = dotenv.read(a.path)
    except FileNotFoundError:
        raise CLIError(f"{a.path} not found") from None
    except (OSError, dotenv.DotenvError) as e:
        raise CLIError(f"cannot read {a.path}: {e}") from None
    if not values:
        raise CLIError(f"no variables in {a.path}")
    app = ctx.app
    current = ctx.client.config(app).get("values") or {}
    delta = {k: v for k, v in values.items() if current.get(k) != v}
    if not delta:
        print(f"Nothing to push: {app} already has these values")
        return 0
    cfg = ctx.client.set_config(app, values=delta)
    print(f"Pushed {len(delta)} variables from {a.path}; a new release is deployed")
    show_values(app, (cfg or {}).get("values") or {})
    return 0
