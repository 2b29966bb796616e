"""The controller's health probe reaches the task's own published port only, whatever a stored check says."""
from __future__ import annotations

import contextlib
import http.server
import threading

from controller_app.services import health
from tests.live import free_port


@contextlib.contextmanager
def answering(status: int):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_a_check_naming_another_port_still_probes_the_tasks_own_port():
    closed = free_port()
    with answering(200) as other_service:  # something else on the node, e.g. a platform service
        ok, message = health.check("127.0.0.1", closed, {"path": "/", "port": other_service})
        assert not ok and str(other_service) not in message, message
    with answering(200) as task_port:
        ok, message = health.check("127.0.0.1", task_port, {"path": "/", "port": closed})
        assert ok and message.endswith("answered 200"), message
