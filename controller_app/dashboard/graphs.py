"""An app's graphs over the last hour or day, read from Prometheus (SLIPWAY_PROMETHEUS_URL): requests by
status class, errors, latency quantiles, CPU and memory by process type. The metrics come from the routers
and the node agents."""
from __future__ import annotations

import collections
import time

from fastapi import APIRouter, Request

from ..api.deps import DB
from . import charts, prometheus
from .pages import Signed, render, usable_app

router = APIRouter()
RANGES = {"hour": (3600, 15, "5m"), "day": (86400, 600, "15m")}  # span, step, rate window (seconds, PromQL)


def _latency(app: str, q: float, window: str) -> str:
    return (f"histogram_quantile({q}, sum by (le) "
            f"(rate(slipway_router_request_duration_seconds_bucket{{app=\"{app}\"}}[{window}])))")


def panels(app_id: str, window: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(title, unit, [(series name, PromQL)]) of each graph; a name's {label} is the series' label value."""
    a = prometheus.label(app_id)
    return [
        ("Requests", "req/s", [("{status_class}", f"sum by (status_class) "
                                                  f"(rate(slipway_router_requests_total{{app=\"{a}\"}}[{window}]))")]),
        ("Errors", "req/s", [("5xx", f"sum(rate(slipway_router_requests_total{{app=\"{a}\",status_class=\"5xx\"}}"
                                     f"[{window}]))"),
                             ("upstream errors", f"sum(rate(slipway_router_upstream_errors_total{{app=\"{a}\"}}"
                                                 f"[{window}]))")]),
        ("Latency", "s", [(f"p{int(q * 100)}", _latency(a, q, window)) for q in (0.5, 0.95, 0.99)]),
        ("CPU", "cores", [("{type}", f"sum by (type) (rate(slipway_task_cpu_seconds_total{{app=\"{a}\"}}"
                                     f"[{window}]))")]),
        ("Memory", "bytes", [("{type}", f"sum by (type) (slipway_task_memory_bytes{{app=\"{a}\"}})")]),
    ]


def draw(app_id: str, span: str) -> list[dict]:
    seconds, step, window = RANGES[span]
    end = time.time()
    start = end - seconds
    out = []
    for title, unit, queries in panels(app_id, window):
        series = []
        for name, expr in queries:
            for labels, points in prometheus.query_range(expr, start, end, step):
                series.append((name.format_map(collections.defaultdict(str, labels)), points))
        out.append(charts.chart(title, unit, series, start, end))
    return out


@router.get("/apps/{app_id}/graphs")
def graphs_page(request: Request, db: DB, who: Signed, app_id: str, range: str = "hour"):
    app = usable_app(db, who.user, app_id)
    span = range if range in RANGES else "hour"
    try:
        drawn, error = draw(app.id, span), ""
    except prometheus.MetricsError as exc:
        drawn, error = [], str(exc)
    return render(request, "graphs.html", who, app=app, charts=drawn, error=error, span=span, spans=list(RANGES))
