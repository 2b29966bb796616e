#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: settings
short_description: Set a Slipway app's routing settings (maintenance, routable, IP whitelist, HTTPS), labels and autoscale
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
  autoscale:
    description:
      - Process types the controller sizes by their CPU use (Deis's C(autoscale:set)), type to C(min), C(max) and
        C(cpu_percent); V(null) stops autoscaling a type (its count stays). Types the task does not name are left as
        they are, unless O(purge_autoscale=true).
      - C(cpu_percent) is the target CPU use of each process, in percent of the type's CPU limit (the C(cpu) of
        M(slipway.paas.config)), or of one core when the type has no limit.
      - While a type is autoscaled, M(slipway.paas.scale) cannot change its count.
    type: dict
  purge_autoscale:
    description: Stop autoscaling the types that O(autoscale) does not name.
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

- name: Between 2 and 6 web processes, each at about 70 % of its CPU limit
  slipway.paas.settings:
    app: shop
    autoscale:
      web: {min: 2, max: 6, cpu_percent: 70}
"""

RETURN = r"""
settings:
  description: The app's settings after the task (predicted in check mode).
  returned: success
  type: dict
  sample: {maintenance: false, routable: true, whitelist: [], enforce_https: false, label: {team: checkout},
           autoscale: {web: {min: 2, max: 6, cpu_percent: 70}}}
"""

from ansible_collections.slipway.paas.plugins.module_utils.base import ControllerModule, apply_delta, dict_delta

FIELDS = ('maintenance', 'routable', 'whitelist', 'enforce_https')
AUTOSCALE_KEYS = ('min', 'max', 'cpu_percent')


def autoscale_spec(value):
    """One type's autoscale as the controller holds it (integers), or ValueError."""
    if not isinstance(value, dict) or sorted(value) != sorted(AUTOSCALE_KEYS):
        raise ValueError('each autoscaled type takes exactly min, max and cpu_percent')
    return dict((k, int(value[k])) for k in AUTOSCALE_KEYS)


# setting -> (option, purge option, how a value is written)
MAPPINGS = {'label': ('labels', 'purge_labels', str), 'autoscale': ('autoscale', 'purge_autoscale', autoscale_spec)}


def normalized(settings):
    result = dict((k, settings.get(k)) for k in FIELDS)
    result['whitelist'] = sorted(result['whitelist'] or [])
    for field in MAPPINGS:
        result[field] = dict(settings.get(field) or {})
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
        autoscale=dict(type='dict'),
        purge_autoscale=dict(type='bool', default=False),
    )
    required_one_of = [FIELDS + ('labels', 'autoscale')]

    def read(self):
        return self.client.must_get(self.app_path() + 'settings/')

    def mapping_delta(self, before, field):
        """The delta of one mapping setting (labels, autoscale) the task asks for."""
        option, purge, write = MAPPINGS[field]
        if self.params[option] is None and not self.params[purge]:
            return {}
        try:
            wanted = dict((k, None if v is None else write(v)) for k, v in (self.params[option] or {}).items())
        except (TypeError, ValueError) as exc:
            self.fail('%s: %s' % (option, exc))
        return dict_delta(before.get(field), wanted, self.params[purge])

    def want(self, before):
        after = dict(before)
        for field in FIELDS:
            if self.params[field] is not None:
                after[field] = self.params[field]
        for field in MAPPINGS:
            after[field] = apply_delta(before.get(field), self.mapping_delta(before, field))
        return after

    def delta(self, before, after):
        b, a = normalized(before), normalized(after)
        out = dict((k, after[k]) for k in FIELDS if self.params[k] is not None and b[k] != a[k])
        for field in MAPPINGS:
            changes = self.mapping_delta(before, field)
            if changes:
                out[field] = changes
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
