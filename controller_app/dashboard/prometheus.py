"""Reading Prometheus's HTTP API (SLIPWAY_PROMETHEUS_URL): ranges for the graphs, instant values and firing
alerts for platform health. Every failure is a MetricsError with words for the page."""
from __future__ import annotations

import math

import requests

from ..settings import get_settings

TIMEOUT = 5.0


class MetricsError(Exception):
    """Prometheus is not configured, unreachable, or refused the query."""


class NotConfigured(MetricsError):
    def __init__(self):
        super().__init__("Metrics are not configured: set SLIPWAY_PROMETHEUS_URL to Prometheus's address.")


def label(value: str) -> str:
    """`value` as a PromQL string literal's contents."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _get(path: str, params: dict | None = None) -> object:
    base = get_settings().prometheus_url
    if not base:
        raise NotConfigured()
    try:
        r = requests.get(base + path, params=params, timeout=TIMEOUT)
        body = r.json()
    except (requests.RequestException, ValueError) as exc:
        raise MetricsError(f"Prometheus did not answer: {exc.__class__.__name__}") from None
    if r.status_code != 200 or not isinstance(body, dict) or body.get("status") != "success":
        raise MetricsError(f"Prometheus refused the query: {str(body.get('error', r.status_code))[:200]}"
                           if isinstance(body, dict) else "Prometheus answered something else than JSON.")
    return body.get("data")


def _number(text) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None  # NaN and infinities: no point


def query_range(query: str, start: float, end: float, step: float) -> list[tuple[dict, list[tuple[float, float]]]]:
    """Each series of a range query: its labels and its (time, value) points (NaN left out)."""
    data = _get("/api/v1/query_range", {"query": query, "start": start, "end": end, "step": step})
    out = []
    for series in (data or {}).get("result", []) if isinstance(data, dict) else []:
        points = [(float(t), v) for t, text in series.get("values", []) if (v := _number(text)) is not None]
        out.append((dict(series.get("metric", {})), points))
    return out


def query(expr: str) -> list[tuple[dict, float]]:
    """Each series of an instant query: its labels and its value."""
    data = _get("/api/v1/query", {"query": expr})
    out = []
    for series in (data or {}).get("result", []) if isinstance(data, dict) else []:
        value = _number((series.get("value") or [None, None])[1])
        if value is not None:
            out.append((dict(series.get("metric", {})), value))
    return out


def firing_alerts() -> list[dict]:
    """The alerts that fire now: name, severity, summary, since."""
    data = _get("/api/v1/alerts")
    alerts = (data or {}).get("alerts", []) if isinstance(data, dict) else []
    return [{"name": a.get("labels", {}).get("alertname", "?"), "severity": a.get("labels", {}).get("severity", ""),
             "summary": a.get("annotations", {}).get("summary") or a.get("annotations", {}).get("description", ""),
             "labels": {k: v for k, v in a.get("labels", {}).items() if k not in ("alertname", "severity")},
             "since": a.get("activeAt", "")}
            for a in alerts if a.get("state") == "firing"]
