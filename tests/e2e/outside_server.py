"""The "internet" of the security and buildpack tests: a static file server over HTTP and HTTPS, run in a
container beside the platform host. Serves the folder it is started in; `server.crt`/`server.key` there (if
present) enable HTTPS.
    python3 outside_server.py HTTP_PORT HTTPS_PORT
"""
import http.server
import os
import ssl
import sys
import threading


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(port: int, tls: bool) -> None:
    server = http.server.ThreadingHTTPServer(("0.0.0.0", port), Quiet)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain("server.crt", "server.key")
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    threads = [threading.Thread(target=serve, args=(int(sys.argv[1]), False), daemon=True)]
    if os.path.exists("server.crt"):
        threads.append(threading.Thread(target=serve, args=(int(sys.argv[2]), True), daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
