"""Tenants' words are text, never markup: a config value, a log line, a release summary, metric labels and
alerts all render escaped; without SLIPWAY_PROMETHEUS_URL the graphs say metrics are not configured."""
from __future__ import annotations

import time

import requests
from markupsafe import escape

from tests.controller.deployhelp import build
from tests.dashboard.conftest import Web, signed_in
from tests.live import live_controller

XSS = "<script>alert('owned')</script>"
ECHO = f"while true; do echo \"{XSS}\"; sleep 1; done & cd /www && exec httpd -f -p $PORT -h /www"


def test_a_config_value_is_shown_as_text(web, owner, app_id):
    r = owner.post(f"/v2/apps/{app_id}/config/", {"values": {"EVIL": XSS + '"><img src=x>'}})
    assert r.status_code == 201, r.text
    page = web.get(f"/apps/{app_id}").text
    assert XSS not in page and "<img src=x>" not in page
    assert escape(XSS + '"><img src=x>') in page


def test_log_lines_render_escaped_and_stream_as_text(web, owner, app_id):
    r = build(owner, app_id, procfile={"web": ECHO})
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 30
    while True:
        page = web.get(f"/apps/{app_id}/logs").text
        if escape(XSS) in page or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert escape(XSS) in page and XSS not in page
    with web.session.get(web.root + f"/apps/{app_id}/logs/stream", stream=True, timeout=30) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert stream.headers["X-Content-Type-Options"] == "nosniff"
        line = next(line for line in stream.iter_lines(decode_unicode=True) if line.startswith("data: "))
    assert line == f"data: web.1: {XSS}"  # plain text in the event; the page's script appends it as a text node
    owner.delete(f"/v2/apps/{app_id}/")


def test_metric_labels_and_alerts_render_escaped(ctl, web, admin, app_id, prometheus):
    page = web.get(f"/apps/{app_id}/graphs").text
    assert page.count("<svg") >= 5 and "<polyline" in page
    assert "<script>alert" not in page and escape("<script>alert('label')</script>") in page
    assert any(f'app="{app_id}"' in q and "slipway_router_requests_total" in q for q in prometheus.queries)
    assert any("slipway_task_memory_bytes" in q for q in prometheus.queries)
    day = web.get(f"/apps/{app_id}/graphs?range=day").text
    assert "<polyline" in day
    health = signed_in(ctl, admin).get("/admin/health").text
    assert "DiskFilling" in health and "Quiet" not in health  # firing alerts only
    assert "<b>disk</b>" not in health and escape("<b>disk</b>") in health
    assert "<script>alert" not in health
    assert "shop.example.test" in health and "2.0 h ago" in health


def test_without_prometheus_the_graphs_say_so():
    with live_controller() as ctl:
        web = Web(ctl.url)
        assert web.sign_in(ctl.admin_username, ctl.admin_password).status_code == 200
        r = requests.post(ctl.url + "/v2/apps/", json={"id": "plain"}, timeout=30,
                          headers={"Authorization": f"token {ctl.admin_token}"})
        assert r.status_code == 201
        assert "Metrics are not configured" in web.get("/apps/plain/graphs").text
        assert "Metrics are not configured" in web.get("/admin/health").text
