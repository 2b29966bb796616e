"""A port on this machine that reaches a port on the host's loopback, for the tests that play a platform service:
the controller's port is walled from machines outside the platform and its routers refuse the services' own
calls, so a test acting as the builder or a router speaks to it from inside the host, one `docker exec` per
connection."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import threading

from .conftest import HOST

# Runs in the host: one connection to 127.0.0.1:<port>, carried over stdin and stdout.
BRIDGE = r"""
import socket, sys, threading
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
def up():
    while True:
        data = sys.stdin.buffer.read1(65536)
        if not data:
            break
        s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while True:
    data = s.recv(65536)
    if not data:
        break
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
"""


def _pump(read, write, done) -> None:
    try:
        while True:
            data = read(65536)
            if not data:
                break
            write(data)
    except OSError:
        pass
    finally:
        done()


def _carry(conn: socket.socket, port: int) -> None:
    p = subprocess.Popen(["docker", "exec", "-i", HOST, "python3", "-c", BRIDGE, str(port)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def to_host(data: bytes) -> None:
        p.stdin.write(data)
        p.stdin.flush()

    def stdin_done() -> None:
        with contextlib.suppress(OSError):
            p.stdin.close()

    def conn_done() -> None:
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_WR)

    threading.Thread(target=_pump, args=(conn.recv, to_host, stdin_done), daemon=True).start()
    _pump(p.stdout.read1, conn.sendall, conn_done)
    p.wait()
    conn.close()


@contextlib.contextmanager
def forwarded(port: int):
    """http://127.0.0.1:<local port> reaching the host's 127.0.0.1:<port>: yields the local URL."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=_carry, args=(conn, port), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        server.close()
