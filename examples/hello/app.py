"""A tiny web app: answers on $PORT with a greeting from its config, its release and the task serving it."""
import http.server
import os
import socket

HOST = socket.gethostname()


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = (f"{os.environ.get('GREETING', 'Hello from Slipway')} "
                f"({os.environ.get('SLIPWAY_RELEASE', '?')} on {HOST})\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):  # one line per request on stdout is noise under load
        pass


http.server.ThreadingHTTPServer(("", int(os.environ.get("PORT", "5000"))), Hello).serve_forever()
