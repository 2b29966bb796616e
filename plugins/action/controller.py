# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin of every Slipway module (meta/runtime.yml routes each module's action here).

Every Slipway module is a client of the controller's HTTP API. On a remote host it runs as usual (AnsiballZ
payload, a Python start there). When the task's connection is ``local`` (``hosts: localhost``,
``delegate_to: localhost``, the builder's deploy playbook), the host *is* the control node, and starting a
second Python for the module costs a third of a second per task for nothing: this plugin then runs the
module's class (the ``ControllerModule`` subclass of ``plugins/modules/<name>.py``) in the worker process,
with the same argument validation, check mode, diff and ``no_log`` masking. Tasks that need the module's own
process (``become``, ``environment``, ``async``) still get it.
"""

from __future__ import annotations

import importlib

from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.slipway.paas.plugins.module_utils.base import ControllerModule

MODULES = 'ansible_collections.slipway.paas.plugins.modules.'


class _ModuleResult(Exception):
    """How ``exit_json``/``fail_json`` end a module run in-process (where the real ones call sys.exit)."""

    def __init__(self, result):
        super().__init__(result.get('msg', ''))
        self.result = result


class InProcessModule:
    """What ``ControllerModule`` uses of ``AnsibleModule``, for a run inside the action plugin."""

    def __init__(self, params, check_mode, diff, no_log_values):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.no_log_values = set(no_log_values)

    def exit_json(self, **result):
        raise _ModuleResult(result)

    def fail_json(self, msg, **result):
        result.update(msg=msg, failed=True)
        raise _ModuleResult(result)


def module_class(resolved_action):
    """The ``ControllerModule`` subclass that module ``slipway.paas.<name>`` defines."""
    module = importlib.import_module(MODULES + resolved_action.rpartition('.')[2])
    found = [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, ControllerModule)
             and c.__module__ == module.__name__]
    if len(found) != 1:
        raise AssertionError('%s defines %d module classes' % (resolved_action, len(found)))
    return found[0]


def run_module(cls, module):
    """What the module class would print as its result, run against ``module`` (an InProcessModule)."""
    try:
        cls(module=module).run()
    except _ModuleResult as end:
        return end.result
    raise AssertionError('%s ended without exit_json' % cls.__name__)


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = True

    def runs_in_process(self):
        """True when the module's own process would run on this machine with nothing of its own."""
        return (self._connection.transport == 'local' and not self._play_context.become
                and not any(self._task.environment or ()) and not self._task.async_val)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        if not self.runs_in_process():  # as ansible.builtin's normal action plugin runs a module
            wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
            result = merge_hash(result, self._execute_module(module_name=self._task.resolved_action,
                                                             task_vars=task_vars, wrap_async=wrap_async))
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            return result
        cls = module_class(self._task.resolved_action)
        validation, params = self.validate_argument_spec(**cls.full_argument_spec())
        module = InProcessModule(params, bool(self._task.check_mode), bool(self._task.diff),
                                 validation._no_log_values)
        result.update(remove_values(run_module(cls, module), module.no_log_values))
        return result
