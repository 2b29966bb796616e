#!/usr/bin/env python3
"""Stand-in controller inside the role test host: state from /etc/fake-controller.json, acks to /run/fake-acks.json."""
import json
import os
import sys
import time

sys.path.insert(0, "/usr/local/lib")
from fakes import FakeController  # noqa: E402
from http.server import ThreadingHTTPServer  # noqa: E402

STATE = "/etc/fake-controller.json"
fc = FakeController()
fc.server.server_close()
fc.server = ThreadingHTTPServer(("127.0.0.1", 8000), fc.server.RequestHandlerClass)
fc.server.daemon_threads = True
import threading  # noqa: E402
threading.Thread(target=fc.server.serve_forever, daemon=True).start()
last = None
while True:
    try:
        with open(STATE) as fh:
            raw = fh.read()
    except FileNotFoundError:
        raw = "{}"
    if raw != last:
        last = raw
        state = json.loads(raw)
        fc.keys = state.get("keys", {})
        fc.perms = {a: set(u) for a, u in state.get("perms", {}).items()}
        fc.set_apps(state.get("apps", []))
    with open("/run/fake-acks.json.tmp", "w") as fh:
        json.dump([{k: v for k, v in a.items() if k != "at"} for a in fc.acks], fh)
    os.replace("/run/fake-acks.json.tmp", "/run/fake-acks.json")
    time.sleep(0.2)
