#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: perm
short_description: Grant or revoke Slipway app collaborators and platform admins
version_added: 0.1.0
description:
  - Makes a user a collaborator of an app (everything but destroying and transferring it), or, with O(admin=true),
    a platform administrator; or takes that away.
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
  username:
    description: The user to grant or revoke.
    type: str
    required: true
  app:
    description: The app the user collaborates on. Required unless O(admin=true).
    type: str
  admin:
    description: Manage the user's platform administrator flag instead of an app permission (admins only).
    type: bool
    default: false
  state:
    description: Whether the user has the permission.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Let bob deploy the shop
  slipway.paas.perm:
    app: shop
    username: bob

- name: Make carol a platform admin
  slipway.paas.perm:
    username: carol
    admin: true

- name: Remove bob from the shop
  slipway.paas.perm:
    app: shop
    username: bob
    state: absent
"""

RETURN = r"""
users:
  description: The app's collaborators (or, with O(admin=true), the platform admins) after the task.
  returned: success
  type: list
  elements: str
  sample: [bob, dave]
"""

from ansible_collections.slipway.paas.plugins.module_utils.base import ControllerModule


class PermModule(ControllerModule):
    returns = 'users'
    argument_spec = dict(
        username=dict(type='str', required=True),
        app=dict(type='str'),
        admin=dict(type='bool', default=False),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    required_if = [('admin', False, ['app'])]

    def __init__(self, *args, **kwargs):
        super(PermModule, self).__init__(*args, **kwargs)
        if self.params['admin'] and self.params['app']:
            self.fail('app and admin=true are mutually exclusive: admin is a platform-wide permission')

    @property
    def base(self):
        return '/v2/admin/perms/' if self.params['admin'] else self.app_path() + 'perms/'

    def read(self):
        if self.params['admin']:
            entries = self.client.list(self.base) or []
            return sorted(e.get('username') for e in entries if e.get('is_superuser', True))
        body = self.client.must_get(self.base)
        return sorted((body or {}).get('users') or [])

    def want(self, before):
        user = self.params['username']
        if self.params['state'] == 'present':
            return sorted(set(before) | set([user]))
        return [u for u in before if u != user]

    def write(self, before, after):
        if self.params['state'] == 'present':
            self.client.post(self.base, dict(username=self.params['username']))
        else:
            self.client.delete(self.base + self.path('%s', self.params['username']))

    def diff_view(self, state):
        return dict(users=state)


def main():
    PermModule().run()


if __name__ == '__main__':
    main()
