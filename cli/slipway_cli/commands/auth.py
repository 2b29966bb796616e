"""register, login, logout, whoami, auth:cancel, auth:passwd, auth:regenerate."""
from __future__ import annotations

import os

from slipway_cli import config, gitremote
from slipway_cli.client import Client, normalize_url
from slipway_cli.errors import CLIError
from slipway_cli.context import ask, ask_password, confirm_name
from slipway_cli.output import print_json

GROUP = "Auth"


def register(cmd):
    p = cmd("register", do_register, "create an account on a controller (and log in as it)")
    p.add_argument("url", metavar="URL", nargs="?", help="controller URL (default: the profile's)")
    p.add_argument("--username", "-u")
    p.add_argument("--password", "-p", help="(default: prompt, or one line of stdin)")
    p.add_argument("--email", "-e")
    p.add_argument("--first-name")
    p.add_argument("--last-name")
    p.add_argument("--ca", metavar="FILE", help="PEM CA bundle the controller's certificate chains to")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--login", dest="login", action="store_true", default=None,
                   help="log in as the new user (default unless already logged in at that URL)")
    g.add_argument("--no-login", dest="login", action="store_false", help="only register")

    p = cmd("login", do_login, "log in to a controller; stores URL and token in the profile")
    p.add_argument("url", metavar="URL", nargs="?", help="controller URL (default: the profile's)")
    p.add_argument("--username", "-u")
    p.add_argument("--password", "-p", help="(default: prompt, or one line of stdin)")
    p.add_argument("--ca", metavar="FILE", help="PEM CA bundle to trust for this controller (kept in the profile)")
    p.add_argument("--builder-host", metavar="HOST[:PORT]",
                   help="the builder's SSH host for git remotes (default: the controller's host, port 2222)")

    cmd("logout", do_logout, "forget the token of this profile")

    cmd("whoami", do_whoami, "show the user this profile is logged in as", json=True)

    p = cmd("auth:cancel", do_cancel, "delete your account (admins: --username USER)")
    p.add_argument("--username", "-u", help="(admin) the account to delete")
    p.add_argument("--confirm", metavar="USERNAME", help="skip the prompt")

    p = cmd("auth:passwd", do_passwd, "change your password (admins: --username USER)")
    p.add_argument("--username", "-u", help="(admin) whose password to set")
    p.add_argument("--password", help="current password")
    p.add_argument("--new-password", help="new password")

    p = cmd("auth:regenerate", do_regenerate,
            "revoke every token and issue a new one (stored in the profile; admins: --username USER)")
    p.add_argument("--username", "-u", help="(admin) whose tokens to revoke")


def _target_url(ctx, url: str | None) -> str:
    url = url or ctx.profile.url
    if not url:
        raise CLIError("give the controller URL, e.g. `slipway login https://slipway.example.com`")
    return normalize_url(url)


def _ca_for(ctx, url: str, ca_arg: str | None) -> str | None:
    if ca_arg:
        path = os.path.abspath(os.path.expanduser(ca_arg))
        try:
            with open(path, encoding="utf-8") as f:
                pem = f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise CLIError(f"cannot read CA file {ca_arg}: {getattr(e, 'strerror', None) or e}") from None
        if "-----BEGIN CERTIFICATE-----" not in pem:
            raise CLIError(f"{ca_arg} does not contain a PEM certificate")
        return path
    # keep the stored CA when logging in again to the same controller
    return ctx.profile.ca if ctx.profile.url == url else None


def _store_login(ctx, url: str, username: str, token: str, ca_arg: str | None, builder_host: str | None) -> None:
    p = ctx.profile
    same = p.url == url
    p.url, p.username, p.token = url, username, token
    if ca_arg:
        try:
            p.ca = config.store_ca(p, ca_arg)
        except config.ProfileError as e:
            raise CLIError(str(e)) from None
    elif not same:
        p.ca = None
    if builder_host:
        try:
            p.builder_host, p.builder_port = gitremote.split_host_port(builder_host)
        except ValueError as e:
            raise CLIError(str(e)) from None
    elif not same:
        p.builder_host, p.builder_port = None, gitremote.DEFAULT_BUILDER_PORT
    ctx.save_profile()


def do_register(ctx):
    a = ctx.args
    url = _target_url(ctx, a.url)
    ca = _ca_for(ctx, url, a.ca)
    username = a.username or ask("username: ").strip()
    password = ask_password(given=a.password, confirm=True)
    email = a.email
    p = ctx.profile
    logged_in_here = bool(p.token and p.url == url)
    # an admin registering someone (registration_mode admin_only) sends their token
    client = Client(url, p.token if logged_in_here else None, ca)
    client.request("POST", "/v2/auth/register/", auth=logged_in_here, json={
        k: v for k, v in {"username": username, "password": password, "email": email,
                          "first_name": a.first_name, "last_name": a.last_name}.items() if v})
    print(f"Registered {username}")
    do_login_after = a.login if a.login is not None else not logged_in_here
    if do_login_after:
        token = Client(url, None, ca).login(username, password)
        _store_login(ctx, url, username, token, a.ca, None)
        print(f"Logged in as {username} at {url}")
    return 0


def do_login(ctx):
    a = ctx.args
    url = _target_url(ctx, a.url)
    ca = _ca_for(ctx, url, a.ca)
    username = a.username or ask("username: ").strip()
    password = ask_password(given=a.password)
    token = Client(url, None, ca).login(username, password)
    _store_login(ctx, url, username, token, a.ca, a.builder_host)
    print(f"Logged in as {username} at {url}")
    return 0


def do_logout(ctx):
    p = ctx.profile
    if not p.token:
        print("Not logged in")
        return 0
    p.token = None
    p.username = None
    ctx.save_profile()
    print(f"Logged out from {p.url}")
    return 0


def do_whoami(ctx):
    user = ctx.client.whoami()
    if ctx.json:
        print_json(user)
        return 0
    role = " (admin)" if user.get("is_superuser") else ""
    print(f"You are {user.get('username')}{role} at {ctx.client.url}")
    return 0


def do_cancel(ctx):
    a = ctx.args
    me = ctx.client.whoami().get("username")
    target = a.username or me
    confirm_name(target, a.confirm, f"delete the account {target} and its keys")
    ctx.client.cancel(a.username if a.username and a.username != me else None)
    print(f"Account {target} deleted")
    if target == me:
        ctx.profile.token = None
        ctx.profile.username = None
        ctx.save_profile()
    return 0


def do_passwd(ctx):
    a = ctx.args
    client = ctx.client
    if a.username:
        new = a.new_password if a.new_password is not None else ask_password("new password: ", confirm=True)
        client.passwd(new, username=a.username)
        print(f"Password for {a.username} changed")
        return 0
    current = a.password if a.password is not None else ask_password("current password: ")
    new = a.new_password if a.new_password is not None else ask_password("new password: ", confirm=True)
    client.passwd(new, password=current)
    print("Password changed")
    return 0


def do_regenerate(ctx):
    a = ctx.args
    client = ctx.client
    me = ctx.profile.username
    if a.username and a.username != me:
        client.regenerate(a.username)
        print(f"Tokens of {a.username} revoked; they must log in again")
        return 0
    token = client.regenerate()
    if not token:
        raise CLIError("the controller did not return a new token: run `slipway login` again")
    ctx.profile.token = token
    ctx.save_profile()
    print("Token regenerated (old tokens no longer work; the new one is in your profile)")
    return 0

