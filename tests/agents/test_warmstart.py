"""slipway-warmstart: the deploy's ansible-runner and ansible-playbook, forked from processes that imported them.

Real programs throughout: the server on this machine's Python with the real ansible-core and ansible-runner, a
real playbook, real signals. What a pusher and an operator would check: the same output, exit status and runner
artifacts as the plain programs; runs that outlive a server restart; a clear word when a run is killed; nothing
left running when the caller goes; strangers refused.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import AGENTS

PYTHON = sys.executable  # the test venv holds ansible-core and ansible-runner, as Debian's packages do on hosts
VENV_BIN = os.path.dirname(PYTHON)
PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.debug: {msg: "hello {{ lookup('env', 'WHO') }} in {{ lookup('pipe', 'pwd') }}"}
    - ansible.builtin.command: "sleep {{ nap | default(0) }}"
      changed_when: false
    - ansible.builtin.fail: {msg: "asked to fail"}
      when: fail | default(false) | bool
"""


@pytest.fixture
def warm(tmp_path, workdir):
    """A running server, a folder with the playbook, and a way to call the programs through it."""
    sock = os.path.join(workdir, "warmstart.sock")  # a folder others may enter (the stranger's test)
    log = open(tmp_path / "server.log", "w")
    env = dict(os.environ, PYTHONPATH=AGENTS)
    server = subprocess.Popen([PYTHON, "-m", "slipway_agents.warmstart_server", "--socket", sock],
                              stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 20
    while not os.path.exists(sock):
        assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
        time.sleep(0.05)
    (tmp_path / "pb.yml").write_text(PLAYBOOK)
    (tmp_path / "inventory").write_text(f"localhost ansible_connection=local ansible_python_interpreter={PYTHON}\n")

    class Warm:
        path, folder, process = sock, tmp_path, server

        def env(self, **extra):
            return {**os.environ, "PYTHONPATH": AGENTS, "SLIPWAY_WARMSTART_SOCKET": sock, "SLIPWAY_PYTHON": PYTHON,
                    "SLIPWAY_WARMSTART_ANSIBLE_PLAYBOOK": os.path.join(VENV_BIN, "ansible-playbook"),
                    "SLIPWAY_WARMSTART_ANSIBLE_RUNNER": os.path.join(VENV_BIN, "ansible-runner"),
                    "ANSIBLE_NOCOLOR": "1", **extra}

        def playbook(self, *args, client=(PYTHON, "-m", "slipway_agents.warmstart_client", "ansible-playbook"),
                     **env):
            return subprocess.run([*client, "-i", "inventory", "pb.yml", *args], cwd=tmp_path,
                                  env=self.env(**env), capture_output=True, text=True, timeout=120)

        def log(self):
            return (tmp_path / "server.log").read_text()

    yield Warm()
    server.terminate()
    server.wait(10)
    log.close()


def test_a_playbook_run_warm_prints_and_exits_as_the_plain_program(warm):
    warm_runs = [warm.playbook(WHO=f"w{i}") for i in range(2)]
    cold = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "inventory", "pb.yml"],
                          cwd=warm.folder, env=warm.env(WHO="w1"), capture_output=True, text=True, timeout=120)
    assert [r.returncode for r in warm_runs] == [0, 0] and cold.returncode == 0
    assert warm_runs[1].stdout == cold.stdout  # the caller's environment and folder, the same output
    assert f"hello w0 in {warm.folder}" in warm_runs[0].stdout
    assert warm.log().count("template") == 1  # imported once, forked twice

    failed = warm.playbook("-e", "fail=true")
    assert failed.returncode == 2 and "asked to fail" in failed.stdout
    unusable = warm.playbook("--no-such-option")
    assert unusable.returncode != 0 and "unrecognized arguments: --no-such-option" in unusable.stderr


