"""slipway-warmstart: start the deploy's ansible-runner and ansible-playbook without paying Python's imports.

A push runs ``ansible-runner run`` and ansible-runner runs ``ansible-playbook``; each would start a Python
process and import its program's modules first (about 0.1 s and 0.3 s on a small host). This server keeps those
modules imported and forks a process per run instead:

- ``ansible-runner`` runs fork from the server itself, which imports ansible_runner once (it reads its settings
  from the environment when it runs, not when it is imported);
- ``ansible-playbook`` runs fork from a *template* process per Ansible environment (every ``ANSIBLE_*`` variable
  but the per-run ones below, and the working folder): Ansible computes its settings when it is imported, so a
  template only serves the environment it imported under, and each run re-reads the settings after taking the
  caller's environment.

The caller (warmstart_client, as the same user) sends its argv, environment and folder, and its standard input,
output and error as file descriptors: the run reads and writes them directly, so output streams as it does
from a process of its own. Each run is a process group led by a *watcher*, which forks the program, reports its
exit status to the caller and ends the group when the caller goes away (ansible-runner's timeout, a killed push).
Runs do not depend on the server once started: a restart of the server (KillMode=process) lets them finish.
When the installed Ansible or ansible-runner changes, the server answers "cold" (the caller runs the program
itself) and exits, and systemd starts it again on the new code.
"""
from __future__ import annotations

import array
import importlib.util
import json
import os
import select
import signal
import socket
import struct
import sys

PROGRAMS = ("ansible-runner", "ansible-playbook")
# set per run by ansible-runner (the run's artifact folder); Ansible reads them again in the run itself
PER_RUN = frozenset({"ANSIBLE_CACHE_PLUGIN_CONNECTION"})
MAX_HEADER = 1 << 20
MAX_TEMPLATES = 4
# the server's own descriptors (listening socket, template channels): closed in every process it forks
SERVER_FDS: set[int] = set()


def send_message(sock: socket.socket, obj: dict, fds: list[int] = ()) -> None:
    data = json.dumps(obj).encode()
    payload = struct.pack("!I", len(data)) + data
    if fds:
        sock.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        sock.sendall(payload)


def recv_message(sock: socket.socket, max_fds: int = 0) -> tuple[dict | None, list[int]]:
    """One length-prefixed JSON message and the descriptors sent with it; (None, []) at end of stream."""
    fds: list[int] = []
    head, ancdata, _flags, _addr = sock.recvmsg(4, socket.CMSG_SPACE(max_fds * 4) if max_fds else 0)
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.extend(array.array("i", data[: len(data) - len(data) % 4]))
    head += _read_exact(sock, 4 - len(head)) if head else b""
    size = struct.unpack("!I", head)[0] if len(head) == 4 else None
    body = _read_exact(sock, size) if size is not None and size <= MAX_HEADER else b""
    if size is None or len(body) != size:
        close_all(fds)
        if size is not None and size > MAX_HEADER:
            raise ValueError(f"message of {size} bytes")
        return None, []
    return json.loads(body), fds


def _read_exact(sock: socket.socket, size: int) -> bytes:
    """`size` bytes, or fewer when the stream ends first."""
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def close_all(fds) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def code_files() -> list[str]:
    """The files whose change means Ansible or ansible-runner was upgraded, found without importing them (the
    server itself never imports Ansible: its templates do)."""
    files = []
    for package, name in (("ansible", "release.py"), ("ansible_runner", "__init__.py")):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin:
            files.append(os.path.join(os.path.dirname(spec.origin), name))
    return files


def code_fingerprint(files: list[str]) -> list[int]:
    stamps = []
    for path in files:
        try:
            stamps.append(os.stat(path).st_mtime_ns)
        except OSError:
            stamps.append(0)
    return stamps


def template_key(env: dict[str, str], cwd: str) -> str:
    settings = sorted((k, v) for k, v in env.items() if k.startswith("ANSIBLE_") and k not in PER_RUN)
    return json.dumps([cwd, env.get("PYTHONPATH", ""), settings])


# -- one run ------------------------------------------------------------------------------------------------------
def _take_request(request: dict, fds: list[int]) -> None:
    """In the run's process: the caller's descriptors, environment, folder and arguments."""
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
    close_all(fd for fd in fds if fd > 2)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = list(request["argv"])
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # fresh text streams on the new descriptors (buffering is decided when a stream is made)
    sys.stdin = open(0, "r", closefd=False, encoding="utf-8", errors="surrogateescape")
    sys.stdout = open(1, "w", closefd=False, encoding="utf-8", errors="surrogateescape", buffering=1)
    sys.stderr = open(2, "w", closefd=False, encoding="utf-8", errors="backslashreplace", buffering=1)
    import random
    random.seed()  # every fork would otherwise draw the same numbers


def _run_program(program: str, argv: list[str]) -> int:
    if program == "ansible-runner":
        from ansible_runner.__main__ import main
        return main(argv[1:]) or 0
    from ansible import constants
    for setting in constants.config.get_configuration_definitions():
        constants.set_constant(setting, constants.config.get_config_value(setting, variables=vars(constants)))
    from ansible.cli.playbook import main as playbook_main
    playbook_main(argv)
    return 0


def _program(request: dict, fds: list[int]) -> None:
    code = 250
    try:
        _take_request(request, fds)
        code = _run_program(request["program"], request["argv"])
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, int) and e.code is not None:
            print(e.code, file=sys.stderr)
    except KeyboardInterrupt:
        code = 130
    except BaseException:  # noqa: BLE001 - the caller sees the traceback, as from a program of its own
        import traceback
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code & 0xFF)


def start_run(conn: socket.socket, request: dict, fds: list[int]) -> None:
    """Fork the run's watcher (a process group of its own); the caller's copies are ours to close."""
    if os.fork():
        return
    try:
        close_all(SERVER_FDS - {conn.fileno(), *fds})
        os.setsid()
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        child = os.fork()
        if child == 0:
            conn.close()
            _program(request, fds)
        close_all(fds)
        os._exit(_watch(conn, child))
    except BaseException:  # noqa: BLE001 - never return into the server's loop from a fork
        os._exit(1)


def _watch(conn: socket.socket, child: int) -> int:
    """Report the program's exit status to the caller; end the run's group when the caller is gone first."""
    pidfd = os.pidfd_open(child)
    while True:
        ready, _unused, _unused = select.select([conn, pidfd], [], [])
        if pidfd in ready:
            _unused, status = os.waitpid(child, 0)
            code = os.waitstatus_to_exitcode(status)
            try:
                send_message(conn, {"exit": code if code >= 0 else 128 - code})
            except OSError:
                pass
            return 0
        try:
            gone = not conn.recv(1)
        except OSError:
            gone = True
        if gone:
            _end_group(child, pidfd)
            return 1


def _end_group(child: int, pidfd: int) -> None:
    """The caller went away (killed, timed out): the run and everything it started end too."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.killpg(0, signal.SIGTERM)
    if not select.select([pidfd], [], [], 10)[0]:
        os.killpg(0, signal.SIGKILL)
    os.waitpid(child, 0)
