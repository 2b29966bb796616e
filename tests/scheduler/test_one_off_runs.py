"""One-off containers (`run`) in the Swarm scheduler, against this machine's single-node Swarm (real dockerd).

Exit code and output, limits, timeouts, errors without the env, and removal with the app.
"""
from __future__ import annotations

import time

import pytest

from controller_app.scheduler.base import SchedulerError
from tests.scheduler.swarm_helpers import WEB, oneoffs, wait_for

pytestmark = pytest.mark.timeout(120)


def test_run_returns_exit_code_and_output_and_leaves_nothing(sched, app, docker_client):
    cgroup = "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes"
    pids = "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max"
    result = sched.run(app, WEB, f'echo "out $GREETING"; echo err >&2; grep CapEff /proc/self/status; {cgroup}; '
                       f'echo "pids $({pids})"; exit 3', {"GREETING": "hi there"}, memory="32M")
    assert result.exit_code == 3
    assert "out hi there\n" in result.output and "err\n" in result.output
    assert "CapEff:\t0000000000000000" in result.output
    assert str(32 * 1024 ** 2) in result.output and "pids 1024\n" in result.output, result.output
    assert sched.run(app, WEB, "true", {}).exit_code == 0
    assert not oneoffs(docker_client, app)


def test_run_timeout_removes_the_container(sched, app, docker_client):
    started = time.monotonic()
    with pytest.raises(SchedulerError, match="timed out"):
        sched.run(app, WEB, "sleep 60", {}, timeout=2)
    assert time.monotonic() - started < 20
    assert not oneoffs(docker_client, app)


def test_run_errors_do_not_leak_env(sched, app, docker_client):
    with pytest.raises(SchedulerError) as err:
        sched.run(app, "127.0.0.1:1/none/such:1", "true", {"SECRET": "s3cr3t-value"})
    assert "s3cr3t-value" not in str(err.value)
    with pytest.raises(SchedulerError):
        sched.run(app, WEB, "true", {}, memory="lots")
    assert not oneoffs(docker_client, app)


def test_removing_an_app_removes_its_running_one_offs(sched, app, docker_client):
    import threading
    outcome = []

    def one_off():
        try:
            outcome.append(sched.run(app, WEB, "sleep 60", {}, timeout=30))
        except SchedulerError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=one_off)
    worker.start()
    wait_for("the one-off", lambda: oneoffs(docker_client, app))
    sched.remove(app)
    assert not oneoffs(docker_client, app)
    worker.join(20)
    assert not worker.is_alive()
    [result] = outcome  # killed: an error, or a non-zero exit
    assert isinstance(result, SchedulerError) or result.exit_code != 0
