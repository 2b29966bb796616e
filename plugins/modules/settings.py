#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: settings
short_description: Set a Slipway app's routing settings (maintenance, routable, IP whitelist, HTTPS) and labels
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
  labels:
    description:
      - Free labels of the app (Deis's C(labels:set)), name to value; V(null) removes one. Labels the task does not
        name are left as they are, unless O(purge_labels=true).
    type: dict
  purge_labels:
    description: Remove the app's labels that O(labels) does not name.
    type: bool
    default: false
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

- name: Exactly these labels
  slipway.paas.settings:
    app: shop
    labels:
      team: checkout
    purge_labels: true
"""

RETURN = r"""
settings:
  description: The app's settings after the task (predicted in check mode).
  returned: success
  type: dict
  sample: {maintenance: false, routable: true, whitelist: [], enforce_https: false, label: {team: checkout}}
"""

from ansible_collections.slipway.paas.plugins.module_utils.base import ControllerModule, apply_delta, dict_delta

FIELDS = ('maintenance', 'routable', 'whitelist', 'enforce_https')


def normalized(settings):
    result = dict((k, settings.get(k)) for k in FIELDS)
    result['whitelist'] = sorted(result['whitelist'] or [])
    result['label'] = dict(settings.get('label') or {})
    return result


class SettingsModule(ControllerModule):
    returns = 'settings'
    argument_spec = dict(
        app=dict(type='str', required=True),
        maintenance=dict(type='bool'),
        routable=dict(type='bool'),
        whitelist=dict(type='list', elements='str'),
        enforce_https=dict(type='bool'),
        labels=dict(type='dict'),
        purge_labels=dict(type='bool', default=False),
    )
    required_one_of = [FIELDS + ('labels',)]

    def read(self):
        return self.client.must_get(self.app_path() + 'settings/')

    def labels_delta(self, before):
        if self.params['labels'] is None and not self.params['purge_labels']:
            return {}
        wanted = dict((k, None if v is None else str(v)) for k, v in (self.params['labels'] or {}).items())
        return dict_delta(before.get('label'), wanted, self.params['purge_labels'])

    def want(self, before):
        after = dict(before)
        for field in FIELDS:
            if self.params[field] is not None:
                after[field] = self.params[field]
        after['label'] = apply_delta(before.get('label'), self.labels_delta(before))
        return after

    def delta(self, before, after):
        b, a = normalized(before), normalized(after)
        out = dict((k, after[k]) for k in FIELDS if self.params[k] is not None and b[k] != a[k])
        labels = self.labels_delta(before)
        if labels:
            out['label'] = labels
        return out

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
