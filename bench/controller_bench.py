#!/usr/bin/env python3
"""Controller throughput and latency at 10,000 apps (a benchmark, not a test).

Seeds 10,000 apps (each with config and release v1) straight into a fresh database, starts the real
controller under uvicorn, and drives it with wrk from this machine:
  - GET /v2/apps/{id}/config/  (random apps; the issue's target: >= 500 req/s, p99 <= 20 ms)
  - GET /v2/apps/              (first page of 100)
Prints a markdown table and writes bench/results/controller.json.

    make bench            # or: .venv/bin/python bench/controller_bench.py [--apps N] [--seconds S] [--workers W]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import wrkparse  # noqa: E402  (beside this script)
from tests.live import controller_env, free_port, fresh_database, migrate, stop, wait_http  # noqa: E402

TARGET_RPS, TARGET_P99_MS = 500, 20
LUA_RANDOM_APP = """
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/v2/apps/bench-" .. math.random(0, %d) .. "/config/")
end
"""


def seed(db_url: str, apps: int) -> str:
    """Create user `bench` (admin) with a known token and `apps` apps; returns the token."""
    import hashlib

    import psycopg2

    from controller_app.services.passwords import hash_password

    token = uuid.uuid4().hex
    conn = psycopg2.connect(db_url)
    with conn, conn.cursor() as cur:
        cur.execute("INSERT INTO users (username, email, first_name, last_name, password_hash, is_superuser, "
                    "is_active) VALUES ('bench', '', '', '', %s, false, true) RETURNING id",
                    (hash_password("bench"),))
        uid = cur.fetchone()[0]
        cur.execute("INSERT INTO tokens (user_id, digest) VALUES (%s, %s)",
                    (uid, hashlib.sha256(token.encode()).hexdigest()))
        rows = [(str(uuid.uuid4()), f"bench-{i}", str(uuid.uuid4()), str(uuid.uuid4())) for i in range(apps)]
        cur.executemany("INSERT INTO apps (uuid, id, owner_id, structure, maintenance, routable, enforce_https, "
                        "whitelist, endpoints, created, updated) VALUES (%s, %s, %s, '{}', false, true, false, "
                        "'[]', '[]', now(), now())", [(r[0], r[1], uid) for r in rows])
        cur.executemany("INSERT INTO configs (uuid, app_uuid, owner_id, values, memory, cpu, tags, healthcheck, "
                        "created, updated) VALUES (%s, %s, %s, '{\"FOO\": \"bar\", \"DEBUG\": \"0\"}', '{}', "
                        "'{}', '{}', '{}', now(), now())", [(r[2], r[0], uid) for r in rows])
        cur.executemany("INSERT INTO releases (uuid, app_uuid, owner_id, version, config_uuid, summary, state, "
                        "exception, created, updated) VALUES (%s, %s, %s, 1, %s, 'bench created initial release', "
                        "'serving', '', now(), now())", [(r[3], r[0], uid, r[2]) for r in rows])
        cur.execute("ANALYZE")
    conn.close()
    return token


def wrk(url: str, token: str, seconds: int, connections: int, script: str | None = None) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"Authorization: token {token}"]
    if script:
        cmd += ["-s", script]
    return wrkparse.parse(subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--apps", type=int, default=10_000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1)  # the controller role's default (slipway_controller_workers)
    args = ap.parse_args()
    results = {"apps": args.apps, "workers": args.workers, "connections": args.connections, "cpus": os.cpu_count(),
               "load_before": os.getloadavg()[0]}  # what else ran: the tail depends on it
    with fresh_database() as db_url:
        env = controller_env(db_url, SLIPWAY_MONITOR_INTERVAL="0")
        migrate(env)
        token = seed(db_url, args.apps)
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "controller_app.main:app", "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", str(args.workers), "--log-level", "warning",
                                 "--no-access-log"], env=env, cwd=ROOT)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(base + "/readiness")
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
                f.write(LUA_RANDOM_APP % (args.apps - 1))
            wrk(base + "/", token, 2, args.connections, f.name)  # warm up every worker's pool
            results["config_read"] = wrk(base + "/", token, args.seconds, args.connections, f.name)
            results["apps_list"] = wrk(base + "/v2/apps/", token, args.seconds, args.connections)
            os.unlink(f.name)
        finally:
            stop(proc)
    print(f"| controller, {args.apps} apps, {args.workers} uvicorn workers, wrk {args.connections} connections "
          f"| req/s | p50 ms | p99 ms | non-2xx |")
    print("|---|---|---|---|---|")
    for name, label in (("config_read", "GET /v2/apps/{id}/config/ (random app)"),
                        ("apps_list", "GET /v2/apps/ (page of 100)")):
        r = results[name]
        print(f"| {label} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['non_2xx']} |")
    results["load_after"] = os.getloadavg()[0]
    print(f"load average (1 min) before {results['load_before']:.1f}, after {results['load_after']:.1f}")
    r = results["config_read"]
    met = r["rps"] >= TARGET_RPS and r["p99_ms"] <= TARGET_P99_MS and r["non_2xx"] == 0
    print(f"config read target (>= {TARGET_RPS} req/s, p99 <= {TARGET_P99_MS} ms): {'met' if met else 'NOT met'}")
    results["config_read_target_met"] = met
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "controller.json"), "w") as f:
        json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
