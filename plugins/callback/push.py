# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Heroku-style push output for the deploy playbook a ``git push`` runs (slipway.paas.deploy), through
ansible-runner, which wraps it (``ORIGINAL_STDOUT_CALLBACK``) so job events and artifacts are written as usual."""
from __future__ import annotations

DOCUMENTATION = r"""
name: push
type: stdout
short_description: Heroku-style output of the Slipway deploy playbook
version_added: 0.1.0
author:
  - Slipway maintainers (@slipway)
description:
  - Prints what a pusher reads, instead of Ansible's banners and JSON. A task whose name starts with C(----->) is a
    headline, printed as it starts; the messages of C(ansible.builtin.debug) tasks are printed line by line; a
    failure is printed as C( !     <task> failed:) followed by its message and output.
  - What a task prints through Ansible's display as it runs (the build's output, see M(slipway.paas.sandbox_build))
    shows between its headline and the next.
  - A headline task with a C(when) condition is printed with its first result instead, so a skipped step shows
    nothing; a headline task whose output streams should have no condition.
  - The builder's C(git push) hook indents every line that is neither a headline nor a failure.
"""

from ansible.plugins.callback import CallbackBase  # noqa: E402 (after the documentation, as ansible-test asks)

HEADLINE = "----->"
FAILED = " !"
DEBUG = ("debug", "ansible.builtin.debug", "ansible.legacy.debug")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "slipway.paas.push"

    def __init__(self):
        super().__init__()
        self._pending = None  # the headline of a conditional task, shown with its first result

    def _say(self, line: str = "") -> None:
        self._display.display(line)

    def _headline(self) -> None:
        if self._pending:
            self._say(self._pending)
            self._pending = None

    # -- tasks ---------------------------------------------------------------------------------------------
    def v2_playbook_on_task_start(self, task, is_conditional):
        name = task.get_name().strip()
        self._pending = name if name.startswith(HEADLINE) else None
        if not task.when:
            self._headline()

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def v2_playbook_on_no_hosts_matched(self):
        self._say(f"{FAILED}     No host to deploy on.")

    # -- results -------------------------------------------------------------------------------------------
    def v2_runner_on_ok(self, result):
        self._headline()
        res = result._result
        if result._task.action in DEBUG and "msg" in res:
            msg = res["msg"]
            for line in msg if isinstance(msg, list) else str(msg).splitlines():
                self._say(str(line))

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._headline()
        if not ignore_errors:
            self._failure(result)

    def v2_runner_on_unreachable(self, result):
        self._headline()
        self._failure(result)

    v2_runner_item_on_failed = v2_runner_on_unreachable

    def _failure(self, result):
        res = result._result
        name = result._task.get_name().strip()
        if name.startswith(HEADLINE):
            name = name[len(HEADLINE):].strip()
        self._say(f"{FAILED}     {name} failed:")
        if res.get("censored"):
            self._say(f"{FAILED}     (details hidden: no_log)")
            return
        for line in failure_lines(res):
            self._say(f"{FAILED}     {line}" if line else FAILED)


def failure_lines(res: dict) -> list[str]:
    """A failed result as lines: its message, then its output (the last 200 lines)."""
    out = str(res.get("msg") or "").strip().splitlines()
    for key in ("stdout", "stderr"):
        value = res.get(key)
        if isinstance(value, str) and value.strip():
            out.extend(value.rstrip().splitlines())
    return out[-200:]
