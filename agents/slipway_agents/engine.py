"""A Dockerfile build through the Docker Engine's API (POST /build), for the build sandbox (sandbox.py).

The sandbox builds with the Engine's classic builder, the one that runs each RUN step in a container with the
build's limits (memory, CPUs, cgroup parent, network). It asks the Engine for it directly, as the docker CLI's
own `build` no longer does without a deprecation notice; the output is the Engine's, printed line by line. The
request is made here rather than through the docker SDK's `APIClient.build`, which has no cgroup parent.
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import re
import socket
import sys
import threading
import urllib.parse

SOCKET = "/var/run/docker.sock"
SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*([bkmg]?)b?$", re.I)


class UnixConnection(http.client.HTTPConnection):
    """HTTP over a UNIX socket: the Engine's, the registry backend's, nginx's endpoint push (`timeout`: seconds for
    each socket operation, None waits forever). Here because this file also runs alone (IMAGE_BUILD)."""

    def __init__(self, path: str, timeout: float | None = None):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


class EngineConnection(UnixConnection):
    """HTTP to the Engine's UNIX socket."""

    def __init__(self, path: str = SOCKET, timeout: float | None = None):
        super().__init__(path, timeout)


def size_bytes(text: str) -> int:
    """'512m', '1g', '1.5G', '1048576' in bytes (binary units, as the docker CLI reads them)."""
    m = SIZE.match(text.strip())
    if not m:
        raise ValueError(f"not a size: {text!r}")
    return int(float(m.group(1)) * 1024 ** "bkmg".index((m.group(2) or "b").lower()))


def context_tar(src: str):
    """The build context: src as a tar file object, without what its .dockerignore names."""
    from docker.utils import tar  # python3-docker, on the builder with the sandbox
    exclude = None
    ignore = os.path.join(src, ".dockerignore")
    if os.path.isfile(ignore) and not os.path.islink(ignore):
        with open(ignore, encoding="utf-8", errors="replace") as fh:
            exclude = [line.strip() for line in fh.read().splitlines() if line.strip() and line.strip()[0] != "#"]
    return tar(src, exclude=exclude)


def shown(message: dict) -> str:
    """What a line of the Engine's JSON stream shows the pusher ("" for progress bars and image ids)."""
    if "stream" in message:
        return str(message["stream"])
    if "error" in message:
        return str(message["error"]).rstrip("\n") + "\n"
    if "status" in message and not message.get("progressDetail"):
        prefix = f"{message['id']}: " if message.get("id") else ""
        return f"{prefix}{message['status']}\n"
    return ""


def build(query: dict[str, str | list[str]], src: str, auths: dict[str, dict], timeout: float, out=None) -> int:
    """Build src with these /build parameters, printing the Engine's output as it comes: 0 when built, 1 when the
    build failed, 124 when it ran over `timeout` seconds (the Engine stops a build whose client goes away)."""
    out = out or sys.stdout
    context = context_tar(src)
    conn = EngineConnection()
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        if conn.sock is not None:
            conn.sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(timeout, expire)
    timer.start()
    failed = False
    try:
        registry_config = base64.urlsafe_b64encode(json.dumps(auths).encode()).decode()
        conn.request("POST", "/build?" + urllib.parse.urlencode(query, doseq=True), body=context,
                     headers={"Content-Type": "application/x-tar", "X-Registry-Config": registry_config})
        answer = conn.getresponse()
        if answer.status != 200:
            body = answer.read().decode("utf-8", "replace")
            try:
                body = json.loads(body).get("message") or body
            except (ValueError, AttributeError):
                pass
            out.write(f"{body.strip()}\n")
            return 1
        for raw in answer:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            failed = failed or "error" in message
            out.write(shown(message))
            out.flush()
    except OSError:
        if not expired.is_set():
            raise
    finally:
        timer.cancel()
        conn.close()
        context.close()
    if expired.is_set():
        return 124
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """engine.py IMAGE CONTEXT: the buildpack driver's final image (no network, no pull, quiet), from the sandbox."""
    image, context = argv if argv is not None else sys.argv[1:]
    query = {"t": image, "networkmode": "none", "pull": "0", "q": "1", "rm": "1", "forcerm": "1", "version": "1"}
    return build(query, context, {}, timeout=600)


if __name__ == "__main__":
    sys.exit(main())
