"""The caller's side of slipway-warmstart: run ansible-runner or ansible-playbook through the server.

``slipway-ansible-runner ARGS`` and ``slipway-ansible-playbook ARGS`` behave as the programs they name: same
arguments, environment, folder, standard streams and exit status. When the server is not there (not installed,
stopped, restarting) or asks for it, the program runs here as a process of its own: a slower start, never a failed
deploy. When the run ends without an exit status (its processes were killed), the caller says so on stderr and
exits 255.
"""
from __future__ import annotations

import os
import socket
import sys

from .warmstart import recv_message, send_message

SOCKET = os.environ.get("SLIPWAY_WARMSTART_SOCKET", "/run/slipway-warmstart/warmstart.sock")
REAL = {"ansible-runner": "/usr/bin/ansible-runner", "ansible-playbook": "/usr/bin/ansible-playbook"}
LOST = ("{program} ended without an exit status: its processes were killed (the builder host restarting, or an "
        "operator). Nothing is known of how far it got; `slipway releases` shows whether a release went out.")


def run_cold(program: str, argv: list[str]) -> None:
    real = os.environ.get("SLIPWAY_WARMSTART_" + program.upper().replace("-", "_"), REAL[program])
    os.execv(real, [real, *argv])


def run(program: str, argv: list[str]) -> int:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(SOCKET)
        send_message(sock, {"program": program, "argv": [program, *argv], "env": dict(os.environ),
                            "cwd": os.getcwd()}, [0, 1, 2])
    except OSError:  # no server, or it went before taking the request: nothing ran yet
        sock.close()
        run_cold(program, argv)
    try:
        answer, _unused = recv_message(sock)
    except (OSError, ValueError):  # the run may have started: never start it a second time
        answer = None
    finally:
        sock.close()
    if answer is None:
        sys.stderr.write(LOST.format(program=program) + "\n")
        return 255
    if answer.get("cold"):
        run_cold(program, argv)
    if "error" in answer:
        sys.stderr.write(f"{program}: {answer['error']}\n")
        return 2
    return int(answer.get("exit", 255))


def main() -> int:
    program = sys.argv[1] if len(sys.argv) > 1 else ""
    if program not in REAL:
        sys.stderr.write("usage: warmstart_client ansible-runner|ansible-playbook ARGS\n")
        return 2
    return run(program, sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
