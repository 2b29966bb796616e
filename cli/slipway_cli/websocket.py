"""A small WebSocket client (RFC 6455) on the standard library, for `slipway run` sessions.

Enough for the controller's attach endpoint: one connection, text and binary messages, ping/pong,
close; client frames masked; TLS with the profile's CA. Not a general-purpose library.
"""
from __future__ import annotations

import base64
import hashlib
import os
import socket
import ssl
import struct
import threading
from urllib.parse import urlsplit

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_MESSAGE = 16 * 1024 * 1024


class WebSocketError(Exception):
    def __init__(self, message: str, status: int | None = None, body: bytes = b""):
        super().__init__(message)
        self.status, self.body = status, body


class Closed(Exception):
    def __init__(self, code: int | None, reason: str = ""):
        super().__init__(f"closed ({code}) {reason}".strip())
        self.code, self.reason = code, reason


class WebSocket:
    def __init__(self, sock: socket.socket, leftover: bytes = b""):
        self.sock = sock
        self._buf = leftover
        self._send_lock = threading.Lock()
        self.closed = False

    # ---- connecting --------------------------------------------------------------------------------
    @classmethod
    def connect(cls, url: str, headers: dict[str, str] | None = None, ca: str | None = None,
                timeout: float = 15.0, user_agent: str = "slipway-cli") -> "WebSocket":
        """`url` is http(s):// or ws(s)://; raises WebSocketError with the HTTP status on a refusal."""
        parts = urlsplit(url)
        secure = parts.scheme in ("https", "wss")
        host = parts.hostname or ""
        port = parts.port or (443 if secure else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise WebSocketError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        if secure:
            context = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
            try:
                sock = context.wrap_socket(sock, server_hostname=host)
            except (ssl.SSLError, OSError) as exc:
                sock.close()
                raise WebSocketError(f"TLS error: {exc}") from None
        key = base64.b64encode(os.urandom(16)).decode()
        default_port = port == (443 if secure else 80)
        lines = [f"GET {path} HTTP/1.1", f"Host: {host if default_port else f'{host}:{port}'}",
                 "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13", f"User-Agent: {user_agent}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            head, rest = cls._read_head(sock)
        except OSError as exc:
            sock.close()
            raise WebSocketError(f"handshake failed: {exc}") from None
        status_line, *header_lines = head.decode("iso-8859-1").split("\r\n")
        try:
            status = int(status_line.split()[1])
        except (IndexError, ValueError):
            sock.close()
            raise WebSocketError(f"not an HTTP answer: {status_line[:80]!r}") from None
        got = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            got[name.strip().lower()] = value.strip()
        if status != 101:
            body = rest
            length = int(got.get("content-length") or 0)
            try:
                while len(body) < length:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    body += chunk
            except OSError:
                pass
            sock.close()
            raise WebSocketError(f"the server refused the WebSocket ({status})", status=status, body=body)
        expected = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if got.get("sec-websocket-accept") != expected or got.get("upgrade", "").lower() != "websocket":
            sock.close()
            raise WebSocketError("bad WebSocket handshake answer")
        sock.settimeout(None)
        return cls(sock, rest)

    @staticmethod
    def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                raise OSError("connection closed during the handshake")
            data += chunk
            if len(data) > 65536:
                raise OSError("handshake answer too long")
        head, _, rest = data.partition(b"\r\n\r\n")
        return head, rest

    # ---- frames ------------------------------------------------------------------------------------
    def _send_frame(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if payload else b""
        with self._send_lock:
            self.sock.sendall(header + mask + masked)

    def send_text(self, text: str) -> None:
        self._send_frame(OP_TEXT, text.encode())

    def send_binary(self, data: bytes) -> None:
        self._send_frame(OP_BINARY, data)

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self._buf)))
            if not chunk:
                raise Closed(None, "connection lost")
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def _read_frame(self) -> tuple[bool, int, bytes]:
        b1, b2 = self._read_exact(2)
        fin, opcode = bool(b1 & 0x80), b1 & 0x0F
        n = b2 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8))[0]
        if n > MAX_MESSAGE:
            raise Closed(1009, "message too big")
        mask = self._read_exact(4) if b2 & 0x80 else b""
        payload = self._read_exact(n)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return fin, opcode, payload

    def recv(self) -> str | bytes:
        """The next message (str for text, bytes for binary); raises Closed when the server closed."""
        message, kind = b"", None
        while True:
            fin, opcode, payload = self._read_frame()
            if opcode == OP_PING:
                self._send_frame(OP_PONG, payload)
                continue
            if opcode == OP_PONG:
                continue
            if opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                if not self.closed:
                    self.closed = True
                    try:
                        self._send_frame(OP_CLOSE, payload[:2])
                    except OSError:
                        pass
                raise Closed(code, payload[2:].decode(errors="replace"))
            if opcode in (OP_TEXT, OP_BINARY):
                kind, message = opcode, payload
            elif opcode == OP_CONT:
                message += payload
            if len(message) > MAX_MESSAGE:
                raise Closed(1009, "message too big")
            if fin:
                return message.decode(errors="replace") if kind == OP_TEXT else message

    def close(self, code: int = 1000) -> None:
        if not self.closed:
            self.closed = True
            try:
                self._send_frame(OP_CLOSE, struct.pack("!H", code))
            except OSError:
                pass
        try:
            self.sock.close()
        except OSError:
            pass
