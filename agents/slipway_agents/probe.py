"""An HTTP/1.1 health probe that leaves no trace in the app's logs (node agent).

A probe that closes its connection with response bytes still unread makes the kernel answer with a reset, and
an app server waiting for the next request on that keep-alive connection logs a ConnectionResetError. This
probe asks for `Connection: close`, reads the whole response (status line, headers and body, framed by
Content-Length, chunked encoding or the server's close) and only then closes, so the server sees a plain FIN.

The verdict is the status line's. The head may be up to 64 KiB (more fails the check). The body is read and
thrown away up to 1 MiB, within what is left of the timeout: a page that goes on (a stream at `/`) or runs
over the bound is closed there with its status still judged, the one case where a reset can go out. The
connection and the head must arrive within the check's timeout.

The rule is the controller's (controller_app/services/health.py): with an explicit path a status of 200-399
is healthy, by default any answer below 500 is. The request carries the app's own headers after the probe's:
Host (health.local), Connection (close) and the framing (Content-Length, Transfer-Encoding) stay the probe's.
Where it connects is the node agent's choice (the task's published port, or a port of the task's own container
address: nodetasks.Task.where), never an address a tenant supplies.

`tcp_probe` only opens a connection and closes it again (a FIN, no data).
"""
from __future__ import annotations

import socket
import time

HEAD_LIMIT = 64 * 1024
BODY_LIMIT = 1024 * 1024
NO_BODY = (204, 304)
FIXED = {"host", "connection", "content-length", "transfer-encoding"}  # never the app's headers


class ProbeError(Exception):
    """The answer is not HTTP/1.x (or over the bounds)."""


class _Reader:
    """Bytes from a socket, each receive bounded by what is left of one deadline."""

    def __init__(self, sock: socket.socket, deadline: float):
        self.sock, self.deadline = sock, deadline
        self.buf = b""
        self.eof = False
        self.received = 0
        self.body_read = 0

    def more(self) -> bool:
        """Receive once into the buffer; False at the end of the stream."""
        if self.eof:
            return False
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
            return False
        self.buf += data
        self.received += len(data)
        return True

    def line(self, limit: int) -> bytes:
        while b"\n" not in self.buf:
            if len(self.buf) > limit:
                raise ProbeError("line too long")
            if not self.more():
                raise ProbeError("connection closed mid-response" if self.received else "closed without an answer")
        line, _unused, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def skip(self, n: int | None) -> None:
        """Throw away n body bytes (None: up to the end of the stream)."""
        while n is None or n > 0:
            if not self.buf and not self.more():
                if n is None:
                    return
                raise ProbeError("connection closed mid-body")
            take = len(self.buf) if n is None else min(n, len(self.buf))
            self.buf = self.buf[take:]
            self.body_read += take
            if n is not None:
                n -= take
            if self.body_read > BODY_LIMIT:
                raise ProbeError("body over 1 MiB")


def _head(reader: _Reader) -> tuple[int, dict[str, str]]:
    """The status and headers of the final response (1xx interim responses are skipped)."""
    while True:
        status_line = reader.line(HEAD_LIMIT)
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
            raise ProbeError("not an HTTP/1.x answer")
        status = int(parts[1])
        headers: dict[str, str] = {}
        size = len(status_line)
        while True:
            line = reader.line(HEAD_LIMIT)
            size += len(line)
            if size > HEAD_LIMIT:
                raise ProbeError("head over 64 KiB")
            if not line:
                break
            name, sep, value = line.partition(b":")
            if sep:
                headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        if not 100 <= status < 200 or status == 101:
            return status, headers


def _body(reader: _Reader, status: int, headers: dict[str, str]) -> None:
    if status in NO_BODY:
        return
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size_text = reader.line(HEAD_LIMIT).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ProbeError("bad chunk size") from None
            if size == 0:
                while reader.line(HEAD_LIMIT):  # trailers, up to the empty line
                    pass
                return
            reader.skip(size)
            reader.line(2)  # the CRLF after the chunk
    length = headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise ProbeError("bad Content-Length")
        reader.skip(int(length))
        return
    reader.skip(None)  # framed by the server's close (we asked for it)


def request_head(path: str, headers: tuple[tuple[str, str], ...] = ()) -> bytes:
    """The probe's request: Host, Connection and the framing are the probe's own; the app's headers come after
    them (a User-Agent or Accept of its own replaces the probe's)."""
    own = {name.lower() for name, _unused in headers}
    lines = [f"GET {path} HTTP/1.1", "Host: health.local"]
    lines += [f"{name}: {value}" for name, value in (("User-Agent", "slipway-health"), ("Accept", "*/*"))
              if name.lower() not in own]
    lines += [f"{name}: {value}" for name, value in headers if name.lower() not in FIXED]
    return ("\r\n".join(lines + ["Connection: close", "", ""])).encode("latin-1")


def probe(address: str, port: int, path: str = "/", timeout: float = 1.0,
          explicit: bool = False, headers: tuple[tuple[str, str], ...] = ()) -> tuple[bool, str]:
    """GET path on address:port; (healthy, message). `explicit`: the app named the path (200-399 passes)."""
    where = f"{address}:{port}"
    request = request_head(path, headers)
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except OSError as exc:
        return False, f"{where} {type(exc).__name__}"
    note = ""
    try:
        sock.sendall(request)
        reader = _Reader(sock, deadline)
        status, headers = _head(reader)
        try:
            _body(reader, status, headers)
        except (ProbeError, OSError) as exc:
            note = f" (body not read to its end: {exc or type(exc).__name__})"
    except ProbeError as exc:
        return False, f"{where} {exc}"
    except OSError as exc:
        return False, f"{where} {type(exc).__name__}"
    finally:
        sock.close()
    return status < (400 if explicit else 500), f"{where} answered {status}{note}"


def tcp_probe(address: str, port: int, timeout: float = 1.0) -> tuple[bool, str]:
    """A TCP connection that opens within `timeout`, closed at once with a FIN: (healthy, message)."""
    where = f"{address}:{port}"
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except OSError as exc:
        return False, f"{where} {type(exc).__name__}"
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    sock.close()
    return True, f"{where} accepted a connection"
