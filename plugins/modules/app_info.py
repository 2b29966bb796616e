#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: app_info
short_description: Read a Slipway app with its config, releases, processes and domains
version_added: 0.1.0
description:
  - Reads one app and, in the same task, its config, releases, pods, domains, collaborators and settings.
  - Without O(name), lists the apps the user can reach.
author:
  - Slipway maintainers (@slipway)
extends_documentation_fragment:
  - slipway.paas.controller
  - slipway.paas.controller.attributes
  - slipway.paas.controller.info_module
options:
  name:
    description:
      - The app id. When omitted, the module lists the apps the user owns or collaborates on (admins see all).
    type: str
    aliases: [app, id]
  gather:
    description:
      - What to read besides the app itself.
    type: list
    elements: str
    choices: [config, releases, pods, domains, perms, settings]
    default: [config, releases, pods, domains]
"""

EXAMPLES = r"""
- name: Read an app and what runs it
  slipway.paas.app_info:
    name: shop
  register: shop

- name: Show the serving release
  ansible.builtin.debug:
    msg: "shop runs v{{ shop.releases[0].version }} with {{ shop.config['values'] | length }} config values"
  when: shop.exists

- name: List every app this user can reach
  slipway.paas.app_info:
  register: all_apps
"""

RETURN = r"""
exists:
  description: Whether the app exists (when O(name) is given).
  returned: when O(name) is given
  type: bool
  sample: true
app:
  description: The app.
  returned: when O(name) is given and the app exists
  type: dict
  sample: {id: shop, owner: alice, structure: {web: 1}, url: shop.example.com}
config:
  description: The app's config (values, memory, cpu, tags, healthcheck).
  returned: when the app exists and V(config) is gathered
  type: dict
  sample: {values: {DATABASE_URL: "postgres://..."}, memory: {web: 256M}, cpu: {}, tags: {}, healthcheck: {}}
releases:
  description: The app's releases, newest first.
  returned: when the app exists and V(releases) is gathered
  type: list
  elements: dict
  sample: [{version: 2, summary: "alice deployed registry/shop:git-1a2b3c4", failed: false}]
pods:
  description: The app's processes.
  returned: when the app exists and V(pods) is gathered
  type: list
  elements: dict
  sample: [{name: shop-web-v2.1, type: web, release: v2, state: up, node: node1}]
domains:
  description: The domain names routed to the app.
  returned: when the app exists and V(domains) is gathered
  type: list
  elements: str
  sample: [shop.example.com, www.shop.com]
perms:
  description: Usernames of the app's collaborators.
  returned: when the app exists and V(perms) is gathered
  type: list
  elements: str
  sample: [bob]
settings:
  description: The app's settings.
  returned: when the app exists and V(settings) is gathered
  type: dict
  sample: {maintenance: false, routable: true, whitelist: []}
apps:
  description: The apps the user can reach.
  returned: when O(name) is omitted
  type: list
  elements: dict
  sample: [{id: shop, owner: alice}]
"""

from ansible_collections.slipway.paas.plugins.module_utils.api import ControllerError
from ansible_collections.slipway.paas.plugins.module_utils.base import ControllerModule


class AppInfoModule(ControllerModule):
    argument_spec = dict(
        name=dict(type='str', aliases=['app', 'id']),
        gather=dict(type='list', elements='str', default=['config', 'releases', 'pods', 'domains'],
                    choices=['config', 'releases', 'pods', 'domains', 'perms', 'settings']),
    )

    def gather(self):
        name = self.params['name']
        if not name:
            return dict(apps=self.client.list('/v2/apps/') or [])
        app = self.client.get(self.app_path(name))
        if app is None:
            return dict(exists=False)
        result = dict(exists=True, app=app)
        base = self.app_path(name)
        gather = self.params['gather']
        if 'config' in gather:
            result['config'] = self.client.must_get(base + 'config/')
        if 'releases' in gather:
            result['releases'] = self.client.list(base + 'releases/') or []
        if 'pods' in gather:
            result['pods'] = self.client.list(base + 'pods/') or []
        if 'domains' in gather:
            result['domains'] = [d['domain'] for d in self.client.list(base + 'domains/') or []]
        if 'perms' in gather:
            result['perms'] = (self.client.must_get(base + 'perms/') or {}).get('users', [])
        if 'settings' in gather:
            result['settings'] = self.client.must_get(base + 'settings/')
        return result

    def run(self):
        try:
            result = self.gather()
        except ControllerError as e:
            self.module.fail_json(**e.as_dict())
        self.module.exit_json(changed=False, **result)


def main():
    AppInfoModule().run()


if __name__ == '__main__':
    main()
