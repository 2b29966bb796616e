#!/usr/bin/env python3
"""The platform's idle cost and responsiveness as apps grow, on the converged all-in-one host (`slipway-aio`).

    .venv/bin/python bench/scale_bench.py [--apps 300] [--at 10,100,300] [--idle 30]

One source app is pushed over git (a `FROM scratch` image holding Debian's static busybox, serving a page with
`busybox httpd` on $PORT), then N apps deploy its image (`POST /v2/apps/{id}/builds/`), one web task each. At each
checkpoint of --at, with the platform at rest, it measures twice:
- **agents**: as converged, the node agent probing and reporting, the monitor following its reports;
- **own probes**: the node agent stopped, once the controller no longer takes its word (GET /v2/nodes/), so the
  monitor lists each app's tasks and probes them itself (what every platform did before the node agent);
and prints, per mode: the CPU (share of one core) of each platform unit over --idle seconds, read from its
processes' CPU time (controller, PostgreSQL, Docker Engine, containerd, node agent, route sync, nginx) and
their total; then, with the agent running again: controller and nginx memory, the deploy time of the next app,
`config:set` → serving on app 1 (the POST answers once the new release serves and the routers applied it),
how long a routing change (maintenance on) takes to be live in nginx, what lists every app: the API page by
page (as `slipway apps:list` does), the routers' `/v2/routes`, an app's pods (the scheduler's look-up), a dry run
of the registry's garbage collection; and three nginx reloads under load on app 1 (failed requests, nginx's
memory at its highest meanwhile). The idle cost per app is the slope between the first and the last checkpoint. Everything it made is deleted at the end. Writes bench/results/scale.json.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e import conftest as e2e  # noqa: E402  (host helpers shared with the end-to-end tests)

UNITS = {"controller": "slipway-controller.service", "postgresql": "postgresql@*-main.service",
         "dockerd": "docker.service", "containerd": "containerd.service", "node agent": "slipway-node-agent.service",
         "route sync": "slipway-routesync.service", "nginx": "nginx.service"}
DOCKERFILE = ('FROM scratch\nCOPY busybox /bin/busybox\nCOPY index.html /www/index.html\n'
              'CMD ["/bin/busybox", "sh", "-c", "exec /bin/busybox httpd -f -p ${PORT:-8080} -h /www"]\n')


SAMPLER = r"""
import glob, json, os, subprocess, sys
tick = os.sysconf("SC_CLK_TCK")
found = {}
for name, pattern in json.loads(sys.argv[1]).items():
    units = subprocess.run(["systemctl", "list-units", "--all", "--plain", "--no-legend", pattern],
                           capture_output=True, text=True).stdout.split()
    cg = subprocess.run(["systemctl", "show", "-p", "ControlGroup", "--value", units[0]],
                        capture_output=True, text=True).stdout.strip() if units else ""
    procs = [p for p in (f"/sys/fs/cgroup{cg}/cgroup.procs", f"/sys/fs/cgroup/systemd{cg}/cgroup.procs")
             if cg and os.path.exists(p)]
    cpu = 0
    for pid in (open(procs[0]).read().split() if procs else []):
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    memory = 0
    for path in (f"/sys/fs/cgroup{cg}/memory.current", f"/sys/fs/cgroup/memory{cg}/memory.usage_in_bytes"):
        if cg and os.path.exists(path):
            memory = int(open(path).read())
            break
    found[name] = {"cpu": cpu * 1_000_000 // tick, "memory": memory}
print(json.dumps(found))
"""


def cgroups() -> dict[str, dict[str, int]]:
    """Each unit's CPU time (µs, its processes' user and system time) and memory (bytes, its cgroup's), cgroup v1
    or v2."""
    p = subprocess.run(["docker", "exec", e2e.HOST, "python3", "-c", SAMPLER, json.dumps(UNITS)], capture_output=True,
                       text=True, check=True)
    return json.loads(p.stdout)


def available_memory() -> int:
    """What the machine (the host's kernel is this machine's) can still give, in bytes."""
    fields = dict(line.split(":", 1) for line in pathlib.Path("/proc/meminfo").read_text().splitlines())
    return int(fields["MemAvailable"].split()[0]) * 1024


def idle_cpu(seconds: float) -> dict[str, float]:
    """Each unit's share of one core over `seconds` at rest, and their total."""
    before, started = cgroups(), time.monotonic()
    time.sleep(seconds)
    after, elapsed = cgroups(), time.monotonic() - started
    shares = {name: (after[name]["cpu"] - before[name]["cpu"]) / 1e6 / elapsed for name in UNITS}
    return {**shares, "total": sum(shares.values())}


class Bench:
    def __init__(self, aio: dict, idle: float):
        self.aio, self.idle = aio, idle
        self.admin = e2e.API(aio["api"], aio["admin_token"])
        self.user = e2e.User(aio, e2e.unique("scale"))
        self.apps: list[str] = []
        self.image = ""
        self.deploys: list[float] = []

    # ---- set-up and tear-down ---------------------------------------------------------------------------
    def source(self) -> None:
        app = e2e.unique("scale-src-")
        self.user.api("POST", "/v2/apps/", {"id": app})
        self.apps.append(app)
        src = f"{e2e.WORK}/{app}"
        e2e.sh(f"mkdir -p {src}")
        busybox = shutil.which("busybox") or "/bin/busybox"
        subprocess.run(["docker", "cp", "-L", busybox, f"{e2e.HOST}:{src}/busybox"], check=True)
        e2e.git_repo(src, {"Dockerfile": DOCKERFILE, "index.html": "<p>scale bench</p>"})
        code, out, _ = e2e.push(self.user, app, src)
        assert code == 0, out[-2000:]
        _, builds = self.user.api("GET", f"/v2/apps/{app}/builds/")
        self.image = builds["results"][0]["image"]

    def deploy_one(self) -> float:
        app = e2e.unique("scale-")
        self.user.api("POST", "/v2/apps/", {"id": app})
        self.apps.append(app)
        started = time.monotonic()
        self.user.api("POST", f"/v2/apps/{app}/builds/", {"image": self.image})
        took = time.monotonic() - started
        self.deploys.append(took)
        return took

    def teardown(self) -> None:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda app: self.user.api("DELETE", f"/v2/apps/{app}/", expect=None), self.apps))

    # ---- the node agent ---------------------------------------------------------------------------------
    def reporting(self) -> bool:
        _, nodes = self.admin("GET", "/v2/nodes/")
        return all((n.get("agent") or {}).get("reporting") for n in nodes["results"] if n["state"] == "ready")

    def agent(self, running: bool) -> float:
        """Start or stop the node agent; seconds until the controller follows (takes or drops its word)."""
        started = time.monotonic()
        e2e.sh(f"systemctl {'start' if running else 'stop'} slipway-node-agent.service")
        e2e.wait_for(lambda: self.reporting() == running, timeout=180, interval=1,
                     message=f"the controller {'taking' if running else 'dropping'} the agent's word")
        return time.monotonic() - started

    # ---- one checkpoint ---------------------------------------------------------------------------------
    def generation_live(self) -> float:
        """Maintenance on for app 1: seconds until nginx serves the maintenance page (then off again)."""
        app = self.apps[1]
        domain = self.domain(app)
        started = time.monotonic()
        self.user.api("POST", f"/v2/apps/{app}/settings/", {"maintenance": True})
        e2e.wait_for(lambda: e2e.get(domain)[0] == 503, timeout=60, interval=0.02, message="maintenance live")
        took = time.monotonic() - started
        self.user.api("POST", f"/v2/apps/{app}/settings/", {"maintenance": False})
        e2e.wait_for(lambda: e2e.get(domain)[0] == 200, timeout=60, interval=0.1, message="maintenance off")
        return took

    def config_set(self, value: str) -> float:
        started = time.monotonic()
        self.user.api("POST", f"/v2/apps/{self.apps[1]}/config/", {"values": {"BENCH": value}})
        return time.monotonic() - started

    def apps_list(self) -> tuple[float, int]:
        started, path, count = time.monotonic(), "/v2/apps/?limit=100", 0
        while path:
            _, page = self.user.api("GET", path)
            count += len(page["results"])
            following = urllib.parse.urlsplit(page["next"] or "")
            path = f"{following.path}?{following.query}" if page["next"] else ""
        return time.monotonic() - started, count

    def domain(self, app: str) -> str:
        _, info = self.user.api("GET", f"/v2/apps/{app}/")
        return info["url"].split("://")[-1].strip("/")

    def listings(self) -> dict[str, float]:
        """Seconds of what lists every app (or looks one up among all)."""
        took = {}
        listed, count = self.apps_list()
        took["apps:list s"], took["apps listed"] = listed, count
        key = e2e.router_key()
        for name, command in (
                ("/v2/routes s", f"curl -fsS -o /dev/null -H 'X-Slipway-Router-Auth: {key}' "
                                 "http://127.0.0.1:8000/v2/routes"),
                ("registry GC dry run s", "/opt/slipway/agents/bin/slipway-registry-gc --config "
                                          "/etc/slipway/registry-gc.ini --dry-run >/dev/null")):
            started = time.monotonic()
            e2e.sh(command)
            took[name] = time.monotonic() - started
        started = time.monotonic()
        self.user.api("GET", f"/v2/apps/{self.apps[1]}/pods/")
        took["pods of app 1 s"] = time.monotonic() - started
        return took

    def reloads(self) -> dict:
        """Three nginx reloads while app 1 takes requests: failed requests, and nginx's highest memory."""
        load = e2e.Load(self.domain(self.apps[1]), "scale-reload")
        highest = 0
        for _ in range(3):
            e2e.sh("systemctl reload nginx.service")
            for _ in range(10):
                highest = max(highest, cgroups()["nginx"]["memory"])
                time.sleep(0.1)
        result = load.finish()
        return {"reload requests": result["requests"], "reload failures": result["failures"],
                "nginx highest memory during reloads MiB": highest / 2**20}

    def checkpoint(self, n: int) -> dict:
        print(f"\n== {n} apps ==", flush=True)
        time.sleep(5)  # the last deploy's drain and retirement
        agents = idle_cpu(self.idle)
        stopped_after = self.agent(False)
        try:
            own = idle_cpu(self.idle)
        finally:  # interrupted or not, the host keeps its agent
            started_after = self.agent(True)
        time.sleep(3)
        memory = cgroups()
        row = {"apps": n, "idle agents": agents, "idle own probes": own,
               "seconds until the controller dropped a stopped agent": round(stopped_after, 1),
               "seconds until it took a started agent's word": round(started_after, 1),
               "controller memory MiB": memory["controller"]["memory"] / 2**20,
               "nginx memory MiB": memory["nginx"]["memory"] / 2**20,
               "machine memory available MiB": available_memory() / 2**20,
               "config:set → serving s": self.config_set(str(n)), "routing change live s": self.generation_live(),
               **self.listings(), **self.reloads(), "next deploy s": self.deploy_one()}
        for key, value in row.items():
            shown = {k: round(v * 100, 2) for k, v in value.items()} if isinstance(value, dict) else value
            print(f"  {key}: {shown}" + (" (% of a core)" if isinstance(value, dict) else ""), flush=True)
        return row


