"""builds:list, builds:info, builds:create (Deis's `pull`): deploy an image someone built elsewhere."""
from __future__ import annotations

from slipway_cli.errors import CLIError
from slipway_cli.output import kv_block, print_json, short_date, table

GROUP = "Builds"


def register(cmd):
    cmd("builds:list", do_list, "list an app's builds, newest first", app=True, json=True)
    p = cmd("builds:info", do_info, "show one build", app=True, json=True)
    p.add_argument("uuid", metavar="UUID")
    p = cmd("builds:create", do_create, "deploy an image as a new build and release, e.g. "
            "builds:create registry.example.com/team/shop:1.2 (a private registry: registry:set first)", app=True,
            json=True)
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--procfile", metavar="'TYPE: COMMAND'", action="append", default=[],
                   help="a process type and its command (repeatable); without, the image's own command runs as web")


def do_list(ctx):
    app = ctx.app
    body = ctx.client.builds(app)
    if ctx.json:
        print_json(body)
        return 0
    rows = [[b.get("uuid"), short_date(b.get("created")), b.get("owner"), b.get("image"), (b.get("sha") or "")[:7]]
            for b in body.get("results", [])]
    print(f"=== {app} Builds")
    print(table(rows, ["UUID", "CREATED", "OWNER", "IMAGE", "SHA"]) if rows else "No builds")
    return 0


def do_info(ctx):
    app = ctx.app
    build = ctx.client.build(app, ctx.args.uuid)
    if ctx.json:
        print_json(build)
        return 0
    procfile = ", ".join(f"{k}: {v}" for k, v in sorted((build.get("procfile") or {}).items()))
    print(kv_block([("Image", build.get("image")), ("Owner", build.get("owner")), ("SHA", build.get("sha") or ""),
                    ("Procfile", procfile or "(the image's own command)"),
                    ("Created", short_date(build.get("created"))),
                    ("UUID", build.get("uuid"))], title=f"{app} Build"))
    return 0


def parse_procfile(lines: list[str]) -> dict[str, str]:
    procfile: dict[str, str] = {}
    for line in lines:
        proc, sep, command = line.partition(":")
        if not sep or not proc.strip() or not command.strip():
            raise CLIError(f"--procfile {line!r} is not 'TYPE: COMMAND'")
        procfile[proc.strip()] = command.strip()
    return procfile


def do_create(ctx):
    app = ctx.app
    procfile = parse_procfile(ctx.args.procfile)
    print(f"Creating build of {ctx.args.image} for {app}... ", end="", flush=True)
    build = ctx.client.create_build(app, ctx.args.image, procfile)
    print("done")
    if ctx.json:
        print_json(build)
        return 0
    release = ctx.client.releases(app).get("results", [{}])[0]
    print(f"{app} is serving v{release.get('version')}: {ctx.args.image}")
    return 0
