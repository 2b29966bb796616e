"""Load generator run inside the platform host: GET http://127.0.0.1:<port>/ with a Host header in a loop
(a few threads, a new connection per request) until the stop file exists, then print a JSON summary:
requests, failures (non-200 answers and errors, with examples) and how many answers each body had.

    python3 load.py HOST STOPFILE [--port 80] [--threads 4] [--max-seconds 300]
"""
import argparse
import collections
import http.client
import json
import os
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("stop")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--max-seconds", type=float, default=300)
    args = ap.parse_args()
    lock = threading.Lock()
    stats = {"requests": 0, "failures": 0, "errors": collections.Counter(), "bodies": collections.Counter()}
    deadline = time.monotonic() + args.max_seconds
    started = time.time()

    def worker():
        while not os.path.exists(args.stop) and time.monotonic() < deadline:
            body, error = None, None
            try:
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
                conn.request("GET", "/", headers={"Host": args.host})
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
                if error:
                    stats["failures"] += 1
                    stats["errors"][error] += 1
                else:
                    stats["bodies"][body] += 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.threads)]
    for t in threads:
        t.start()
    print(json.dumps({"ready": True}), flush=True)
    for t in threads:
        t.join()
    print(json.dumps({"requests": stats["requests"], "failures": stats["failures"],
                      "seconds": round(time.time() - started, 2),
                      "errors": dict(stats["errors"].most_common(5)),
                      "bodies": dict(stats["bodies"].most_common(20))}), flush=True)


if __name__ == "__main__":
    main()
