"""open (an app's address) and dashboard (the controller's web dashboard): print the URL, and open it in the
browser when run at a terminal."""
from __future__ import annotations

import sys
import webbrowser
from urllib.parse import urlsplit

from slipway_cli.errors import NotLoggedIn

GROUP = "Browser"


def register(cmd):
    p = cmd("open", do_open, "print an app's URL and open it in the browser", app=True)
    p.add_argument("--print", dest="print_only", action="store_true", help="only print the URL")
    p = cmd("dashboard", do_dashboard, "print the web dashboard's URL and open it in the browser")
    p.add_argument("--print", dest="print_only", action="store_true", help="only print the URL")


def _show(ctx, url: str) -> int:
    print(url)
    if not ctx.args.print_only and sys.stdout.isatty():
        webbrowser.open(url)
    return 0


def do_open(ctx):
    """The app's address as apps:info gives it, with the scheme the controller is reached with (the routers
    serve apps and the controller alike)."""
    app = ctx.client.app(ctx.app)
    scheme = urlsplit(ctx.profile.url).scheme or "https"
    return _show(ctx, f"{scheme}://{app['url']}/")


def do_dashboard(ctx):
    url = ctx.profile.url
    if not url:
        raise NotLoggedIn(f"not logged in (profile {ctx.profile.name}): run `slipway login URL` first")
    return _show(ctx, url.rstrip("/") + "/dashboard/")
