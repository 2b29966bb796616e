"""The warm-start server's loop: accept callers, fork runs, keep one template process per Ansible environment.

See warmstart.py for what a run is. Run as the deploy's user (the builder's git user) with a socket folder only
that user can enter; callers of another uid are refused (SO_PEERCRED).
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import struct
import sys

from .warmstart import (MAX_TEMPLATES, PROGRAMS, SERVER_FDS, close_all, code_files, code_fingerprint,
                        recv_message, send_message, start_run, template_key)

log = logging.getLogger("slipway-warmstart")


class Template:
    """A process that imported Ansible under one environment and forks playbook runs on request."""

    def __init__(self, request: dict, inherited: list[int]):
        """inherited: the caller's descriptors the server holds now; the template must not keep them open."""
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            parent.close()
            close_all([*SERVER_FDS, *inherited])
            SERVER_FDS.clear()
            try:
                _template_main(child, request)
            finally:
                os._exit(0)
        child.close()
        self.pid, self.sock = pid, parent
        SERVER_FDS.add(parent.fileno())

    def start(self, conn: socket.socket, request: dict, fds: list[int]) -> bool:
        try:
            send_message(self.sock, request, [*fds, conn.fileno()])
            return True
        except OSError:
            return False

    def close(self) -> None:
        SERVER_FDS.discard(self.sock.fileno())
        self.sock.close()  # the template ends at end of stream; its runs go on


def _template_main(sock: socket.socket, request: dict) -> None:
    """Import Ansible under the caller's environment, then fork a run per message until the server goes."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # runs are reaped by init: they outlive templates
    SERVER_FDS.add(sock.fileno())
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    import ansible.cli.playbook  # noqa: F401 - what each run would otherwise import itself
    import ansible.executor.playbook_executor  # noqa: F401
    import ansible.executor.process.worker  # noqa: F401
    import ansible.executor.task_executor  # noqa: F401
    import ansible.plugins.callback  # noqa: F401
    import ansible.template  # noqa: F401
    while True:
        message, fds = recv_message(sock, max_fds=4)
        if message is None:
            return
        conn = socket.socket(fileno=fds.pop())
        start_run(conn, message, fds)
        close_all(fds)
        conn.close()


class Server:
    def __init__(self, path: str):
        self.path = path
        self.templates: dict[str, Template] = {}
        self.code = code_files()
        self.fingerprint = code_fingerprint(self.code)
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o600)
        self.sock.listen(64)
        SERVER_FDS.add(self.sock.fileno())

    def serve_forever(self) -> None:
        while True:
            self.reap()
            conn, _unused = self.sock.accept()
            try:
                if not self.handle(conn):
                    return
            except (OSError, ValueError, KeyError, TypeError) as e:
                log.warning("refused a request: %s", e)
            finally:
                conn.close()

    def reap(self) -> None:
        while True:
            try:
                pid, _unused = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for key, template in list(self.templates.items()):
                if template.pid == pid:
                    log.info("template %d ended", pid)
                    template.close()
                    del self.templates[key]

    def handle(self, conn: socket.socket) -> bool:
        """One caller; False when the server must restart on new code."""
        # the request is read before the caller is judged: refused, it reads why instead of a broken pipe
        request, fds = recv_message(conn, max_fds=3)
        if request is None:
            return True
        try:
            _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                  struct.calcsize("3i")))
            if uid != os.getuid():
                log.warning("refused a caller of uid %d", uid)
                send_message(conn, {"error": "refused: only the deploy's own user may run deploys here"})
                return True
            if len(fds) != 3 or request.get("program") not in PROGRAMS:
                send_message(conn, {"error": "expected a program of " + ", ".join(PROGRAMS) + " and 3 descriptors"})
                return True
            if not (isinstance(request.get("argv"), list) and isinstance(request.get("env"), dict)
                    and isinstance(request.get("cwd"), str)):
                send_message(conn, {"error": "malformed request"})
                return True
            if code_fingerprint(self.code) != self.fingerprint:
                log.info("Ansible or ansible-runner changed on disk: restarting on the new code")
                send_message(conn, {"cold": True})
                return False
            if request["program"] == "ansible-runner":
                start_run(conn, request, fds)
            else:
                template = self.template_for(request, [*fds, conn.fileno()])
                template.start(conn, request, fds) or send_message(conn, {"cold": True})
            return True
        finally:
            close_all(fds)

    def template_for(self, request: dict, inherited: list[int]) -> Template:
        key = template_key(request["env"], request["cwd"])
        template = self.templates.get(key)
        if template is None:
            while len(self.templates) >= MAX_TEMPLATES:
                oldest = next(iter(self.templates))
                self.templates.pop(oldest).close()
            template = self.templates[key] = Template(request, inherited)
            log.info("template %d for a new Ansible environment in %s", template.pid, request["cwd"])
        return template


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="slipway-warmstart", description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--socket", required=True, help="the socket to listen on (its folder: this user's only)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    import ansible_runner.__main__  # noqa: F401 - what each runner run would otherwise import itself
    server = Server(args.socket)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log.info("listening on %s", args.socket)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
