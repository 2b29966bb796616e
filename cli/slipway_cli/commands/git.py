"""git:remote, git:remove."""
from __future__ import annotations

from slipway_cli import gitremote
from slipway_cli.errors import CLIError

GROUP = "Git"


def register(cmd):
    p = cmd("git:remote", do_remote,
            "add a git remote (default `slipway`) for pushing to the app: ssh://git@BUILDER:2222/APP.git", app=True)
    p.add_argument("-r", "--remote", default=gitremote.DEFAULT_REMOTE, help="remote name (default: slipway)")
    p.add_argument("--builder-host", metavar="HOST[:PORT]",
                   help="builder SSH host (default: the profile's, else the controller's host)")
    p.add_argument("-f", "--force", action="store_true", help="replace an existing remote of that name")

    p = cmd("git:remove", do_remove, "remove the app's git remote from this repository", app=True)
    p.add_argument("-r", "--remote", default=gitremote.DEFAULT_REMOTE, help="remote name (default: slipway)")


def remote_url_for(ctx, app: str, builder_host: str | None = None) -> str:
    p = ctx.profile
    try:
        if builder_host:
            host, port = gitremote.split_host_port(builder_host)
        elif p.builder_host:
            host, port = p.builder_host, p.builder_port or gitremote.DEFAULT_BUILDER_PORT
        else:
            if not p.url:
                raise CLIError("not logged in: run `slipway login URL` first (or pass --builder-host)")
            host, port = gitremote.builder_host_from_controller(p.url), gitremote.DEFAULT_BUILDER_PORT
    except ValueError as e:
        raise CLIError(str(e)) from None
    return gitremote.builder_url(host, app, port)


def do_remote(ctx):
    a = ctx.args
    if not gitremote.in_repo():
        raise CLIError("not inside a git repository")
    app = a.app or gitremote.app_from_repo(a.remote)
    if not app:
        raise CLIError("give the app with -a APP")
    ctx.client.app(app)  # the app must exist and be reachable
    url = remote_url_for(ctx, app, a.builder_host)
    existing = gitremote.remote_url(a.remote)
    if existing == url:
        print(f"Git remote {a.remote} already points at {url}")
        return 0
    if existing is not None and not a.force:
        raise CLIError(f"git remote {a.remote} already exists ({existing}): pass --force to replace it")
    try:
        gitremote.add_remote(a.remote, url, replace=a.force)
    except gitremote.GitError as e:
        raise CLIError(str(e)) from None
    print(f"Git remote {a.remote} {'updated' if existing else 'added'}: {url}")
    return 0


def do_remove(ctx):
    a = ctx.args
    if not gitremote.in_repo():
        raise CLIError("not inside a git repository")
    existing = gitremote.remote_url(a.remote)
    if existing is None:
        raise CLIError(f"no git remote named {a.remote}")
    if a.app and gitremote.app_from_url(existing) != a.app:
        raise CLIError(f"git remote {a.remote} points at {existing}, not at the app {a.app}")
    try:
        gitremote.remove_remote(a.remote)
    except gitremote.GitError as e:
        raise CLIError(str(e)) from None
    print(f"Git remote {a.remote} removed")
    return 0
