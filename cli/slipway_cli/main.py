"""Entry point: the argument parser and the dispatch to command modules."""
from __future__ import annotations

import argparse
import sys

from slipway_cli import __version__
from slipway_cli.errors import CLIError
from slipway_cli.context import Context
from slipway_cli.output import error

# Command modules, in the order `slipway help` lists them.
from slipway_cli.commands import (apps, auth, autoscale, browse, builds, certs, config_vars, domains, git,
                                  healthchecks, keys, labels, limits, perms, ps, registry, releases, settings, tags,
                                  users)

MODULES = [auth, users, apps, config_vars, builds, releases, ps, autoscale, domains, certs, keys, perms, limits,
           healthchecks, tags, labels, registry, settings, git, browse]

# `slipway apps` means `slipway apps:list`, as in Deis.
GROUP_DEFAULTS = {
    "apps": "apps:list", "config": "config:list", "releases": "releases:list", "ps": "ps:list",
    "domains": "domains:list", "certs": "certs:list", "keys": "keys:list", "perms": "perms:list",
    "limits": "limits:list", "healthchecks": "healthchecks:list", "tags": "tags:list", "labels": "labels:list",
    "builds": "builds:list", "registry": "registry:list", "autoscale": "autoscale:list",
    "maintenance": "maintenance:info", "whitelist": "whitelist:list", "users": "users:list",
    "auth": "whoami",
}
# Deis' top-level shortcuts.
SHORTCUTS = {
    "create": "apps:create", "destroy": "apps:destroy", "info": "apps:info", "logs": "apps:logs",
    "run": "apps:run", "scale": "ps:scale", "restart": "ps:restart", "rollback": "releases:rollback",
    "pull": "builds:create",
    "auth:login": "login", "auth:logout": "logout", "auth:whoami": "whoami", "auth:register": "register",
}


class Registry:
    def __init__(self, subparsers):
        self.sub = subparsers
        self.commands: list[tuple[str, str, list[str]]] = []  # (group, name, help)
        self.group = ""

    def __call__(self, name: str, func, help: str, *, app: bool = False, json: bool = False,
                 aliases: tuple[str, ...] = ()) -> argparse.ArgumentParser:
        p = self.sub.add_parser(name, help=help, description=help, aliases=list(aliases),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func, command=name)
        # --profile is a global option; also accept it after the command (hidden from per-command help)
        p.add_argument("--profile", metavar="NAME", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        if app:
            p.add_argument("-a", "--app", metavar="APP",
                           help="the app (default: the app of this repo's `slipway` git remote)")
        if json:
            p.add_argument("--json", action="store_true", help="print the server's JSON")
        self.commands.append((self.group, name, help))
        return p


def build_parser() -> tuple[argparse.ArgumentParser, Registry]:
    parser = argparse.ArgumentParser(
        prog="slipway", add_help=False,
        description="Slipway: a self-hosted Heroku-style platform. Commands are named group:action.")
    parser.add_argument("-h", "--help", action="store_true", help="show help")
    parser.add_argument("-v", "--version", action="version", version=f"slipway {__version__}")
    parser.add_argument("--profile", metavar="NAME",
                        help="profile to use (default: $SLIPWAY_PROFILE or `client`), stored in $SLIPWAY_HOME "
                             "(default ~/.slipway)")
    sub = parser.add_subparsers(dest="command_name", metavar="COMMAND")
    reg = Registry(sub)
    for module in MODULES:
        reg.group = module.GROUP
        module.register(reg)
    hp = sub.add_parser("help", help="show help for a command")
    hp.add_argument("topic", nargs="?")
    hp.set_defaults(func=None, command="help")
    return parser, reg


def usage(reg: Registry) -> str:
    lines = [f"slipway {__version__}: the Slipway command-line client",
             "",
             "Usage: slipway [--profile NAME] COMMAND [options]   (slipway help COMMAND for its options)",
             ""]
    width = max(len(name) for _, name, _ in reg.commands) + 2
    current = None
    for group, name, help in reg.commands:
        if group != current:
            if current is not None:
                lines.append("")
            lines.append(f"{group}:")
            current = group
        lines.append(f"  {name:<{width}}{help}")
    lines += ["",
              "App commands take -a/--app APP; without it, the app is the one the current git repository's",
              "`slipway` remote points at. Read commands take --json to print the server's JSON.",
              "Environment: SLIPWAY_PROFILE, SLIPWAY_HOME, SLIPWAY_TIMEOUT (seconds)."]
    return "\n".join(lines)


def command_index(argv: list[str]) -> int | None:
    """Where the command word is (the first word that is not a global option)."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--profile":
            i += 2
            continue
        if a.startswith("-"):
            i += 1
            continue
        return i
    return None


def rewrite_argv(argv: list[str]) -> list[str]:
    """Expand group names and shortcuts in the command position."""
    argv = list(argv)
    i = command_index(argv)
    if i is not None:
        argv[i] = GROUP_DEFAULTS.get(argv[i]) or SHORTCUTS.get(argv[i]) or argv[i]
    return argv


def subcommands(parser: argparse.ArgumentParser) -> dict:
    for action in parser._actions:  # noqa: SLF001 (argparse has no public API for this)
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return action.choices
    return {}


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Global options, then the command's own parser in intermixed mode (so `-a APP` may come anywhere,
    e.g. `config:set A=1 -a app B=2`)."""
    i = command_index(argv)
    if i is None:
        return parser.parse_args(argv)
    args = parser.parse_args(argv[:i])  # the global options
    sub = subcommands(parser)[argv[i]]
    if sub.get_default("intermixed") is False:  # apps:run: everything after the command words is theirs
        return sub.parse_args(argv[i + 1:], namespace=args)
    return sub.parse_intermixed_args(argv[i + 1:], namespace=args)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser, reg = build_parser()
    argv = rewrite_argv(argv)
    i = command_index(argv)
    if i is not None and argv[i] not in subcommands(parser):
        error(f"unknown command {argv[i]!r}: run `slipway help` for the list")
        return 1
    args = parse(parser, argv)
    if args.help or not getattr(args, "command", None):
        print(usage(reg))
        return 0
    if args.command == "help":
        if args.topic:
            topic = GROUP_DEFAULTS.get(args.topic) or SHORTCUTS.get(args.topic) or args.topic
            choices = subcommands(parser)
            if topic not in choices:
                error(f"unknown command {args.topic!r}")
                return 1
            choices[topic].print_help()
        else:
            print(usage(reg))
        return 0
    ctx = Context(args)
    try:
        rc = args.func(ctx)
    except CLIError as e:
        error(str(e))
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
