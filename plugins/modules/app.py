#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: app
short_description: Create, transfer and destroy Slipway apps
version_added: 0.1.0
description:
  - Creates an app on the Slipway controller (which gives it release v1 and the domain C(<app>.<platform_domain>)),
    transfers it to another owner, or destroys it with its running processes.
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
    description:
      - The app id; lowercase letters, digits and dashes, starting with a letter, not ending with a dash,
        at most 63 characters.
    type: str
    required: true
    aliases: [app, id]
  state:
    description:
      - V(present) creates the app when it is missing; V(absent) destroys it and everything it runs.
    type: str
    choices: [present, absent]
    default: present
  owner:
    description:
      - Username that should own the app. When it differs, the app is transferred (owner or admin only).
      - When omitted, a new app is owned by the user of O(token) and an existing one keeps its owner.
    type: str
"""

EXAMPLES = r"""
- name: Create an app
  slipway.paas.app:
    url: https://slipway.example.com
    token: "{{ slipway_token }}"
    name: shop

- name: Hand the app over to another user
  slipway.paas.app:
    name: shop
    owner: alice

- name: Destroy the app
  slipway.paas.app:
    name: shop
    state: absent
"""

RETURN = r"""
app:
  description: The app as the controller has it after the task (predicted in check mode); empty when absent.
  returned: always
  type: dict
  sample:
    id: shop
    owner: alice
    structure: {web: 1}
    url: shop.example.com
    uuid: 0b1e5b6c-5a1c-4f1e-9d1e-2f6a1c9d2f00
    created: "2026-01-01T00:00:00Z"
    updated: "2026-01-01T00:00:00Z"
"""

from ansible_collections.slipway.paas.plugins.module_utils.base import APP_ID, ControllerModule


class AppModule(ControllerModule):
    returns = 'app'
    diff_keys = ('id', 'owner')
    argument_spec = dict(
        name=dict(type='str', required=True, aliases=['app', 'id']),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        owner=dict(type='str'),
    )

    def read(self):
        return self.client.get(self.app_path(self.params['name']))

    def want(self, before):
        if self.params['state'] == 'absent':
            return None
        owner = self.params['owner']
        if before is None:
            if not APP_ID.match(self.params['name']):
                self.fail('%s is not a valid app id: a-z, 0-9 and hyphens, at most 63 characters, starting with a '
                          'letter and not ending with a hyphen' % self.params['name'])
            if owner is None:
                owner = self.client.must_get('/v2/auth/whoami/').get('username')
            return dict(id=self.params['name'], owner=owner)
        after = dict(before)
        if owner is not None:
            after['owner'] = owner
        return after

    def compare(self, before, after):
        if before is None or after is None:
            return before is not after
        return before.get('owner') != after.get('owner')

    def write(self, before, after):
        name = self.params['name']
        if after is None:
            self.client.delete(self.app_path(name))
            return
        if before is None:
            before = self.client.post('/v2/apps/', dict(id=name))
        if before.get('owner') != after['owner']:
            self.client.post(self.app_path(name), dict(owner=after['owner']))


def main():
    AppModule().run()


if __name__ == '__main__':
    main()
