"""The controller's health probe (services/health.py) against the sample app (examples/hello: keep-alive, head
and body in two writes), as it probes every routed endpoint: many probes, not one traceback in the app's log."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from controller_app import probes
from controller_app.services import health
from tests.live import ROOT, free_port


def test_probes_leave_no_reset_in_the_apps_log():
    port = free_port()
    app = subprocess.Popen([sys.executable, os.path.join(ROOT, "examples", "hello", "app.py")],
                           env={"PORT": str(port), "PATH": "/usr/bin:/bin"},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not health.check("127.0.0.1", port, None)[0]:
            assert time.monotonic() < deadline, "the sample app did not start"
            time.sleep(0.1)
        for probe in range(50):
            ok, message = health.check("127.0.0.1", port, None)
            assert ok, (probe, message)
        ok, message = health.check("127.0.0.1", port, probes.check("web", {"path": "/"})["readinessProbe"], port)
        assert ok, message
        time.sleep(0.3)
    finally:
        app.terminate()
        err = app.communicate(timeout=10)[1]
    assert b"Traceback" not in err and b"ConnectionResetError" not in err, err.decode()[-2000:]
