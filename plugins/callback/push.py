# -*- coding: utf-8 -*-
# Installed by the slipway.paas.builder role: the stdout callback of the deploy playbook a `git push` runs.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Heroku-style push output: the headline tasks (names starting with ``----->``), debug messages, and failures
as readable lines (a Docker build's log, a command's output), instead of Ansible's banners and JSON.

ansible-runner wraps it (``ORIGINAL_STDOUT_CALLBACK``), so job events and artifacts are written as usual.
"""
from __future__ import annotations

import ast
import re
import time

from ansible.plugins.callback.default import CallbackModule as DefaultCallbackModule

DOCUMENTATION = """
    name: slipway_push
    type: stdout
    short_description: Heroku-style output for the Slipway deploy playbook
    description:
      - Prints the tasks whose names start with C(----->), debug messages and failures as plain lines.
    extends_documentation_fragment:
      - default_callback
"""

HEADLINE = "----->"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
DOCKER_LOGS = re.compile(r"^(?P<head>.*?),? logs: (?P<logs>\[.*\])\s*$", re.S)


class CallbackModule(DefaultCallbackModule):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "slipway_push"

    def __init__(self):
        super().__init__()
        self._slipway_started = None
        self._slipway_play = None

    def _say(self, line: str = "") -> None:
        self._display.display(line)

    # -- tasks --------------------------------------------------------------------------------------------
    def v2_playbook_on_start(self, playbook):
        pass

    def v2_playbook_on_play_start(self, play):
        self._slipway_play = play

    def v2_playbook_on_task_start(self, task, is_conditional):
        name = task.get_name().strip()
        self._slipway_started = time.monotonic()
        if name.startswith(HEADLINE) and self._will_run(task):
            self._say(name)

    def _will_run(self, task) -> bool:
        """False when the task's `when` (its own and its blocks') is false for the host now, so a skipped
        step's headline is not shown; True when that cannot be told (the headline is shown)."""
        try:
            when = task.when
            if not when:
                return True
            play = getattr(self, "_slipway_play", None)
            vm = task.get_variable_manager() or play.get_variable_manager()
            hosts = vm._inventory.get_hosts(play.hosts) if play is not None else []
            host = hosts[0] if hosts else vm._inventory.get_host("localhost")
            task_vars = vm.get_vars(play=play, host=host, task=task)
            return bool(task._resolve_conditional(when, task_vars))
        except Exception:  # noqa: BLE001 (best effort: never break the deploy's output)
            return True

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def v2_playbook_on_cleanup_task_start(self, task):
        pass

    def v2_playbook_on_include(self, included_file):
        pass

    def v2_playbook_on_notify(self, handler, host):
        pass

    def v2_playbook_on_no_hosts_matched(self):
        self._say(" !     No host to deploy on.")

    def v2_playbook_on_stats(self, stats):
        pass

    # -- results ------------------------------------------------------------------------------------------
    def v2_runner_on_ok(self, result):
        res = result._result
        if result._task.action in ("debug", "ansible.builtin.debug", "ansible.legacy.debug") and "msg" in res:
            msg = res["msg"]
            lines = msg if isinstance(msg, list) else str(msg).splitlines()
            for line in lines:
                self._say(str(line))  # the hook indents what is not a headline

    def v2_runner_on_skipped(self, result):
        pass

    def v2_runner_item_on_ok(self, result):
        pass

    def v2_runner_item_on_skipped(self, result):
        pass

    def v2_runner_item_on_failed(self, result):
        self._failure(result)

    def v2_runner_retry(self, result):
        pass

    def v2_on_file_diff(self, result):
        pass

    def v2_runner_on_unreachable(self, result):
        self._failure(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not ignore_errors:
            self._failure(result)

    def _failure(self, result):
        res = result._result
        name = result._task.get_name().strip()
        if name.startswith(HEADLINE):
            name = name[len(HEADLINE):].strip()
        self._say(f" !     {name} failed:")
        if res.get("censored"):
            self._say(" !     (details hidden: no_log)")
            return
        for line in self._failure_lines(res):
            self._say(" !     " + line if line else " !")

    @staticmethod
    def _failure_lines(res):
        msg = str(res.get("msg") or "").strip()
        logs = []
        m = DOCKER_LOGS.match(msg)
        if m:  # community.docker: "Error building <image> - code: .., message: .., logs: ['...', ...]"
            try:
                logs = [str(x) for x in ast.literal_eval(m.group("logs"))]
                msg = m.group("head")
            except (ValueError, SyntaxError):
                logs = []
        out = []
        if logs:
            text = ANSI.sub("", "".join(x if x.endswith("\n") else x + "\n" for x in logs))
            out.extend(line.rstrip() for line in text.splitlines() if line.strip())
            out.append("")
        out.extend(ANSI.sub("", msg).splitlines())
        for key in ("stdout", "stderr"):
            value = res.get(key)
            if isinstance(value, str) and value.strip():
                out.extend(value.rstrip().splitlines())
        return out[-200:]
