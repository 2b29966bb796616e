#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: settings
short_description: Set a Slipway app's routing settings (maintenance, routable, IP whitelist, HTTPS)
version_added: 0.1.0
description:
  - Sets the app settings the router applies. Settings do not create a release. Options the task does not give are
    left as they are.
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
  maintenance:
    description: Serve a maintenance page (503) instead of the app.
    type: bool
  routable:
    description: Whether the router sends traffic to the app at all.
    type: bool
  whitelist:
    description:
      - Client addresses (CIDRs) allowed to reach the app; an empty list allows everyone. Order does not matter.
    type: list
    elements: str
  enforce_https:
    description: Redirect plain HTTP requests to HTTPS.
    type: bool
"""

EXAMPLES = r"""
- name: Put the shop in maintenance, reachable only from the office
  slipway.paas.settings:
    app: shop
    maintenance: true
    whitelist:
      - 203.0.113.0/24

- name: Back in service for everyone
  slipway.paas.settings:
    app: shop
    maintenance: false
    whitelist: []
"""

RETURN = r"""
settings:
  description: The app's settings after the task (predicted in check mode).
  returned: success
  type: dict
  sample: {maintenance: false, routable: true, whitelist: [], enforce_https: false}
"""

from ansible_collections.slipway.paas.plugins.module_utils.base import ControllerModule

FIELDS = ('maintenance', 'routable', 'whitelist', 'enforce_https')


def normalized(settings):
    result = dict((k, settings.get(k)) for k in FIELDS)
    result['whitelist'] = sorted(result['whitelist'] or [])
    return result


class SettingsModule(ControllerModule):
    returns = 'settings'
    argument_spec = dict(
        app=dict(type='str', required=True),
        maintenance=dict(type='bool'),
        routable=dict(type='bool'),
        whitelist=dict(type='list', elements='str'),
        enforce_https=dict(type='bool'),
    )
    required_one_of = [FIELDS]

    def read(self):
        return self.client.must_get(self.app_path() + 'settings/')

    def want(self, before):
        after = dict(before)
        for field in FIELDS:
            if self.params[field] is not None:
                after[field] = self.params[field]
        return after

    def delta(self, before, after):
        b, a = normalized(before), normalized(after)
        return dict((k, after[k]) for k in FIELDS if self.params[k] is not None and b[k] != a[k])

    def compare(self, before, after):
        return bool(self.delta(before, after))

    def write(self, before, after):
        self.client.post(self.app_path() + 'settings/', self.delta(before, after))

    def diff_view(self, state):
        return normalized(state)


def main():
    SettingsModule().run()


if __name__ == '__main__':
    main()
