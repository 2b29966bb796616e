"""A tiny web app: answers on $PORT with a greeting from its config, its release and the task serving it."""
import http.server
import os
import socket

HOST = socket.gethostname()


class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients and the router reuse their connections
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms wait for a delayed ACK

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


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # socketserver's listen backlog is 5: a burst of connections would wait for SYN retries


Server(("", int(os.environ.get("PORT", "5000"))), Hello).serve_forever()
