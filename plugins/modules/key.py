#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: key
short_description: Manage a user's SSH public keys on Slipway (for git push)
version_added: 0.1.0
description:
  - Adds an SSH public key to the user of O(token), replaces it when the key under that name differs, or removes it.
    The builder accepts a push from a key as soon as it is added and refuses it as soon as it is removed.
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
    description: The key's name (its C(id) on the controller), for example V(alice@laptop).
    type: str
    required: true
    aliases: [id]
  public:
    description:
      - The public key in OpenSSH format (V(ssh-ed25519 AAAA... comment)). Required with O(state=present).
      - Compared by type and key material; the comment alone does not count as a change.
    type: str
  state:
    description: Whether the key is registered.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Let my laptop push
  slipway.paas.key:
    name: alice@laptop
    public: "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"

- name: Revoke it
  slipway.paas.key:
    name: alice@laptop
    state: absent
"""

RETURN = r"""
key:
  description: The key as the controller has it after the task (predicted in check mode); empty when absent.
  returned: success
  type: dict
  sample:
    id: alice@laptop
    public: ssh-ed25519 AAAAC3... alice@laptop
    fingerprint: "3f:2a:..."
    fingerprint_sha256: "SHA256:..."
"""

from ansible_collections.slipway.paas.plugins.module_utils.base import ControllerModule


def key_material(public):
    """The type and base64 body of an OpenSSH public key (the comment does not count)."""
    return tuple((public or '').split()[:2])


class KeyModule(ControllerModule):
    returns = 'key'
    diff_keys = ('id', 'public')
    argument_spec = dict(
        name=dict(type='str', required=True, aliases=['id']),
        public=dict(type='str', no_log=False),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    required_if = [('state', 'present', ['public'])]

    def read(self):
        keys = self.client.list('/v2/keys/') or []
        found = [k for k in keys if k.get('id') == self.params['name']]
        return found[0] if found else None

    def want(self, before):
        if self.params['state'] == 'absent':
            return None
        public = self.params['public'].strip()
        if len(key_material(public)) != 2:
            self.fail('public is not an OpenSSH public key ("<type> <base64> [comment]")')
        if before is not None and key_material(before.get('public')) == key_material(public):
            return before
        return dict(id=self.params['name'], public=public)

    def compare(self, before, after):
        return before is not after

    def write(self, before, after):
        if before is not None:
            self.client.delete(self.path('/v2/keys/%s', self.params['name']))
        if after is not None:
            self.client.post('/v2/keys/', dict(id=self.params['name'], public=after['public']))


def main():
    KeyModule().run()


if __name__ == '__main__':
    main()
