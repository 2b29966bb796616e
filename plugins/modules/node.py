#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: node
short_description: Drain, activate and label a Slipway node (a machine of the Swarm that runs app processes)
version_added: 0.1.0
description:
  - Sets a node's availability and labels through the controller, as an administrator.
  - A drain drops no request. The node first takes no new tasks, every app with tasks there is redeployed on the
    other nodes (healthy, routed and acknowledged by every router, then its old tasks removed), and only then is the
    node drained in the Swarm. The controller answers once that is done, so give O(timeout) room for it. A node
    that is the only active one is never drained, and a node whose apps could not move is active again.
  - Labels confine apps whose config C(tags) name them (C(tags:set disk=ssd) runs on nodes labelled C(disk=ssd)).
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
  name:
    description: The node's hostname (its name in the Swarm) or its Swarm id.
    type: str
    required: true
    aliases: [node]
  availability:
    description:
      - V(drain) moves every app off the node, then drains it; V(active) has it take tasks again.
      - Not given, the availability stays as it is.
    type: str
    choices: [active, drain]
  labels:
    description:
      - Node labels to set, name to value. A label whose value is V(null) is removed; labels not named stay.
      - Names and values are letters, digits, V(_), V(.) and V(-), at most 63 characters.
    type: dict
notes:
  - The token must be an administrator's.
"""

EXAMPLES = r"""
- name: Take node2 out of service without dropping a request
  slipway.paas.node:
    name: node2
    availability: drain
    timeout: 1800

- name: Back in service, on fast disks
  slipway.paas.node:
    name: node2
    availability: active
    labels:
      disk: ssd
      legacy: null
"""

RETURN = r"""
node:
  description: The node after the task (predicted in check mode).
  returned: success
  type: dict
  sample:
    id: 4x0jwhm3e1ydc2r4ofoqc8kpt
    hostname: node2
    role: worker
    availability: drain
    state: ready
    address: 192.0.2.12
    labels: {disk: ssd, slipway.zone: b}
    leader: false
moved:
  description: The apps whose processes a drain moved to other nodes.
  returned: when the task drained the node
  type: list
  elements: str
  sample: [shop, blog]
"""

from ansible_collections.slipway.paas.plugins.module_utils.base import (
    ControllerModule,
    apply_delta,
    dict_delta,
    normalize_value,
)

ACTIONS = dict(drain='drain/', active='activate/')


class NodeModule(ControllerModule):
    argument_spec = dict(
        name=dict(type='str', required=True, aliases=['node']),
        availability=dict(type='str', choices=['active', 'drain']),
        labels=dict(type='dict'),
    )
    required_one_of = [('availability', 'labels')]

    def node_path(self, action=''):
        return self.path('/v2/nodes/%s/', self.params['name']) + action

    def read(self):
        return self.client.must_get(self.node_path())

    def wanted_labels(self):
        return dict((k, normalize_value(v)) for k, v in (self.params['labels'] or {}).items())

    def want(self, before):
        after = dict(before)
        availability = self.params['availability']
        if availability and before['availability'] != availability:
            after['availability'] = availability
        after['labels'] = apply_delta(before['labels'], dict_delta(before['labels'], self.wanted_labels()))
        return after

    def compare(self, before, after):
        return self.diff_view(before) != self.diff_view(after)

    def write(self, before, after):
        delta = dict_delta(before['labels'], self.wanted_labels())
        if delta:
            self.client.post(self.node_path('labels/'), dict(labels=delta))
        if after['availability'] != before['availability']:
            answer = self.client.post(self.node_path(ACTIONS[after['availability']]))
            if after['availability'] == 'drain':
                self.extra['moved'] = answer.get('moved', [])

    def diff_view(self, state):
        return dict(availability=state['availability'], labels=state['labels'])

    def returned(self, state):
        return dict(node=dict((k, v) for k, v in state.items() if k != 'apps'))


def main():
    NodeModule().run()


if __name__ == '__main__':
    main()
