"""`logs -f` and interactive `run` against a live controller on the real Swarm, driven through the real CLI.

Logs: a web process that prints a line every half second while serving, two replicas, a deploy (a config
change) in the middle: the stream shows both replicas, then the new release's lines, and a client that goes
away ends the controller's Docker log streams. Run: the CLI under a pseudo-terminal types at the prompt of
`sh` in a one-off container; killing the CLI leaves no container behind.
"""
from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time

import pytest
import requests

from tests.controller.deployhelp import build, settle
from tests.live import ROOT

pytestmark = pytest.mark.timeout(300)

TICKER = ('(i=0; while true; do i=$((i+1)); echo "tick $SLIPWAY_RELEASE $i"; sleep 0.5; done) & '
          'cd /www && exec httpd -f -p $PORT -h /www')


def wait_for(what, check, timeout=60.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def cli_env(tmp_path, api) -> dict:
    home = tmp_path / "home"
    (home / ".slipway").mkdir(parents=True)
    profile = home / ".slipway" / "client.json"
    profile.write_text(json.dumps({"url": api.url, "username": api.username, "token": api.token}))
    profile.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLIPWAY_")}
    env.update({"HOME": str(home), "SLIPWAY_HOME": str(home / ".slipway"),
                "PYTHONPATH": os.path.join(ROOT, "cli"), "TERM": "xterm"})
    return env


def docker_socket_peers(pid: int) -> int:
    """Unix-socket connections the process holds (its Docker API connections among them)."""
    out = subprocess.run(["ss", "-xpn"], capture_output=True, text=True, check=True).stdout
    return sum(1 for line in out.splitlines() if f"pid={pid}," in line)


def oneoffs(app_id: str) -> list[str]:
    return subprocess.run(["docker", "ps", "-aq", "--filter", f"label=slipway.app={app_id}",
                           "--filter", "label=slipway.oneoff=1"], capture_output=True, text=True,
                          check=True).stdout.split()


class Follower:
    """The real CLI's `logs -f` in a subprocess, its lines collected as they come."""

    def __init__(self, env, app_id, *extra):
        self.proc = subprocess.Popen([sys.executable, "-m", "slipway_cli", "logs", "-f", "-a", app_id, *extra],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def matching(self, pattern: str) -> list[str]:
        return [line for line in list(self.lines) if re.search(pattern, line)]

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def ticking(ctl, owner, app_id):
    r = build(owner, app_id, procfile={"web": TICKER})
    assert r.status_code == 201, r.text
    assert owner.post(f"/v2/apps/{app_id}/scale/", {"web": 2}).status_code == 204
    settle(app_id, 1)  # the replaced deployment's web.1 has drained and stopped: only the new ones tick
    yield app_id
    owner.delete(f"/v2/apps/{app_id}/")


def test_logs_follow_two_replicas_and_a_new_release(ctl, owner, ticking, tmp_path):
    env = cli_env(tmp_path, owner)
    follower = Follower(env, ticking, "--lines", "5")
    try:
        # both replicas' lines, as they are produced (numbers keep growing on each)
        wait_for("lines of web.1 and web.2", lambda: follower.matching(r"^web\.1: tick v2 ")
                 and follower.matching(r"^web\.2: tick v2 "), 45)
        seen = len(follower.lines)
        wait_for("more lines", lambda: len(follower.lines) >= seen + 4, 15)
        for slot in ("1", "2"):
            numbers = [int(line.split()[-1]) for line in follower.matching(rf"^web\.{slot}: tick v2 ")]
            assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), numbers
        # a deploy: release v3's tasks come in new services; the same stream shows them
        r = owner.post(f"/v2/apps/{ticking}/config/", {"values": {"GREETING": "hi"}})
        assert r.status_code == 201, r.text
        wait_for("lines of release v3 from both replicas", lambda: follower.matching(r"^web\.1: tick v3 ")
                 and follower.matching(r"^web\.2: tick v3 "), 45)
        assert follower.proc.poll() is None  # still following
        assert all(re.match(r"^web\.[12]: ", line) for line in follower.lines), follower.lines[:20]
        # a filter by type: nothing of another type
        r = owner.get(f"/v2/apps/{ticking}/logs/", params={"follow": "true", "type": "worker", "log_lines": 5},
                      stream=True, timeout=(5, 3))
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        with pytest.raises(requests.exceptions.ConnectionError):  # a read timeout: no line of web
            next(r.iter_content(chunk_size=None))
        r.close()
        time.sleep(2)
        during = docker_socket_peers(ctl.process.pid)
    finally:
        follower.stop()
    # the client went away: the controller ends its Docker log streams (connections closed)
    wait_for("the controller's Docker log streams to close",
             lambda: docker_socket_peers(ctl.process.pid) < during, 15)


def test_logs_follow_needs_access(ctl, owner, ticking, new_user, anon):
    assert anon.get(f"/v2/apps/{ticking}/logs/?follow=true").status_code == 401
    assert new_user("other").get(f"/v2/apps/{ticking}/logs/?follow=true").status_code == 403


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def pty_run(env, app_id, *command):
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI with the pty as its terminal (30 rows, 100 columns)
        set_size(0, 30, 100)
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "-m", "slipway_cli", "run", "-a", app_id, "--", *command], env)
    return pid, fd


