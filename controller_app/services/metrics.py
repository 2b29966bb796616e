"""The controller's Prometheus metrics (`GET /metrics`, api/routers/metrics.py).

Counted as they happen, in every uvicorn worker:
- slipway_api_requests_total{method,route,status}, slipway_api_request_duration_seconds{method,route}: each API
  request, by its route's template (`/v2/apps/{id}/config/`), never its path: what a client sends cannot make a
  label value (a path no route matches is counted under the route `unmatched`).
- slipway_deploys_total{app,outcome}, slipway_deploy_duration_seconds{outcome}: each deploy, succeeded or failed.

Several workers: prometheus_client's multiprocess mode. Each worker writes its counters to memory-mapped files in
the folder PROMETHEUS_MULTIPROC_DIR names (the controller's unit gives it a runtime folder that systemd makes empty
at each start), and a scrape, answered by any worker, adds up every worker's files, those of a worker that died
included. Without that variable (one process) the counters live in this process.

Computed from the database (and the scheduler) when scraped, the same whichever worker answers:
- slipway_apps; slipway_app_releases{app}: how many releases each app has;
- slipway_certificate_expiry_timestamp_seconds{domain,app}: each certificate the platform holds (uploaded or
  issued by ACME), once per domain it serves (a certificate attached to none: its common name, app "");
- slipway_node_ready{node}: 1 when Swarm says the node is ready; slipway_node_agent_reporting{node}: 1 when its
  node agent reported recently enough to be trusted (services/agentview.py), by node hostname.
"""
from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import App, Cert, Domain, Release
from ..scheduler.base import SchedulerError
from . import agentview
from .scheduling import get_scheduler
from ..settings import get_settings

UNMATCHED = "unmatched"
DEPLOY_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200)

_registry = CollectorRegistry()
requests_total = Counter("slipway_api_requests_total", "API requests answered, by route template and status.",
                         ["method", "route", "status"], registry=_registry)
request_seconds = Histogram("slipway_api_request_duration_seconds", "Seconds taken to answer API requests.",
                            ["method", "route"], registry=_registry)
deploys_total = Counter("slipway_deploys_total", "Deploys that ended, by app and outcome (succeeded, failed).",
                        ["app", "outcome"], registry=_registry)
deploy_seconds = Histogram("slipway_deploy_duration_seconds", "Seconds deploys took, by outcome.", ["outcome"],
                           buckets=DEPLOY_BUCKETS, registry=_registry)


def record_deploy(app: str, succeeded: bool, seconds: float) -> None:
    outcome = "succeeded" if succeeded else "failed"
    deploys_total.labels(app, outcome).inc()
    deploy_seconds.labels(outcome).observe(seconds)


def _counted() -> bytes:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return generate_latest(_registry)
    merged = CollectorRegistry()
    MultiProcessCollector(merged, folder)
    return generate_latest(merged)


def _gauge(name: str, doc: str, labels: list[str], samples) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for values, value in samples:
        family.add_metric(values, value)
    return family


def _apps(db: Session):
    releases = dict(db.execute(select(App.id, func.count(Release.uuid)).outerjoin(Release, Release.app_uuid == App.uuid)
                               .group_by(App.id)).all())
    yield _gauge("slipway_apps", "Apps on the platform.", [], [([], len(releases))])
    yield _gauge("slipway_app_releases", "Releases each app has.", ["app"],
                 [([app], count) for app, count in sorted(releases.items())])


def _certificates(db: Session):
    rows = db.execute(select(Cert.common_name, Cert.expires, Domain.domain, App.id)
                      .outerjoin(Domain, Domain.cert_uuid == Cert.uuid)
                      .outerjoin(App, App.uuid == Domain.app_uuid)).all()
    samples = {(domain or common_name, app or ""): expires.timestamp() for common_name, expires, domain, app in rows}
    yield _gauge("slipway_certificate_expiry_timestamp_seconds", "When each certificate the platform holds expires.",
                 ["domain", "app"], [(list(key), when) for key, when in sorted(samples.items())])


def _nodes(db: Session):
    try:
        nodes = get_scheduler().nodes() if get_settings().scheduler != "none" else []
    except (SchedulerError, OSError):
        nodes = []  # the scheduler is away: the agents' reports still tell
    names = {n.id: n.hostname for n in nodes}
    reporting = {names.get(node, node): int(ok) for node, (_unused, ok) in agentview.agents(db).items()}
    reporting.update({n.hostname: reporting.get(n.hostname, 0) for n in nodes})
    yield _gauge("slipway_node_ready", "1 when the scheduler says the node is ready.", ["node"],
                 [([n.hostname], int(n.state == "ready")) for n in sorted(nodes, key=lambda n: n.hostname)])
    yield _gauge("slipway_node_agent_reporting", "1 when the node's agent reports to the controller.", ["node"],
                 [([node], value) for node, value in sorted(reporting.items())])


class _FromDatabase:
    def __init__(self, db: Session):
        self.db = db

    def collect(self):
        yield from _apps(self.db)
        yield from _certificates(self.db)
        yield from _nodes(self.db)


def render(db: Session) -> bytes:
    """The exposition text: the counters of every worker, then the gauges read now."""
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(_FromDatabase(db))
    return _counted() + generate_latest(gauges)
