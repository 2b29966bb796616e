"""Tenants' words are text, never markup: a config value, a log line, a release summary, metric labels and
alerts all render escaped; without SLIPWAY_PROMETHEUS_URL the graphs say metrics are not configured."""
from __future__ import annotations

import time

import requests
from markupsafe import escape

from tests.controller.deployhelp import build
from tests.dashboard.conftest import Web, signed_in
from tests.dashboard.prometheus import BYSTANDER, HOSTILE, SUMMARY
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


def charts_drawn(page: str) -> int:
    """How many of the page's charts draw at least one line."""
    return sum("<polyline" in figure for figure in page.split('<figure class="chart">')[1:])


def until(what: str, fetch, done, timeout: float = 20):
    """fetch() again until done(its result): Prometheus scrapes every second, rate() needs two samples and the
    rule engine one evaluation."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if done(result):
            return result
        assert time.monotonic() < deadline, f"no {what} in {timeout} s: {str(result)[-2000:]}"
        time.sleep(1)


def test_metric_labels_and_alerts_render_escaped(ctl, web, admin, app_id, prometheus):
    exporter = prometheus.exporter
    exporter.add_app(app_id)
    page = until("graphs", lambda: web.get(f"/apps/{app_id}/graphs").text, lambda p: charts_drawn(p) == 5)
    assert page.count("<svg") >= 5
    assert "<script>alert" not in page and escape(HOSTILE) in page  # the process type holding markup
    for name in ("2xx", "5xx", "upstream errors", "p50", "p95", "p99", "web"):
        assert f"<title>{name}</title>" in page, name
    assert BYSTANDER[1] not in page  # another app's series stay out of this app's graphs
    day = web.get(f"/apps/{app_id}/graphs?range=day").text
    assert charts_drawn(day) == 5 and escape(HOSTILE) in day and "<script>alert" not in day

    admin_web = signed_in(ctl, admin)
    health = until("firing alert", lambda: admin_web.get("/admin/health").text, lambda p: "DiskFilling" in p)
    alerts = requests.get(prometheus.url + "/api/v1/alerts", timeout=10).json()["data"]["alerts"]
    assert {a["labels"]["alertname"]: a["state"] for a in alerts} == {"DiskFilling": "firing", "Quiet": "pending"}
    assert "Quiet" not in health  # firing alerts only
    assert "<b>disk</b>" not in health and escape(SUMMARY) in health
    assert "<script>alert" not in health and f"instance={escape(HOSTILE)}" in health
    assert "<td>node-1:9100</td><td>/</td><td>20.0 GiB</td>" in health and "<td>50.0</td>" in health
    before = time.time()
    health = admin_web.get("/admin/health").text
    after = time.time()  # the page computed the ages and days left in between

    def one_of(text, value) -> bool:
        return any(text.format(round(value(now), 1)) in health for now in (before, after))
    assert one_of("Last successful backup {} h ago.", lambda now: (now - exporter.backup_timestamp) / 3600)
    assert one_of(f"<td>{exporter.DOMAIN}</td><td>{{}}</td>", lambda now: (exporter.certificate_expiry - now) / 86400)


def test_without_prometheus_the_graphs_say_so():
    with live_controller() as ctl:
        web = Web(ctl.url)
        assert web.sign_in(ctl.admin_username, ctl.admin_password).status_code == 200
        r = requests.post(ctl.url + "/v2/apps/", json={"id": "plain"}, timeout=30,
                          headers={"Authorization": f"token {ctl.admin_token}"})
        assert r.status_code == 201
        assert "Metrics are not configured" in web.get("/apps/plain/graphs").text
        assert "Metrics are not configured" in web.get("/admin/health").text
