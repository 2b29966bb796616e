"""The sockets under docker-py's raw streams: shutting one down is how a blocked reader is released
(log streams, interactive one-off sessions)."""
from __future__ import annotations

import contextlib
import socket


def raw_socket(obj) -> socket.socket | None:
    """The socket under a docker-py raw stream (SocketIO, a response, a socket)."""
    if hasattr(obj, "_sock"):
        return obj._sock  # noqa: SLF001 - docker-py's SocketIO keeps it there
    return obj if isinstance(obj, socket.socket) else None


def response_socket(response) -> socket.socket | None:
    with contextlib.suppress(AttributeError):
        fp = response.raw._fp.fp  # noqa: SLF001 - the SDK's own CancellableStream does the same
        raw = fp.raw if hasattr(fp, "raw") else fp
        return raw_socket(raw)
    return None


def shutdown(sock: socket.socket | None) -> None:
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
