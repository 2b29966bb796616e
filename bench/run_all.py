#!/usr/bin/env python3
"""Every benchmark of the project in one run, summarised as a markdown table and JSON. A benchmark, not a test.

    make bench        # or: .venv/bin/python bench/run_all.py [--skip push,router,controller,site]

Runs, each writing its own bench/results/<name>.json:
  controller  bench/controller_bench.py   controller throughput and p99 at 10,000 apps (wrk, local PostgreSQL)
  router      bench/router_bench.py       nginx router vs the app's task directly (wrk in the all-in-one host)
  push        bench/push_bench.py         push → serving, warm and cold; config:set → serving
  site        a second converge of the all-in-one host (site.yml): its time and its changed count (target 0)
then writes bench/results/summary.md and summary.json with the machine it ran on.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import re
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PY = str(ROOT / ".venv" / "bin" / "python")


def run(argv: list[str], env: dict | None = None) -> tuple[int, str, float]:
    started = time.monotonic()
    p = subprocess.run(argv, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=dict(os.environ, **(env or {})))
    sys.stdout.write(p.stdout[-3000:])
    return p.returncode, p.stdout, time.monotonic() - started


def site_rerun() -> dict:
    """A second converge of the (already converged) all-in-one host: what `site.yml` costs when nothing changed."""
    env = {"PATH": f"{ROOT}/.venv/bin:{os.environ.get('PATH', '')}", "SLIPWAY_CONTROLLER_SOURCE": str(ROOT / "controller_app")}
    rc, out, _ = run([str(ROOT / ".venv/bin/molecule"), "converge"], env)  # converged (and up to date) first
    if rc:
        return {"error": "converge failed"}
    rc, out, seconds = run([str(ROOT / ".venv/bin/molecule"), "converge"], env)
    changed = [int(n) for n in re.findall(r"changed=(\d+)", out)]
    result = {"seconds": round(seconds, 1), "changed": sum(changed) if changed else None, "rc": rc}
    (RESULTS / "site.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def load(name: str) -> dict:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def median_total(push: dict, kind: str, key: str = "total") -> float | None:
    values = [r[key] for r in push.get("runs", []) if r.get("kind") == kind and key in r]
    return round(statistics.median(values), 2) if values else None


def table(ran: dict) -> str:
    c, r, p, s = load("controller"), load("router"), load("push"), load("site")
    rows = [
        ("controller: GET /v2/apps/{id}/config/ at 10,000 apps", c.get("config_read", {}).get("rps"), "req/s", "≥ 500"),
        ("controller: p99 of that read", c.get("config_read", {}).get("p99_ms"), "ms", "≤ 20"),
        ("controller: GET /v2/apps/ (page of 100)", c.get("apps_list", {}).get("rps"), "req/s", ""),
        ("router throughput / direct to the task", r.get("ratio"), "ratio", "≥ 0.85"),
        ("push → serving, cold", median_total(p, "cold push"), "s", ""),
        ("push → serving, warm (median)", median_total(p, "warm push"), "s", "≤ 3"),
        ("push → push command returned, warm (median)", median_total(p, "warm push", "returned"), "s", ""),
        ("config:set → serving (median)", median_total(p, "config:set"), "s", "≤ 1.5"),
        ("second site.yml run (all-in-one)", s.get("seconds"), "s", ""),
        ("second site.yml run: changed tasks", s.get("changed"), "", "0"),
    ]
    lines = ["| benchmark | value | unit | target |", "|---|---|---|---|"]
    lines += [f"| {name} | {'—' if v is None else v} | {unit} | {target} |" for name, v, unit, target in rows]
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, "
               f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, "
               f"{platform.system()} {platform.release()}")
    return (f"Ran {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine}; "
            f"steps: {', '.join(f'{k} ({v})' for k, v in ran.items())}.\n\n" + "\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--skip", default="", help="comma-separated steps to leave out (their last results are shown)")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    RESULTS.mkdir(parents=True, exist_ok=True)
    ran = {}
    steps = {"controller": [PY, "bench/controller_bench.py"], "router": [PY, "bench/router_bench.py"],
             "push": [PY, "bench/push_bench.py"]}
    for name, argv in steps.items():
        if name not in skip:
            rc, _, seconds = run(argv)
            ran[name] = "ok" if rc == 0 else f"failed, exit {rc}"
    if "site" not in skip:
        ran["site"] = "ok" if "error" not in site_rerun() else "failed"
    summary = table(ran)
    (RESULTS / "summary.md").write_text(summary)
    (RESULTS / "summary.json").write_text(json.dumps({name: load(name) for name in ("controller", "router", "push", "site")},
                                                     indent=2) + "\n")
    print("\n" + summary)
    return 0 if all(v == "ok" for v in ran.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
