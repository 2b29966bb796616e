#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: domain
short_description: Route a domain name to a Slipway app
version_added: 0.1.0
description:
  - Adds a domain name to an app (the router then sends its traffic to the app) or removes it.
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
  domain:
    description: The fully qualified domain name, for example V(www.shop.com).
    type: str
    required: true
    aliases: [name]
  state:
    description: Whether the domain routes to the app.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Serve the shop on its own domain
  slipway.paas.domain:
    app: shop
    domain: www.shop.com

- name: Stop routing the old domain
  slipway.paas.domain:
    app: shop
    domain: old.shop.com
    state: absent
"""

RETURN = r"""
domain:
  description: The domain as the controller has it after the task (predicted in check mode); empty when absent.
  returned: success
  type: dict
  sample: {domain: www.shop.com, app: shop, owner: alice, uuid: 3f9a...}
domains:
  description: Every domain of the app after the task.
  returned: success
  type: list
  elements: str
  sample: [shop.example.com, www.shop.com]
"""

from ansible_collections.slipway.paas.plugins.module_utils.base import ControllerModule, pick


class DomainModule(ControllerModule):
    argument_spec = dict(
        app=dict(type='str', required=True),
        domain=dict(type='str', required=True, aliases=['name']),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )

    def read(self):
        domains = self.client.list(self.app_path() + 'domains/')
        if domains is None:
            self.require_app()  # fails with the controller's 404 for the app
        self.all = [d.get('domain') for d in domains]
        found = [d for d in domains if d.get('domain') == self.name]
        return found[0] if found else None

    @property
    def name(self):
        return self.params['domain'].strip().lower().rstrip('.')

    def want(self, before):
        if self.params['state'] == 'absent':
            return None
        return before or dict(domain=self.name, app=self.params['app'])

    def write(self, before, after):
        if after is None:
            self.client.delete(self.path('/v2/apps/%s/domains/%s', self.params['app'], self.name))
        else:
            self.client.post(self.app_path() + 'domains/', dict(domain=self.name))

    def diff_view(self, state):
        return pick(state, ('domain', 'app')) or {}

    def returned(self, state):
        domains = [d for d in self.all if d != self.name] + ([self.name] if state else [])
        return dict(domain=state or {}, domains=sorted(domains))


def main():
    DomainModule().run()


if __name__ == '__main__':
    main()
