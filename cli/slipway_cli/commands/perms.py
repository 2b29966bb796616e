"""perms:list, perms:create, perms:delete (app collaborators, or admins with --admin)."""
from __future__ import annotations

from slipway_cli.output import print_json

GROUP = "Permissions"


def register(cmd):
    p = cmd("perms:list", do_list, "list an app's collaborators (--admin: the platform's admins)", app=True,
            json=True)
    p.add_argument("--admin", action="store_true", help="list admins instead")
    p = cmd("perms:create", do_create, "let USER work on the app (--admin: make USER an admin)", app=True)
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--admin", action="store_true", help="grant admin rights instead")
    p = cmd("perms:delete", do_delete, "remove USER from the app (--admin: revoke admin rights)", app=True)
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--admin", action="store_true", help="revoke admin rights instead")


def do_list(ctx):
    if ctx.args.admin:
        body = ctx.client.admins()
        if ctx.json:
            print_json(body)
            return 0
        admins = body.get("results", [])
        print("=== Administrators")
        print("\n".join(u.get("username", "") for u in admins) if admins else "No admins")
        return 0
    app = ctx.app
    body = ctx.client.perms(app)
    if ctx.json:
        print_json(body)
        return 0
    users = body.get("users", []) if isinstance(body, dict) else []
    print(f"=== {app}'s Users")
    print("\n".join(str(u) for u in users) if users else "No collaborators")
    return 0


def do_create(ctx):
    user = ctx.args.username
    if ctx.args.admin:
        ctx.client.add_admin(user)
        print(f"{user} is now an admin")
        return 0
    app = ctx.app
    ctx.client.add_perm(app, user)
    print(f"Added {user} to {app} collaborators")
    return 0


def do_delete(ctx):
    user = ctx.args.username
    if ctx.args.admin:
        ctx.client.remove_admin(user)
        print(f"{user} is no longer an admin")
        return 0
    app = ctx.app
    ctx.client.remove_perm(app, user)
    print(f"Removed {user} from {app} collaborators")
    return 0
