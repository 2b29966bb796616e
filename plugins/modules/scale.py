#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: scale
short_description: Set how many processes of each type a Slipway app runs
version_added: 0.1.0
description:
  - Sets the number of containers per process type of an app (its C(structure)). Types the task does not name keep
    their count. The controller answers once the processes run, within the platform's replica limits.
author:
  - Slipway maintainers (@slipway)
extends_documentation_fragment:
  - slipway.paas.controller
  - slipway.paas.controller.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  app:
    description: The app id.
    type: str
    required: true
  processes:
    description:
      - Process type to count (type to a whole number); see the examples. V(0) stops a type.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Run three web and one worker process
  slipway.paas.scale:
    app: shop
    processes:
      web: 3
      worker: 1

- name: Stop the workers
  slipway.paas.scale:
    app: shop
    processes:
      worker: 0
"""

RETURN = r"""
structure:
  description: Process counts per type after the task (predicted in check mode).
  returned: success
  type: dict
  sample: {web: 3, worker: 1}
"""

import re

from ansible_collections.slipway.paas.plugins.module_utils.base import ControllerModule

TYPE_RE = re.compile(r'^[a-z0-9]([a-z0-9-]*[a-z0-9])?$')


class ScaleModule(ControllerModule):
    returns = 'structure'
    argument_spec = dict(
        app=dict(type='str', required=True),
        processes=dict(type='dict', required=True),
    )

    def __init__(self, *args, **kwargs):
        super(ScaleModule, self).__init__(*args, **kwargs)
        wanted = {}
        for proc_type, count in self.params['processes'].items():
            if not TYPE_RE.match(proc_type) or len(proc_type) > 30:
                self.fail('invalid process type %r (lowercase letters, digits and dashes, at most 30)' % proc_type)
            try:
                count = int(count)
            except (TypeError, ValueError):
                count = -1
            if count < 0:
                self.fail('the count of process type %s must be a whole number >= 0, got %r'
                          % (proc_type, self.params['processes'][proc_type]))
            wanted[proc_type] = count
        self.wanted = wanted

    def read(self):
        return dict(self.require_app().get('structure') or {})

    def want(self, before):
        after = dict(before)
        after.update(self.wanted)
        return after

    def compare(self, before, after):
        return any(before.get(t, 0) != n for t, n in self.wanted.items())

    def write(self, before, after):
        self.client.post(self.app_path() + 'scale/', self.wanted)


def main():
    ScaleModule().run()


if __name__ == '__main__':
    main()
