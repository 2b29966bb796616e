"""Serve the controller on the listening socket systemd hands over (slipway-controller.socket):
`python3 -m controller_app.serve --workers N [--ssl-certfile F --ssl-keyfile K]`.

systemd owns the socket, so it stays open while the service restarts: a connection made meanwhile waits in the
socket's backlog and the next process accepts it, where a server binding the port itself would refuse it.
Without a socket from systemd (LISTEN_FDS unset) it binds --host and --port itself, for a run by hand.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from typing import MutableMapping

import uvicorn
from uvicorn.supervisors import Multiprocess

from controller_app.services import changes

SD_LISTEN_FDS_START = 3  # the first descriptor systemd passes (sd_listen_fds(3))
# On a stop, how long the requests still open (a `logs -f`, an interactive `run`) may go on before they are cut:
# the next process starts only once this one is gone, and new connections wait for it in the socket's backlog.
GRACEFUL_STOP_SECONDS = 5
ARRIVAL_SECONDS = 0.5  # on a stop, for the requests of the connections accepted last to arrive


def inherited_socket(environ: MutableMapping[str, str] | None = None) -> socket.socket | None:
    """The one listening socket systemd passed to this process, or None when it passed none."""
    environ = os.environ if environ is None else environ
    if environ.get("LISTEN_PID") != str(os.getpid()) or not environ.get("LISTEN_FDS"):
        return None
    count = int(environ["LISTEN_FDS"])
    if count != 1:
        raise SystemExit(f"expected one listening socket from systemd, got {count}")
    # fileno= lets the socket find its own family (AF_INET or AF_INET6), which TCP_NODELAY and addresses need
    sock = socket.socket(fileno=SD_LISTEN_FDS_START)
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        environ.pop(name, None)  # the workers and anything they start are not the socket's owner
    return sock


class Server(uvicorn.Server):
    """uvicorn's server, whose stop ends the long polls at once (they would hold it up to their wait) and answers
    the connections it accepted last."""

    def handle_exit(self, sig, frame) -> None:
        changes.stop_waiting()
        super().handle_exit(sig, frame)

    async def shutdown(self, sockets=None) -> None:
        # uvicorn closes every connection that has not sent a whole request yet; one accepted a moment before
        # the stop has its request on the way, and would get a reset. Stop accepting first, let those requests
        # arrive (they are then answered), and only then shut the connections down.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        await asyncio.sleep(ARRIVAL_SECONDS)
        await super().shutdown(sockets)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="controller_app.serve")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1", help="without a socket from systemd")
    parser.add_argument("--port", type=int, default=8000, help="without a socket from systemd")
    parser.add_argument("--ssl-certfile")
    parser.add_argument("--ssl-keyfile")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    # the controller reads the routers' forwarded headers itself, from trusted proxies only
    config = uvicorn.Config("controller_app.main:app", host=args.host, port=args.port, workers=args.workers,
                            ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile, proxy_headers=False,
                            server_header=False, timeout_graceful_shutdown=GRACEFUL_STOP_SECONDS)
    server = Server(config)
    sock = inherited_socket() or config.bind_socket()
    if args.workers > 1:
        Multiprocess(config, target=server.run, sockets=[sock]).run()
    else:
        server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