def test_ansible_runner_warm_keeps_its_artifacts_and_events(warm):
    private = warm.folder / "private"
    (private / "project").mkdir(parents=True)
    (private / "inventory").mkdir()
    (private / "project" / "pb.yml").write_text(PLAYBOOK)
    (private / "inventory" / "hosts").write_text((warm.folder / "inventory").read_text())
    bin_dir = os.path.join(os.path.dirname(AGENTS), "agents", "bin")
    for ident in ("one", "two"):
        run = subprocess.run([os.path.join(bin_dir, "slipway-ansible-runner"), "run", str(private), "-p", "pb.yml",
                              "--binary", os.path.join(bin_dir, "slipway-ansible-playbook"), "--cmdline", "pb.yml",
                              "--omit-env-files", "--ident", ident],
                             env=warm.env(WHO=ident), capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        assert f"hello {ident}" in run.stdout
        artifacts = private / "artifacts" / ident
        assert (artifacts / "status").read_text() == "successful" and (artifacts / "rc").read_text() == "0"
        events = [json.loads(p.read_text()) for p in (artifacts / "job_events").iterdir()]
        assert any(e.get("event") == "runner_on_ok" and f"hello {ident}" in e.get("stdout", "") for e in events)
    assert not (private / "env").exists()  # nothing written where concurrent pushes share files
    assert warm.log().count("template") == 1


def test_a_run_outlives_a_server_restart(warm):
    started = time.monotonic()
    caller = subprocess.Popen([PYTHON, "-m", "slipway_agents.warmstart_client", "ansible-playbook", "-i", "inventory",
                               "pb.yml", "-e", "nap=3"], cwd=warm.folder, env=warm.env(WHO="survivor"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    warm.process.send_signal(signal.SIGTERM)  # systemd's restart, KillMode=process: the server alone
    warm.process.wait(10)
    out, err = caller.communicate(timeout=60)
    assert caller.returncode == 0, out + err
    assert "hello survivor" in out and time.monotonic() - started >= 3


def test_a_killed_run_says_so_to_the_caller(warm):
    caller = subprocess.Popen([PYTHON, "-m", "slipway_agents.warmstart_client", "ansible-playbook", "-i", "inventory",
                               "pb.yml", "-e", "nap=30"], cwd=warm.folder, env=warm.env(WHO="victim"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sleeper = _wait_for_process("sleep 30", below=warm.process.pid)
    os.killpg(_run_of(sleeper, warm.process.pid), signal.SIGKILL)  # the run's whole group, its watcher included
    os.kill(sleeper, signal.SIGKILL)
    out, err = caller.communicate(timeout=30)
    assert caller.returncode == 255
    assert "ended without an exit status" in err and "slipway releases" in err


def test_a_caller_that_goes_away_ends_its_run(warm):
    caller = subprocess.Popen([PYTHON, "-m", "slipway_agents.warmstart_client", "ansible-playbook", "-i", "inventory",
                               "pb.yml", "-e", "nap=31"], cwd=warm.folder, env=warm.env(WHO="abandoned"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sleeper = _wait_for_process("sleep 31", below=warm.process.pid)
    caller.kill()  # ansible-runner's timeout, or the push's ssh session gone
    caller.wait()
    deadline = time.monotonic() + 20
    while _alive(sleeper):
        assert time.monotonic() < deadline, "the run went on without its caller"
        time.sleep(0.2)


def test_without_the_server_the_program_runs_cold(warm, tmp_path):
    run = warm.playbook(SLIPWAY_WARMSTART_SOCKET=str(tmp_path / "absent.sock"), WHO="cold")
    assert run.returncode == 0 and "hello cold" in run.stdout


def test_another_user_is_refused(warm):
    os.chmod(warm.path, 0o666)  # past the folder's and the socket's modes, the server checks the caller itself
    nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3", "-m",
              "slipway_agents.warmstart_client", "ansible-playbook"]
    run = warm.playbook(client=nobody, WHO="stranger")
    assert run.returncode == 2 and "refused" in run.stderr
    assert "hello stranger" not in run.stdout


def _wait_for_process(command: str, below: int) -> int:
    """A process running `command` among the descendants of `below` (other tests' containers run sleeps too)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as fh:
                        if fh.read().replace(b"\0", b" ").strip() == command.encode() and _descends(int(pid), below):
                            return int(pid)
                except OSError:
                    pass
        time.sleep(0.1)
    raise AssertionError(f"{command!r} never started")


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat's fields after the command name: state, parent, process group, session, ..."""
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()


def _descends(pid: int, ancestor: int) -> bool:
    while pid not in (ancestor, 0, 1):
        pid = int(_stat(pid)[1])
    return pid == ancestor


def _run_of(pid: int, server: int) -> int:
    """The run's watcher: of the process's ancestors below the server, the uppermost leading its own session."""
    leader = None
    while pid not in (server, 1):
        fields = _stat(pid)
        if int(fields[3]) == pid:
            leader = pid
        pid = int(fields[1])
    assert pid == server and leader, "not a warm-start run"
    return leader


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


def test_an_upgraded_ansible_is_run_cold_and_the_server_restarts_on_it(warm):
    """Ansible replaced on disk (a package upgrade): the next caller runs the new code, not the imported one,
    and the server exits for systemd to start it again."""
    import ansible
    release = os.path.join(os.path.dirname(ansible.__file__), "release.py")
    assert warm.playbook(WHO="before").returncode == 0
    stat = os.stat(release)
    os.utime(release, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    try:
        run = warm.playbook(WHO="after")
        assert run.returncode == 0 and "hello after" in run.stdout
        warm.process.wait(10)  # gone: it answered "cold" and ended
        assert "changed on disk" in warm.log()
    finally:
        os.utime(release, ns=(stat.st_atime_ns, stat.st_mtime_ns))
