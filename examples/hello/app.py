"""A tiny web app: answers on $PORT with a greeting from its config."""
import http.server
import os


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = f"{os.environ.get('GREETING', 'Hello from Slipway')} ({os.environ.get('SLIPWAY_RELEASE', '?')})\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(body.encode())


http.server.ThreadingHTTPServer(("", int(os.environ.get("PORT", "5000"))), Hello).serve_forever()