def read_until(fd, pattern: bytes, timeout=60.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while pattern not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {pattern!r} in {data!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            data += chunk
    return data


def read_all(fd, timeout=30.0) -> bytes:
    return read_until(fd, b"\0never\0", timeout) if False else _drain(fd, timeout)


def _drain(fd, timeout) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    return data


@pytest.fixture
def served(ctl, owner, app_id):
    r = build(owner, app_id)
    assert r.status_code == 201, r.text
    r = owner.post(f"/v2/apps/{app_id}/config/", {"values": {"GREETING": "hello from config"}})
    assert r.status_code == 201, r.text
    yield app_id
    owner.delete(f"/v2/apps/{app_id}/")


def test_interactive_run_through_a_terminal(ctl, owner, served, tmp_path):
    env = cli_env(tmp_path, owner)
    pid, fd = pty_run(env, served, "sh")
    try:
        read_until(fd, b"# ")  # the prompt of sh in the container
        os.write(fd, b"stty size\r")
        read_until(fd, b"30 100")  # the terminal has the client's size
        set_size(fd, 40, 120)  # the window changes: SIGWINCH, the CLI sends the new size
        time.sleep(1)
        os.write(fd, b"stty size\r")
        read_until(fd, b"40 120")
        os.write(fd, b"echo $GREETING; exit 3\r")
        output = _drain(fd, 30)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    assert b"hello from config" in output
    assert os.WEXITSTATUS(status) == 3
    wait_for("the one-off container to go", lambda: not oneoffs(served), 10)
    # the non-interactive run is unchanged
    r = owner.post(f"/v2/apps/{served}/run/", {"command": "echo $GREETING; exit 4"})
    assert r.json() == {"exit_code": 4, "output": "hello from config\n"}


def test_killed_client_leaves_no_container(ctl, owner, served, tmp_path):
    env = cli_env(tmp_path, owner)
    pid, fd = pty_run(env, served, "sleep 300")
    try:
        wait_for("the one-off container", lambda: oneoffs(served), 60)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    finally:
        os.close(fd)
    wait_for("no one-off container left", lambda: not oneoffs(served), 5)


def test_attach_refuses_bad_tokens_and_strangers(ctl, owner, served, new_user):
    sys.path.insert(0, os.path.join(ROOT, "cli"))
    from slipway_cli.websocket import WebSocket, WebSocketError

    url = f"{ctl.url}/v2/apps/{served}/run/attach"
    for headers, status in (({}, 401), ({"Authorization": "token nope"}, 401),
                            ({"Authorization": f"token {new_user('other').token}"}, 403)):
        with pytest.raises(WebSocketError) as err:
            WebSocket.connect(url, headers=headers)
        assert err.value.status == status, err.value
    assert not oneoffs(served)
    # a session without a terminal on the client side: bytes in, bytes out, exit status
    ws = WebSocket.connect(url, headers={"Authorization": f"token {owner.token}"})
    ws.send_text(json.dumps({"command": "read line; echo got:$line; exit 7", "cols": 80, "rows": 24}))
    ws.send_binary(b"abc\r")
    out, final = b"", None
    while final is None:
        message = ws.recv()
        if isinstance(message, bytes):
            out += message
        else:
            final = json.loads(message)
    assert b"got:abc" in out and final == {"exit_code": 7}
    ws.close()


# ---- the scheduler's side, directly ---------------------------------------------------------------
def test_scheduler_log_stream_close_ends_its_threads_and_sessions_past_their_deadline_are_reaped(ctl, owner,
                                                                                                   ticking):
    from controller_app.scheduler.swarm import SwarmScheduler

    sched = SwarmScheduler(node_address="127.0.0.1", default_memory="64M")
    stream = sched.open_log_stream(ticking, lines=3, poll=0.3)
    got = wait_for("lines", lambda: stream.read(1.0), 30)
    assert all(re.match(r"^web\.[12]: tick ", line) for line in got)
    assert stream.threads  # the watcher and one stream per service
    stream.close()
    wait_for("the stream's threads to end", lambda: stream.threads == [], 12)
    assert stream.read(0.1) == []

    # a session whose controller died: its deadline label lets the next session start remove it
    session = sched.attach_run(ticking, "slipway-test/web:1", "sleep 300", {}, max_seconds=-120)
    try:
        assert oneoffs(ticking)
        assert sched.reap_expired_sessions() >= 1
        assert not oneoffs(ticking)
    finally:
        session.close()