def slope(rows: list[dict], mode: str) -> float:
    first, last = rows[0], rows[-1]
    return (last[mode]["total"] - first[mode]["total"]) / max(1, last["apps"] - first["apps"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--apps", type=int, default=300)
    ap.add_argument("--at", default="10,100,300", help="checkpoints (numbers of apps)")
    ap.add_argument("--idle", type=float, default=30, help="seconds of each idle measurement")
    ap.add_argument("--host", default=e2e.HOST)
    args = ap.parse_args()
    e2e.HOST = args.host
    marks = sorted({int(x) for x in args.at.split(",") if int(x) <= args.apps})
    bench = Bench(e2e.platform(), args.idle)
    rows, stopped = [], None
    try:
        bench.source()
        print(f"source image {bench.image}", flush=True)
        while len(bench.apps) - 1 < args.apps:
            try:
                bench.deploy_one()
            except Exception as e:  # how far the host got, and what stopped it, is the figure then
                stopped = {"deployed apps": len(bench.deploys), "error": str(e)[-1000:]}
                print(f"stopped after {len(bench.deploys)} deployed apps: {stopped['error']}", flush=True)
                break
            if len(bench.apps) - 1 in marks:
                rows.append(bench.checkpoint(len(bench.apps) - 1))
            elif len(bench.deploys) % 25 == 0:
                print(f"  {len(bench.deploys)} apps, last deploy {bench.deploys[-1]:.2f}s", flush=True)
    finally:
        bench.teardown()
    result = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows, "stopped": stopped,
              "deploy median s": statistics.median(bench.deploys) if bench.deploys else None}
    if len(rows) >= 2:
        for mode in ("idle agents", "idle own probes"):
            result[f"{mode}: % of a core per app"] = round(slope(rows, mode) * 100, 4)
            print(f"{mode}: {result[f'{mode}: % of a core per app']} % of a core per app "
                  f"({rows[0]['apps']} → {rows[-1]['apps']} apps)")
    out = ROOT / "bench" / "results" / "scale.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
