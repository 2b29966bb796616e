"""App settings (no new release): maintenance, routable, whitelist, enforced HTTPS."""
from __future__ import annotations

import ipaddress

from slipway_cli.errors import CLIError
from slipway_cli.output import print_json

GROUP = "Settings"


def register(cmd):
    cmd("maintenance:info", do_maintenance_info, "show whether the app is in maintenance mode", app=True, json=True)
    cmd("maintenance:on", _setter("maintenance", True, "Maintenance mode on for {app}"),
        "put the app in maintenance mode (the router answers 503)", app=True)
    cmd("maintenance:off", _setter("maintenance", False, "Maintenance mode off for {app}"),
        "take the app out of maintenance mode", app=True)

    p = cmd("routable", do_routable, "show whether the router serves the app; `routable on|off` changes it",
            app=True, json=True)
    p.add_argument("state", metavar="on|off", nargs="?", choices=["on", "off"])
    cmd("routable:info", do_routable_info, "show whether the router serves the app", app=True, json=True,
        aliases=("routing:info",))
    cmd("routable:on", _setter("routable", True, "{app} is routable"), "let the router serve the app", app=True,
        aliases=("routing:enable",))
    cmd("routable:off", _setter("routable", False, "{app} is no longer routable"),
        "take the app out of the router (it keeps running)", app=True, aliases=("routing:disable",))

    cmd("whitelist:list", do_whitelist_list, "list the addresses allowed to reach the app (empty: everyone)",
        app=True, json=True)
    p = cmd("whitelist:add", do_whitelist_add, "allow addresses/networks (CIDR) to reach the app", app=True)
    p.add_argument("cidrs", metavar="CIDR", nargs="+")
    p = cmd("whitelist:remove", do_whitelist_remove, "remove addresses/networks from the whitelist", app=True)
    p.add_argument("cidrs", metavar="CIDR", nargs="+")

    cmd("tls:info", do_tls_info, "show whether HTTP requests are redirected to HTTPS", app=True, json=True)
    cmd("tls:enable", _setter("enforce_https", True, "HTTPS enforced for {app}"),
        "redirect HTTP requests to HTTPS", app=True)
    cmd("tls:disable", _setter("enforce_https", False, "HTTPS no longer enforced for {app}"),
        "serve HTTP requests without redirecting", app=True)


def _setter(field, value, message):
    def run(ctx):
        app = ctx.app
        ctx.client.set_settings(app, **{field: value})
        print(message.format(app=app))
        return 0
    return run


def _show(ctx, field, yes, no):
    app = ctx.app
    s = ctx.client.settings(app)
    if ctx.json:
        print_json(s)
        return 0
    print((yes if s.get(field) else no).format(app=app))
    return 0


def do_maintenance_info(ctx):
    return _show(ctx, "maintenance", "Maintenance mode is on for {app}", "Maintenance mode is off for {app}")


def do_routable_info(ctx):
    return _show(ctx, "routable", "{app} is routable", "{app} is not routable")


def do_routable(ctx):
    if ctx.args.state is None:
        return do_routable_info(ctx)
    on = ctx.args.state == "on"
    return _setter("routable", on, "{app} is routable" if on else "{app} is no longer routable")(ctx)


def do_tls_info(ctx):
    return _show(ctx, "enforce_https", "HTTPS is enforced for {app}", "HTTPS is not enforced for {app}")


def normalize_cidr(value: str) -> str:
    """`10.0.0.1` -> `10.0.0.1/32`, `10.0.0.5/24` -> `10.0.0.0/24`."""
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise CLIError(f"invalid address or CIDR {value!r}") from None


def do_whitelist_list(ctx):
    app = ctx.app
    s = ctx.client.settings(app)
    if ctx.json:
        print_json(s.get("whitelist") or [])
        return 0
    wl = s.get("whitelist") or []
    print(f"=== {app} Whitelist")
    print("\n".join(wl) if wl else "Empty: every address may reach the app")
    return 0


def do_whitelist_add(ctx):
    """The controller adds them to the list (one request: two adds at once both land)."""
    new = list(dict.fromkeys(normalize_cidr(c) for c in ctx.args.cidrs))
    app = ctx.app
    listed = ctx.client.add_to_whitelist(app, new)
    print(f"Added to the whitelist of {app}: {' '.join(new)} (now {len(listed)})")
    return 0


def do_whitelist_remove(ctx):
    """All or nothing: an address that is not in the list is an error and nothing is removed."""
    gone = list(dict.fromkeys(normalize_cidr(c) for c in ctx.args.cidrs))
    app = ctx.app
    ctx.client.remove_from_whitelist(app, gone)
    print(f"Removed from the whitelist of {app}: {' '.join(gone)}")
    return 0
