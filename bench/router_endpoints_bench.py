#!/usr/bin/env python3
"""An endpoint change through the router: render + `nginx -t` + reload vs the endpoint table pushed to nginx's Lua
balancer, at 10, 300 and 1,000 apps, on this machine's nginx (Debian's, with libnginx-mod-http-lua). A benchmark,
not a test.

    PYTHONPATH=$PWD/cli:$PWD .venv/bin/python bench/router_endpoints_bench.py [--apps 10,300,1000] [--rounds 7]

A local nginx (2 workers, the agents' test configuration) and the route sync's own code in this process (no
controller: each generation is handed to RouteSync.apply). N apps, one domain and one endpoint each; every round
moves app 0 to another backend, and a client asks app 0 every millisecond from the moment the generation is
handed over until the new backend answers. "live" is that time; "ack" is when apply returns (the route sync
would acknowledge then). The reload path is the route sync with no push socket: every generation is rendered,
tested and reloaded, as before the push. Prints a markdown table; writes bench/results/router_endpoints.json.

--tree DIR measures another checkout's route sync and test nginx instead (its agents/ and tests/agents/, e.g.
`git archive <commit> agents tests/agents roles/router | tar -x -C DIR`): the reload path only, when it has no push.
"""
from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import pathlib
import shutil
import socket
import socketserver
import statistics
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


class Backend(socketserver.ThreadingTCPServer):
    """A keep-alive HTTP/1.1 backend answering {"name": ...} in one write (no Nagle wait between head and body)."""
    daemon_threads = True

    def __init__(self, name: str):
        body = json.dumps({"name": name}).encode()
        self.answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
            len(body), body)
        super().__init__(("127.0.0.1", 0), Handler)
        self.endpoint = {"address": "127.0.0.1", "port": self.server_address[1]}
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            while line not in (b"\r\n", b"\n", b""):
                line = self.rfile.readline(65536)
            self.request.sendall(self.server.answer)


def routes(n: int, generation: int, first: dict, rest: dict) -> dict:
    return {"generation": generation, "apps": [
        {"id": f"app{i}", "domains": [f"app{i}.bench.test"], "certs": {}, "whitelist": [], "maintenance": False,
         "enforce_https": False, "endpoints": [first if i == 0 else rest]} for i in range(n)]}


def answer(port: int) -> str | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/", headers={"Host": "app0.bench.test"})
        r = conn.getresponse()
        body = r.read()
        return json.loads(body)["name"] if r.status == 200 else None
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def one_change(rs, nginx, table: dict, want: str) -> tuple[float, float]:
    """(seconds until the new backend answers, seconds until apply returned)"""
    done: list[float] = []
    t0 = time.monotonic()
    worker = threading.Thread(target=lambda: (rs.apply(table), done.append(time.monotonic() - t0)))
    worker.start()
    while answer(nginx.http_port) != want:
        if time.monotonic() - t0 > 30:
            raise RuntimeError(f"{want} never answered")
        time.sleep(0.001)
    live = time.monotonic() - t0
    worker.join()
    return live, done[0]


def measure(n: int, rounds: int, push: bool, ups: dict) -> dict:
    from conftest import NGINX, Nginx  # the agents' test nginx (with this tree's main config)
    from slipway_agents.routesync import DEFAULTS, RouteSync
    d = tempfile.mkdtemp(prefix="slipway-bench-")
    os.chmod(d, 0o755)
    nginx = Nginx(d)
    with open(nginx.conf) as fh:
        conf = fh.read().replace("worker_processes 1;", "worker_processes 2;")
    with open(nginx.conf, "w") as fh:
        fh.write(conf)
    nginx.start()
    try:
        rs = RouteSync(dict(DEFAULTS, controller_url="http://127.0.0.1:9", router_key="k", nginx=NGINX,
                            nginx_prefix=d, nginx_conf=nginx.conf, config_dir=nginx.config_dir,
                            http_listen=f"127.0.0.1:{nginx.http_port}", https_listen="",
                            **({"endpoints_socket": nginx.endpoints_socket if push else ""}
                               if "endpoints_socket" in DEFAULTS else {})))
        rs.ensure_live()
        rs.apply(routes(n, 1, ups["a"].endpoint, ups["rest"].endpoint))
        lives, acks = [], []
        for r in range(rounds):
            name = "b" if r % 2 == 0 else "a"
            live, ack = one_change(rs, nginx, routes(n, r + 2, ups[name].endpoint, ups["rest"].endpoint), name)
            lives.append(live)
            acks.append(ack)
        return {"live": statistics.median(lives), "ack": statistics.median(acks), "live_max": max(lives)}
    finally:
        nginx.stop()
        shutil.rmtree(d, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--apps", default="10,300,1000")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--tree", default=str(ROOT))
    args = ap.parse_args()
    sys.path[:0] = [os.path.join(args.tree, "agents"), os.path.join(args.tree, "tests", "agents")]
    from conftest import NGINX
    from slipway_agents.routesync import DEFAULTS
    paths = ("reload", "push") if "endpoints_socket" in DEFAULTS else ("reload",)
    logging.basicConfig(level=os.environ.get("BENCH_LOG", "ERROR"))
    ups = {n: Backend(n) for n in ("a", "b", "rest")}
    results = {}
    try:
        for n in (int(x) for x in args.apps.split(",")):
            for path in paths:
                results[f"{n}/{path}"] = measure(n, args.rounds, path == "push", ups)
                print(f"{n} apps, {path}: {results[f'{n}/{path}']}", file=sys.stderr)
    finally:
        for u in ups.values():
            u.close()
    print(f"\nnginx {os.popen(f'{NGINX} -v 2>&1').read().strip().split('/')[-1]}, {os.cpu_count()} cores, "
          f"medians of {args.rounds} rounds (max in brackets), seconds from the new generation:\n")
    print("| apps | " + " | ".join(f"{p}: new endpoint answers | {p}: ack" for p in paths) + " |")
    print("|---" * (1 + 2 * len(paths)) + "|")
    for n in args.apps.split(","):
        cells = [f"{r['live']:.3f} ({r['live_max']:.3f}) | {r['ack']:.3f}"
                 for r in (results[f"{n}/{p}"] for p in paths)]
        print(f"| {n} | " + " | ".join(cells) + " |")
    name = "router_endpoints.json" if args.tree == str(ROOT) else "router_endpoints_tree.json"
    out = ROOT / "bench" / "results" / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
