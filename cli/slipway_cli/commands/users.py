"""users:list (admins)."""
from __future__ import annotations

from slipway_cli.output import print_json, records_table

GROUP = "Users"


def register(cmd):
    cmd("users:list", do_list, "list every user (admins only)", json=True)


def do_list(ctx):
    body = ctx.client.users()
    if ctx.json:
        print_json(body)
        return 0
    users = body.get("results", [])
    if not users:
        print("No users")
        return 0
    print(records_table(users, [("USERNAME", "username"), ("EMAIL", "email"), ("ADMIN", "is_superuser"),
                                ("ACTIVE", "is_active")]))
    return 0
