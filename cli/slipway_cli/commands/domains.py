"""domains:list, domains:add, domains:remove."""
from __future__ import annotations

from slipway_cli.output import print_json, records_table

GROUP = "Domains"


def register(cmd):
    cmd("domains:list", do_list, "list an app's domains", app=True, json=True)
    p = cmd("domains:add", do_add, "route a domain to the app", app=True)
    p.add_argument("domain", metavar="DOMAIN")
    p = cmd("domains:remove", do_remove, "stop routing a domain to the app", app=True)
    p.add_argument("domain", metavar="DOMAIN")


def do_list(ctx):
    app = ctx.app
    body = ctx.client.domains(app)
    if ctx.json:
        print_json(body)
        return 0
    domains = body.get("results", [])
    print(f"=== {app} Domains")
    print(records_table(domains, [("DOMAIN", "domain")]) if domains else "No domains")
    return 0


def do_add(ctx):
    app = ctx.app
    domain = ctx.args.domain.strip().lower().rstrip(".")
    ctx.client.add_domain(app, domain)
    print(f"Added {domain} to {app}")
    return 0


def do_remove(ctx):
    app = ctx.app
    domain = ctx.args.domain.strip().lower().rstrip(".")
    ctx.client.remove_domain(app, domain)
    print(f"Removed {domain} from {app}")
    return 0
