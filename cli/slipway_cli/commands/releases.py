"""releases:list, releases:info, releases:rollback."""
from __future__ import annotations

from slipway_cli.context import parse_version
from slipway_cli.output import kv_block, print_json, table, short_date

GROUP = "Releases"


def register(cmd):
    cmd("releases:list", do_list, "list an app's releases, newest first", app=True, json=True)
    p = cmd("releases:info", do_info, "show one release", app=True, json=True)
    p.add_argument("version", metavar="vN")
    p = cmd("releases:rollback", do_rollback,
            "roll back to the previous good release, or to vN (makes a new release)", app=True)
    p.add_argument("version", metavar="vN", nargs="?")


def do_list(ctx):
    app = ctx.app
    body = ctx.client.releases(app)
    if ctx.json:
        print_json(body)
        return 0
    rels = body.get("results", [])
    print(f"=== {app} Releases")
    rows = [[f"v{r.get('version')}", short_date(r.get("created")), r.get("owner"),
             ("FAILED " if r.get("failed") else "") + (r.get("summary") or "")] for r in rels]
    print(table(rows, ["VERSION", "CREATED", "OWNER", "SUMMARY"]) if rows else "No releases")
    return 0


def do_info(ctx):
    app = ctx.app
    rel = ctx.client.release(app, parse_version(ctx.args.version))
    if ctx.json:
        print_json(rel)
        return 0
    pairs = [("Version", f"v{rel.get('version')}"), ("Owner", rel.get("owner")), ("Summary", rel.get("summary")),
             ("Build", rel.get("build")), ("Config", rel.get("config")), ("Failed", rel.get("failed"))]
    if rel.get("exception"):
        pairs.append(("Exception", rel.get("exception")))
    pairs += [("Created", short_date(rel.get("created"))), ("UUID", rel.get("uuid"))]
    print(kv_block(pairs, title=f"{app} Release v{rel.get('version')}"))
    return 0


def do_rollback(ctx):
    app = ctx.app
    version = parse_version(ctx.args.version) if ctx.args.version else None
    target = f"v{version}" if version else "the previous release"
    body = ctx.client.rollback(app, version)
    new = (body or {}).get("version")
    print(f"Rolled back {app} to {target}: now v{new}" if new else f"Rolled back {app} to {target}")
    return 0
