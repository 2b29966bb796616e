"""apps:create, apps:list, apps:info, apps:destroy, apps:transfer, apps:logs, apps:run."""
from __future__ import annotations

import argparse
import sys

from slipway_cli import gitremote
from slipway_cli.errors import APIError, CLIError
from slipway_cli.commands.git import remote_url_for
from slipway_cli.context import confirm_name, stdin_is_tty
from slipway_cli.output import kv_block, print_json, records_table, short_date, warn

GROUP = "Apps"


def register(cmd):
    p = cmd("apps:create", do_create, "create an app (and a `slipway` git remote when run in a git repo)")
    p.add_argument("id", metavar="APP", nargs="?", help="app name (default: a random one)")
    p.add_argument("--no-remote", action="store_true", help="do not add a git remote")
    p.add_argument("--remote", default=gitremote.DEFAULT_REMOTE, help="git remote name (default: slipway)")

    cmd("apps:list", do_list, "list the apps you can reach", json=True)
    cmd("apps:info", do_info, "show an app, its processes and domains", app=True, json=True)

    p = cmd("apps:destroy", do_destroy, "destroy an app and everything it runs", app=True)
    p.add_argument("--confirm", metavar="APP", help="skip the prompt (must equal the app name)")

    p = cmd("apps:transfer", do_transfer, "give an app to another user", app=True)
    p.add_argument("owner", metavar="USERNAME")

    p = cmd("apps:logs", do_logs, "show an app's logs", app=True)
    p.add_argument("-n", "--lines", type=int, metavar="N", help="number of lines")
    p.add_argument("-t", "--type", dest="proc_type", metavar="TYPE", help="only this process type")
    p.add_argument("-f", "--follow", action="store_true",
                   help="keep streaming new lines (every process, new releases too) until interrupted")

    p = cmd("apps:run", do_run, "run a one-off command in the app's environment; exits with its exit code "
            "(interactive, with a terminal, when stdin and stdout are terminals)", app=True, json=True)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("-t", "--tty", dest="tty", action="store_true", default=None,
                      help="interactive session with a terminal (default when stdin and stdout are terminals)")
    mode.add_argument("-T", "--no-tty", dest="tty", action="store_false",
                      help="no terminal: run to completion and print the output")
    p.add_argument("run_command", metavar="COMMAND ...", nargs=argparse.REMAINDER,
                   help="the command and its arguments (slipway options go before it)")
    p.set_defaults(intermixed=False)


def do_create(ctx):
    a = ctx.args
    client = ctx.client
    app = client.create_app(a.id)
    app_id = app.get("id", a.id)
    print(f"Created {app_id}")
    if app.get("url"):
        print(f"URL: {app['url']}")
    if a.no_remote or not gitremote.in_repo():
        return 0
    url = remote_url_for(ctx, app_id)
    existing = gitremote.remote_url(a.remote)
    if existing is None:
        try:
            gitremote.add_remote(a.remote, url)
        except gitremote.GitError as e:
            warn(f"Warning: could not add the git remote: {e}")
            return 0
        print(f"Git remote {a.remote} added: {url}")
    elif existing != url:
        warn(f"Warning: git remote {a.remote} already exists ({existing}); not changed. "
             f"Run `slipway git:remote -a {app_id} --force` to point it at {app_id}.")
    return 0


def do_list(ctx):
    body = ctx.client.apps()
    if ctx.json:
        print_json(body)
        return 0
    apps = body.get("results", [])
    if not apps:
        print("No apps found. Create one with `slipway apps:create`.")
        return 0
    print(records_table(apps, [("ID", "id"), ("OWNER", "owner"), ("URL", "url")]))
    return 0


def do_info(ctx):
    client = ctx.client
    app_id = ctx.app
    app = client.app(app_id)
    if ctx.json:
        print_json(app)
        return 0
    print(kv_block([("ID", app.get("id")), ("Owner", app.get("owner")), ("URL", app.get("url")),
                    ("Structure", app.get("structure") or "none (no build yet)"), ("Created", short_date(app.get("created"))),
                    ("Updated", short_date(app.get("updated"))), ("UUID", app.get("uuid"))],
                   title=f"{app_id} Application"))
    try:
        pods = client.pods(app_id).get("results", [])
    except APIError as e:
        pods = None
        print(f"\n=== {app_id} Processes\n(unavailable: {e})")
    if pods is not None:
        print(f"\n=== {app_id} Processes")
        if pods:
            print(records_table(pods, [("NAME", "name"), ("TYPE", "type"), ("RELEASE", "release"),
                                       ("STATE", "state"), ("NODE", "node")]))
        else:
            print("No processes running")
    domains = client.domains(app_id).get("results", [])
    print(f"\n=== {app_id} Domains")
    print("\n".join(d.get("domain", "") for d in domains) if domains else "No domains")
    return 0


def do_destroy(ctx):
    a = ctx.args
    app_id = ctx.app
    confirm_name(app_id, a.confirm, f"destroy the app {app_id}, its releases and its running processes")
    ctx.client.destroy_app(app_id)
    print(f"Destroyed {app_id}")
    # forget the remote of this repo when it pointed at the destroyed app
    if gitremote.app_from_repo(gitremote.DEFAULT_REMOTE) == app_id:
        try:
            gitremote.remove_remote(gitremote.DEFAULT_REMOTE)
            print(f"Git remote {gitremote.DEFAULT_REMOTE} removed")
        except gitremote.GitError as e:
            warn(f"Warning: {e}")
    return 0


def do_transfer(ctx):
    app_id = ctx.app
    ctx.client.transfer_app(app_id, ctx.args.owner)
    print(f"Transferred {app_id} to {ctx.args.owner}")
    return 0


def do_logs(ctx):
    a = ctx.args
    if a.lines is not None and a.lines < 1:
        raise CLIError("--lines must be at least 1")
    if a.follow:
        try:
            for chunk in ctx.client.follow_logs(ctx.app, a.lines, a.proc_type):
                sys.stdout.write(chunk)
                sys.stdout.flush()
        except KeyboardInterrupt:
            return 0
        return 0
    text = ctx.client.logs(ctx.app, a.lines, a.proc_type)
    sys.stdout.write(text)
    if text and not text.endswith("\n"):
        sys.stdout.write("\n")
    return 0


def _stdout_is_tty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def do_run(ctx):
    words = ctx.args.run_command
    if words and words[0] == "--":
        words = words[1:]
    if not words:
        raise CLIError("no command given")
    command = words[0] if len(words) == 1 else " ".join(words)
    tty = ctx.args.tty
    if tty is None:  # a terminal on both ends (`slipway run -- ls > out.txt` stays a plain run)
        tty = not ctx.json and stdin_is_tty() and _stdout_is_tty()
    if tty:
        if ctx.json:
            raise CLIError("--json needs a run without a terminal (-T)")
        from slipway_cli import terminal
        return terminal.session(ctx.client, ctx.app, command)
    result = ctx.client.run(ctx.app, command)
    if ctx.json:
        print_json(result)
    else:
        output = (result or {}).get("output") or ""
        sys.stdout.write(output)
        if output and not output.endswith("\n"):
            sys.stdout.write("\n")
    code = (result or {}).get("exit_code", 0)
    try:
        code = int(code)
    except (TypeError, ValueError):
        code = 1
    return code if 0 <= code <= 255 else 1
