#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: user
short_description: Register a Slipway user or log in to obtain a token
version_added: 0.1.0
description:
  - With O(state=present), logs in as O(username) and returns a token; when the login fails because the user does
    not exist, registers the user first (the first user of a fresh platform becomes its admin). This bootstraps a
    platform without a token.
  - With O(state=absent), removes the user (O(token) of the user itself or of an admin; the user must own no apps).
  - Each login issues a new token, which is not counted as a change.
author:
  - Slipway maintainers (@slipway)
extends_documentation_fragment:
  - slipway.paas.controller
  - slipway.paas.controller.attributes
attributes:
  check_mode:
    support: partial
    details:
      - In check mode the module still logs in (which issues a token) to find whether the user exists; it registers
        or removes no one.
  diff_mode:
    support: full
options:
  username:
    description: The username, V([A-Za-z0-9@.+_-]{1,150}).
    type: str
    required: true
  password:
    description: The password. Required with O(state=present).
    type: str
  email:
    description: Email address given at registration.
    type: str
  first_name:
    description: First name given at registration.
    type: str
  last_name:
    description: Last name given at registration.
    type: str
  state:
    description: Whether the user exists.
    type: str
    choices: [present, absent]
    default: present
notes:
  - The returned O(token) is the user's credential. The module never returns the password, but use C(no_log) on
    tasks whose result is printed, or register the result and use the token as a variable only.
  - Registration follows the controller's C(registration_mode); with V(admin_only), pass an admin's O(token).
"""

EXAMPLES = r"""
- name: Bootstrap a fresh platform (the first user becomes admin) and keep its token
  slipway.paas.user:
    url: https://slipway.example.com
    username: admin
    password: "{{ vault_slipway_admin_password }}"
    email: ops@example.com
  register: slipway_admin

- name: Use the token for the next tasks
  ansible.builtin.set_fact:
    slipway_token: "{{ slipway_admin.token }}"
  no_log: true

- name: Remove a user who left
  slipway.paas.user:
    token: "{{ slipway_token }}"
    username: mallory
    state: absent
"""

RETURN = r"""
token:
  description: A fresh API token of the user (not returned in check mode when the user does not exist yet).
  returned: when O(state=present)
  type: str
  sample: 6a1f0c8e2b7d4e9fa3c5
user:
  description: The user (from C(/v2/auth/whoami/)); empty when absent.
  returned: success
  type: dict
  sample: {username: admin, email: ops@example.com, is_superuser: true}
"""

from ansible_collections.slipway.paas.plugins.module_utils.api import ControllerClient, ControllerError
from ansible_collections.slipway.paas.plugins.module_utils.base import ControllerModule, pick

LOGIN_REFUSED = (400, 401, 403, 404)


class UserModule(ControllerModule):
    argument_spec = dict(
        username=dict(type='str', required=True),
        password=dict(type='str', no_log=True),
        email=dict(type='str'),
        first_name=dict(type='str'),
        last_name=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    required_if = [('state', 'present', ['password'])]

    def __init__(self, *args, **kwargs):
        super(UserModule, self).__init__(*args, **kwargs)
        self.token = None
        self.removed = False
        self.login_error = None

    def login(self):
        """A token for username/password, or ``None`` when the controller refuses the credentials."""
        try:
            body = self.client.post('/v2/auth/login/', dict(
                username=self.params['username'], password=self.params['password']), auth=False)
        except ControllerError as e:
            if e.status in LOGIN_REFUSED:
                self.login_error = e
                return None
            raise
        return (body or {}).get('token')

    def as_user(self, token):
        p = self.params
        return ControllerClient(p['url'], token, p['validate_certs'], p['ca_path'], p['timeout'])

    def read(self):
        if self.params['state'] == 'present':
            self.token = self.login()
            if self.token is None:
                return None
            return self.as_user(self.token).must_get('/v2/auth/whoami/')
        if self.removed:
            return None  # the token may have been the removed user's own
        if not self.params['token']:
            self.fail('token is required to remove a user')
        me = self.client.must_get('/v2/auth/whoami/')
        if me.get('username') == self.params['username']:
            return me
        if not me.get('is_superuser'):
            self.fail('only the user itself or an admin can remove user %s' % self.params['username'])
        users = self.client.list('/v2/users/') or []
        found = [u for u in users if u.get('username') == self.params['username']]
        return found[0] if found else None

    def want(self, before):
        if self.params['state'] == 'absent':
            return None
        if before is not None:
            return before
        return dict((k, self.params[k]) for k in ('username', 'email', 'first_name', 'last_name')
                    if self.params[k] is not None)

    def compare(self, before, after):
        return (before is None) != (after is None)

    def write(self, before, after):
        if after is None:
            self.client.delete('/v2/auth/cancel/', dict(username=self.params['username']))
            self.removed = True
            return
        body = dict((k, self.params[k]) for k in ('username', 'password', 'email', 'first_name', 'last_name')
                    if self.params[k] is not None)
        try:
            self.client.post('/v2/auth/register/', body)
        except ControllerError as e:
            if e.status in (400, 409):
                e.msg = ('%s (the login failed before: %s; a wrong password for an existing user looks like this)'
                         % (e.msg, (self.login_error or e).detail))
            raise

    def diff_view(self, state):
        return pick(state, ('username', 'email', 'first_name', 'last_name')) or {}

    def returned(self, state):
        result = dict(user=state or {})
        if self.params['state'] == 'present':
            result['token'] = self.token
        return result


def main():
    UserModule().run()


if __name__ == '__main__':
    main()
