"""`slipway open` and `slipway dashboard` against a stub controller: the URLs they print (nothing is opened
when stdout is not a terminal)."""
from __future__ import annotations

import webbrowser


def test_open_prints_the_apps_url_with_the_controllers_scheme(logged_in, cli, monkeypatch):
    opened = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    logged_in.on("GET", "/v2/apps/shop/", 200, {"id": "shop", "owner": "alice", "url": "shop.example.com"})
    r = cli("open", "-a", "shop")
    assert r.code == 0, r
    assert r.out == "http://shop.example.com/\n"  # the stub is reached over plain HTTP
    assert opened == []  # not a terminal


def test_open_names_the_missing_app(logged_in, cli):
    logged_in.on("GET", "/v2/apps/nope/", 404, {"detail": "No App matches the given query."})
    r = cli("open", "-a", "nope")
    assert r.code == 1 and r.err == "Error: No App matches the given query.\n"


def test_dashboard_prints_the_controllers_dashboard_url(logged_in, cli):
    r = cli("dashboard", "--print")
    assert r.code == 0, r
    assert r.out == f"{logged_in.url}/dashboard/\n"
    assert logged_in.requests == []  # no request: the profile knows the controller


def test_dashboard_needs_a_profile(home, cli):
    r = cli("dashboard")
    assert r.code == 1 and "not logged in" in r.err
