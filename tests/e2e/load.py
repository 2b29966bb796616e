"""Load generator run inside the platform host: GET http://127.0.0.1:<port>/ with a Host header in a loop
(a few threads, a new connection per request) until the stop file exists, then print a JSON summary:
requests, failures (non-200 answers and errors, with examples) and how many answers each body had.
With --tls CAFILE: HTTPS on --port (443) with the host as SNI, verified against CAFILE; the summary also
counts the answers per certificate serial number.

With --pause S each thread waits S seconds between requests (a steady trickle rather than a flood).

    python3 load.py HOST STOPFILE [--port 80] [--path /] [--threads 4] [--pause 0] [--max-seconds 300]
                    [--tls CAFILE]
"""
import argparse
import collections
import http.client
import json
import os
import socket
import ssl
import threading
import time


class LoopbackHTTPS(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 whatever the host name, which is still sent as SNI and verified."""

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("stop")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--path", default="/")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--pause", type=float, default=0.0)
    ap.add_argument("--max-seconds", type=float, default=300)
    ap.add_argument("--tls", metavar="CAFILE")
    args = ap.parse_args()
    context = ssl.create_default_context(cafile=args.tls) if args.tls else None
    lock = threading.Lock()
    stats = {"requests": 0, "failures": 0, "errors": collections.Counter(), "bodies": collections.Counter(),
             "serials": collections.Counter(), "slowest": 0.0}
    deadline = time.monotonic() + args.max_seconds
    started = time.time()

    def worker():
        while not os.path.exists(args.stop) and time.monotonic() < deadline:
            body, error, serial = None, None, None
            began = time.monotonic()
            try:
                if context:
                    conn = LoopbackHTTPS(args.host, args.port, timeout=10, context=context)
                    conn.connect()
                    serial = conn.sock.getpeercert().get("serialNumber")
                else:
                    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
                conn.request("GET", args.path, headers={"Host": args.host})
                r = conn.getresponse()
                data = r.read().decode("utf-8", "replace").strip()
                conn.close()
                if r.status == 200:
                    body = data
                else:
                    error = f"HTTP {r.status}: {data[:80]}"
            except OSError as e:
                error = f"{type(e).__name__}: {e}"[:120]
            with lock:
                stats["requests"] += 1
                stats["slowest"] = max(stats["slowest"], time.monotonic() - began)
                if error:
                    stats["failures"] += 1
                    stats["errors"][error] += 1
                else:
                    stats["bodies"][body] += 1
                if serial:
                    stats["serials"][serial] += 1
            if args.pause:
                time.sleep(args.pause)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.threads)]
    for t in threads:
        t.start()
    print(json.dumps({"ready": True}), flush=True)
    for t in threads:
        t.join()
    print(json.dumps({"requests": stats["requests"], "failures": stats["failures"],
                      "seconds": round(time.time() - started, 2), "slowest": round(stats["slowest"], 2),
                      "errors": dict(stats["errors"].most_common(5)),
                      "bodies": dict(stats["bodies"].most_common(20)),
                      "serials": dict(stats["serials"])}), flush=True)


if __name__ == "__main__":
    main()
