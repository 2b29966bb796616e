#!/usr/bin/env python3
"""Router throughput: an app through nginx (the router) vs the same app's task hit directly, on the converged
all-in-one host (molecule/default, container `slipway-aio`). A benchmark, not a test.

    .venv/bin/python bench/router_bench.py [--seconds 10] [--connections 32] [--host slipway-aio]

Pushes two apps with real `git push` (examples/hello, and a static file served by nginx: the worst case for a
proxy, an app as cheap as the router itself), then runs wrk inside the
host: against the app inside its task's network namespace, then the router with the app's Host header, alternating
(direct, router, direct, router) so both see the same machine. Prints a markdown table and the ratio
router/direct (target ≥ 0.85); writes bench/results/router.json.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import statistics
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import wrkparse  # noqa: E402  (beside this script)
from tests.e2e import conftest as e2e  # noqa: E402  (host helpers shared with the end-to-end tests)

TARGET = 0.85
# A fast app, so the figure is the router's cost rather than the app's: nginx serving one small file, as an
# unprivileged user (the tasks run with every capability dropped).
DOCKERFILE = """FROM {registry}/slipway/stack:trixie
RUN apt-get update -q && apt-get install -y -q --no-install-recommends nginx && rm -rf /var/lib/apt/lists/*
COPY index.html /srv/index.html
COPY app.conf /etc/app.conf
USER www-data
CMD ["sh", "-c", "sed s/APP_PORT/$PORT/ /etc/app.conf > /tmp/app.conf && exec nginx -c /tmp/app.conf"]
"""
APP_CONF = """daemon off; worker_processes 1; pid /tmp/nginx.pid; error_log stderr;
events { worker_connections 1024; }
http {
  access_log off; client_body_temp_path /tmp/body; proxy_temp_path /tmp/proxy; fastcgi_temp_path /tmp/fcgi;
  uwsgi_temp_path /tmp/uwsgi; scgi_temp_path /tmp/scgi;
  server { listen APP_PORT; root /srv; }
}
"""


def wrk(url: str, host: str | None, seconds: int, connections: int, netns_of: str | None = None) -> dict:
    header = f"-H {e2e.shlex.quote('Host: ' + host)} " if host else ""
    enter = f"nsenter -t {netns_of} -n " if netns_of else ""
    return wrkparse.parse(e2e.sh(f"{enter}wrk -t2 -c{connections} -d{seconds}s --latency {header}{url}").stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--host", default=e2e.HOST)
    args = ap.parse_args()
    e2e.HOST = args.host
    aio = e2e.platform()
    e2e.sh("command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null", timeout=600)

    user = e2e.User(aio, e2e.unique("rbench"))
    hello = {name: (ROOT / "examples" / "hello" / name).read_text() for name in ("Dockerfile", "Procfile", "app.py")}
    hello["Dockerfile"] = re.sub(r"^FROM .*", f"FROM {aio['registry']}/slipway/stack:trixie", hello["Dockerfile"], flags=re.M)
    apps = {"examples/hello (Python)": hello,
            "static file (nginx, 1 worker)": {"Dockerfile": DOCKERFILE.format(registry=aio["registry"]),
                                              "index.html": "ok " * 200, "app.conf": APP_CONF}}
    results, lines = {}, []
    for label, files in apps.items():
        one = measure(user, files, args)
        results[label] = one
        lines.append(f"| {label} | {one['direct_rps']:.0f} | {one['router_rps']:.0f} | {one['ratio']:.2f} | "
                     f"{one['direct_p99_ms']} / {one['router_p99_ms']} | {one['failed']} |")
    print("\n| app | directly req/s | through the router req/s | ratio | p99 ms direct / router | failed |\n"
          "|---|---|---|---|---|---|\n" + "\n".join(lines) + f"\n\ntarget: ratio ≥ {TARGET} "
          f"({args.connections} connections, {args.seconds} s × {args.rounds} rounds, medians)")
    os.makedirs(ROOT / "bench" / "results", exist_ok=True)
    (ROOT / "bench" / "results" / "router.json").write_text(json.dumps(
        {"apps": results, "ratio": results["examples/hello (Python)"]["ratio"], "target": TARGET,
         "seconds": args.seconds, "connections": args.connections}, indent=2) + "\n")
    return 0


def measure(user, files: dict, args) -> dict:
    app = e2e.unique("rbench-")
    user.api("POST", "/v2/apps/", {"id": app})
    domain = user.api("GET", f"/v2/apps/{app}/")[1]["url"].split("://")[-1].strip("/")
    e2e.git_repo(f"{e2e.WORK}/src-{app}", files)
    try:
        rc, out, _ = e2e.push(user, app, f"{e2e.WORK}/src-{app}")
        if rc:
            raise SystemExit("push failed:\n" + out[-3000:])
        # "directly": wrk inside the task's own network namespace against the app's port on its loopback (no
        # docker-proxy, no private address); "through the router": the Host header to nginx on the host's loopback.
        pid, port = e2e.wait_for(lambda: e2e.sh(
            f"t=$(docker ps -q --filter label=com.docker.swarm.service.name --filter label=slipway.app={app} | head -1); "
            "[ -n \"$t\" ] && docker inspect -f '{{.State.Pid}} {{range .Config.Env}}{{println .}}{{end}}' $t "
            "| awk 'NR == 1 {print $1; sub(/^[0-9]+ /, \"\")} sub(/^PORT=/, \"\")'", check=False).stdout.split(),
            timeout=30, message="the app's task")
        direct, routed = [], []
        for _ in range(args.rounds):
            direct.append(wrk(f"http://127.0.0.1:{port}/", None, args.seconds, args.connections, netns_of=pid))
            routed.append(wrk("http://127.0.0.1/", domain, args.seconds, args.connections))
    finally:
        user.api("DELETE", f"/v2/apps/{app}/", expect=None)
    d, r = (statistics.median(x["rps"] for x in runs) for runs in (direct, routed))
    return {"direct": direct, "router": routed, "direct_rps": d, "router_rps": r, "ratio": round(r / d, 3),
            "direct_p99_ms": statistics.median(x["p99_ms"] for x in direct),
            "router_p99_ms": statistics.median(x["p99_ms"] for x in routed),
            "failed": sum(x["non_2xx"] + x["socket_errors"] for x in direct + routed)}


if __name__ == "__main__":
    sys.exit(main())
