"""A stand-in for Prometheus's HTTP API (the platform's metrics store is a separate program): answers
/api/v1/query_range, /api/v1/query and /api/v1/alerts with fixed series shaped as Prometheus answers them,
some of whose label values hold markup, and records the queries it was asked."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOSTILE = "<script>alert('label')</script>"


def _range(query: str, start: float, end: float, step: float) -> list[dict]:
    values = [[start + i * step, str(1 + (i % 7) / 3)] for i in range(int((end - start) / step) + 1)]
    metric = {"type": HOSTILE} if "by (type)" in query else {"status_class": "2xx"} if "status_class" in query else {}
    return [{"metric": metric, "values": values}]


def _instant(query: str) -> list[dict]:
    now = time.time()
    if "backup" in query:
        return [{"metric": {}, "value": [now, str(now - 7200)]}]
    if "node_filesystem" in query:
        value = "42.5" if "size_bytes" in query else str(20 * 2 ** 30)
        return [{"metric": {"instance": "node-1:9100", "mountpoint": "/"}, "value": [now, value]}]
    if "certificate" in query:
        return [{"metric": {"domain": "shop.example.test"}, "value": [now, str(now + 5 * 86400)]}]
    return []


class PrometheusStandIn:
    def __init__(self):
        self.queries: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlsplit(self.path)
                q = {k: v[-1] for k, v in parse_qs(url.query).items()}
                outer.queries.append(q.get("query", url.path))
                if url.path == "/api/v1/query_range":
                    data = {"resultType": "matrix", "result": _range(q["query"], float(q["start"]), float(q["end"]),
                                                                      float(q["step"]))}
                elif url.path == "/api/v1/query":
                    data = {"resultType": "vector", "result": _instant(q["query"])}
                elif url.path == "/api/v1/alerts":
                    data = {"alerts": [{"labels": {"alertname": "DiskFilling", "severity": "warning",
                                                   "instance": HOSTILE},
                                        "annotations": {"summary": "<b>disk</b> fills"}, "state": "firing",
                                        "activeAt": "2026-01-01T00:00:00Z"},
                                       {"labels": {"alertname": "Quiet"}, "state": "pending"}]}
                else:
                    self.send_error(404)
                    return
                body = json.dumps({"status": "success", "data": data}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
