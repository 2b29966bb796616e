#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: config
short_description: Set and unset a Slipway app's config values, limits, health checks and tags
version_added: 0.1.0
description:
  - Manages an app's config; every change creates a new release, which the controller deploys (the call returns
    once the release serves or has failed).
  - Only what the task names is changed, unless O(purge=true).
  - Diffs show which keys change; values are masked unless O(show_values=true).
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
    details:
      - Config values are shown masked unless O(show_values=true).
options:
  app:
    description: The app id.
    type: str
    required: true
  state:
    description:
      - V(present) sets the given keys (a key whose value is V(null) is unset).
      - V(absent) unsets every key named in O(values), O(memory), O(cpu), O(tags) and O(healthcheck); their values
        are ignored.
    type: str
    choices: [present, absent]
    default: present
  values:
    description:
      - Environment variables, name to value. Names match V(^[A-Za-z_][A-Za-z0-9_]*$).
      - Values are strings; numbers are converted, booleans become V(true)/V(false). V(null) unsets the key.
    type: dict
  memory:
    description: Memory limit per process type (type to V(256M)-style size); V(null) removes a limit.
    type: dict
  cpu:
    description: CPU limit per process type (type to V(500m) millicores or V(1.5) cores); V(null) removes it.
    type: dict
  tags:
    description: Placement tags (node labels the processes must run on), label to value; V(null) removes one.
    type: dict
  healthcheck:
    description:
      - Health checks per process type, in Deis Workflow's shape (Kubernetes probes). A type maps to
        C(livenessProbe) and/or C(readinessProbe); a probe has one handler, C(httpGet) (C(path), C(port),
        C(httpHeaders) a list of C(name)/C(value)), C(tcpSocket) (C(port)) or C(exec) (C(command) a list), and
        C(initialDelaySeconds), C(timeoutSeconds), C(periodSeconds), C(successThreshold), C(failureThreshold)
        (default 0, 1, 10, 1, 3). A handler without C(port) probes the process's C(PORT).
      - A type's value replaces the one the app has (its other probe is unset when not given). The key C(web/cmd)
        is the app's routable type. V(null) removes a process type's health check.
      - The former shape (C(path), C(timeout), C(interval), C(initial_delay), C(healthy_threshold)) is still taken
        and compared as the controller converts it, a readiness C(httpGet) probe on C(PORT).
    type: dict
  registry:
    description:
      - A private registry's credentials the app's images are pulled with (Deis's C(registry:set)). The controller
        keeps them sealed and never shows the password back, so the task cannot compare it; see
        O(update_registry_password).
      - With O(state=absent), the credentials are removed (the suboptions are ignored).
    type: dict
    suboptions:
      username:
        description: The registry account.
        type: str
        required: true
      password:
        description: Its password or token.
        type: str
        required: true
      hostname:
        description: The registry's host (and port) when the image's name does not start with it.
        type: str
  update_registry_password:
    description:
      - V(on_create) sends O(registry) only when the app has no credentials or another username or host name;
        V(always) sends them every time (a new release each run).
    type: str
    choices: [always, on_create]
    default: on_create
  purge:
    description:
      - Make each given mapping exact, that is keys of O(values) (or O(memory), O(cpu), O(tags), O(healthcheck)) that the app
        has but the task does not name are unset. Mappings the task does not give are left alone.
    type: bool
    default: false
  show_values:
    description:
      - Show config values in the diff and in the returned config instead of masking them.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Set two values and a memory limit (one new release)
  slipway.paas.config:
    app: shop
    values:
      DATABASE_URL: "postgres://shop@db/shop"
      WORKERS: 4
    memory:
      web: 256M

- name: Unset a value
  slipway.paas.config:
    app: shop
    values:
      LEGACY_FLAG:
    state: absent

- name: Make the values exactly these (everything else is unset)
  slipway.paas.config:
    app: shop
    values:
      DATABASE_URL: "postgres://shop@db/shop"
    purge: true

- name: Route to a release once /health answers, and restart a process that stops accepting connections
  slipway.paas.config:
    app: shop
    healthcheck:
      web:
        readinessProbe:
          httpGet:
            path: /health
            httpHeaders:
              - name: X-Probe
                value: slipway
          timeoutSeconds: 3
          successThreshold: 2
        livenessProbe:
          tcpSocket: {}
          failureThreshold: 5
      worker:
        livenessProbe:
          exec:
            command: [/app/bin/check, --quick]
"""

RETURN = r"""
config:
  description:
    - The app's config after the task (predicted in check mode). Values are masked unless O(show_values=true).
  returned: success
  type: dict
  sample:
    values: {DATABASE_URL: "********"}
    memory: {web: 256M}
    cpu: {}
    tags: {}
    healthcheck:
      web:
        readinessProbe:
          httpGet: {path: /health, httpHeaders: []}
          initialDelaySeconds: 0
          timeoutSeconds: 3
          periodSeconds: 10
          successThreshold: 1
          failureThreshold: 3
changed_keys:
  description: Which config keys the task adds, removes or changes (or would in check mode), per mapping.
  returned: success
  type: dict
  sample: {values: {added: [WORKERS], removed: [], changed: [DATABASE_URL]}}
release:
  description: The app's newest release after the task (predicted version in check mode).
  returned: success
  type: dict
  sample: {version: 3, summary: "alice added WORKERS, changed DATABASE_URL"}
"""

import copy
import math
import re

from ansible_collections.slipway.paas.plugins.module_utils.base import (
    ControllerModule, apply_delta, changed_keys, dict_delta, masked_diff, normalize_value, MASK,
)

SECTIONS = ('values', 'memory', 'cpu', 'tags', 'healthcheck')
KEY_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
# Health checks as the controller stores them (controller_app/probes.py), so compares are exact: defaults filled in,
# the former shape as a readiness httpGet probe. The controller checks the values; the task sends them as given.
PROBES = ('livenessProbe', 'readinessProbe')
PROBE_DEFAULTS = dict(initialDelaySeconds=0, timeoutSeconds=1, periodSeconds=10, successThreshold=1,
                      failureThreshold=3)
FORMER_FIELDS = dict(initial_delay='initialDelaySeconds', timeout='timeoutSeconds', interval='periodSeconds',
                     healthy_threshold='successThreshold')
FORMER_BOUNDS = dict(initialDelaySeconds=(0, 3600), timeoutSeconds=(1, 60), periodSeconds=(1, 3600),
                     successThreshold=(1, 100))


def _given(mapping):
    return dict((k, v) for k, v in mapping.items() if v is not None)


def normalize_probe(probe):
    if not isinstance(probe, dict):
        return probe
    result = dict(PROBE_DEFAULTS)
    result.update(_given(probe))
    for handler in ('httpGet', 'tcpSocket'):
        if isinstance(result.get(handler), dict):
            result[handler] = _given(result[handler])
    if isinstance(result.get('httpGet'), dict):
        result['httpGet'].setdefault('path', '/')
        result['httpGet']['httpHeaders'] = result['httpGet'].get('httpHeaders') or []
    return result


def normalize_healthcheck(check):
    if not isinstance(check, dict):
        return check
    check = _given(check)
    if check and not set(check) & set(PROBES) and set(check) <= set(FORMER_FIELDS) | set(['path']):  # the former
        probe = dict(httpGet=dict(path=check.get('path', '/')))
        for name, field in FORMER_FIELDS.items():
            if isinstance(check.get(name), (int, float)):
                low, high = FORMER_BOUNDS[field]
                probe[field] = min(max(int(math.ceil(check[name])), low), high)
        check = dict(readinessProbe=probe)
    return dict((k, normalize_probe(v) if k in PROBES else v) for k, v in check.items())


class ConfigModule(ControllerModule):
    argument_spec = dict(
        app=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        values=dict(type='dict', no_log=True),
        memory=dict(type='dict'),
        cpu=dict(type='dict'),
        tags=dict(type='dict'),
        healthcheck=dict(type='dict'),
        registry=dict(type='dict', no_log=False, options=dict(
            username=dict(type='str', required=True),
            password=dict(type='str', required=True, no_log=True),
            hostname=dict(type='str'),
        )),
        update_registry_password=dict(type='str', default='on_create', choices=['always', 'on_create']),
        purge=dict(type='bool', default=False),
        show_values=dict(type='bool', default=False),
    )
    required_one_of = [SECTIONS + ('registry',)]

    def __init__(self, *args, **kwargs):
        super(ConfigModule, self).__init__(*args, **kwargs)
        self.deltas = {}
        if self.params['show_values'] and self.params['values']:
            # The user asked to see values: stop Ansible from masking them in the result.
            for value in self.params['values'].values():
                if value is not None:
                    self.module.no_log_values.discard(normalize_value(value))
        bad = [k for k in (self.params['values'] or {}) if not KEY_RE.match(k)]
        if bad:
            self.fail('invalid config key name(s): %s (must match %s)' % (', '.join(sorted(bad)), KEY_RE.pattern))

    def healthchecks_given(self):
        """The task's health checks, Deis's ``web/cmd`` as the app's routable type (web when it has one, else cmd)."""
        given = dict(self.params['healthcheck'])
        if 'web/cmd' in given:
            structure = self.client.must_get(self.app_path()).get('structure') or {}
            routable = 'web' if 'web' in structure else 'cmd'
            if routable in given:
                self.fail('healthcheck: web/cmd and %s name the same process type; give one' % routable)
            given[routable] = given.pop('web/cmd')
        return given

    def wanted(self, section):
        """The task's mapping for ``section`` as the controller stores it (so compares are exact)."""
        given = self.params[section]
        if section == 'healthcheck':
            return dict((k, normalize_healthcheck(v)) for k, v in self.healthchecks_given().items())
        if section == 'memory':
            return dict((k, None if v is None else normalize_value(v).upper()) for k, v in given.items())
        return dict((k, normalize_value(v)) for k, v in given.items())

    def sent(self, section, delta):
        """The delta as posted: health checks go as the task gave them (the controller applies defaults)."""
        if section != 'healthcheck':
            return delta
        given = self.healthchecks_given()
        return dict((k, None if v is None else _given(given.get(k, v))) for k, v in delta.items())

    def read(self):
        config = self.client.must_get(self.app_path() + 'config/')
        config = copy.deepcopy(config)
        for section in SECTIONS + ('registry',):
            config[section] = config.get(section) or {}
        config['healthcheck'] = dict((k, normalize_healthcheck(v)) for k, v in config['healthcheck'].items())
        return config

    def want(self, before):
        self.before = before
        after = copy.deepcopy(before)
        for section in SECTIONS:
            if self.params[section] is None:
                continue
            current = before[section]
            if self.params['state'] == 'absent':
                names = self.healthchecks_given() if section == 'healthcheck' else self.params[section]
                delta = dict((k, None) for k in names if k in current)
            else:
                delta = dict_delta(current, self.wanted(section), self.params['purge'])
            if delta:
                self.deltas[section] = delta
            after[section] = apply_delta(current, delta)
        if self.params['registry'] is not None:
            delta = self.registry_delta(before['registry'])
            if delta:
                self.deltas['registry'] = delta
                after['registry'] = self.registry_view(apply_delta(before['registry'], delta))
        return after

    def registry_delta(self, current):
        """What to send for the registry: the controller shows the password masked, so it is compared by the
        username and host name only (unless update_registry_password=always)."""
        if self.params['state'] == 'absent':
            return dict((k, None) for k in current)
        given = self.params['registry']
        wanted = dict((k, given[k]) for k in ('username', 'password', 'hostname') if given.get(k) is not None)
        if given.get('hostname') is None and 'hostname' in current:
            wanted['hostname'] = None
        host = (given.get('hostname') or '').lower() or None
        same = (current.get('username') == given['username'] and 'password' in current
                and current.get('hostname') == host)
        return wanted if self.params['update_registry_password'] == 'always' or not same else {}

    @staticmethod
    def registry_view(registry):
        return dict((k, MASK if k == 'password' else v) for k, v in registry.items() if v is not None)

    def compare(self, before, after):
        return bool(self.deltas)

    def write(self, before, after):
        self.client.post(self.app_path() + 'config/', dict((s, self.sent(s, d)) for s, d in self.deltas.items()))

    def view(self, state):
        view = dict((s, copy.deepcopy(state.get(s) or {})) for s in SECTIONS + ('registry',))
        view['registry'] = self.registry_view(view['registry'])
        if not self.params['show_values']:
            view['values'] = dict((k, MASK) for k in view['values'])
        return view

    def diff(self, before, after):
        diff = dict(before=self.view(before), after=self.view(after))
        if not self.params['show_values']:
            diff['before']['values'], diff['after']['values'] = masked_diff(before['values'], after['values'])
        return diff

    def returned(self, state):
        body = self.client.get(self.app_path() + 'releases/', query=dict(limit=1)) or {}
        releases = body.get('results', []) if isinstance(body, dict) else body
        release = releases[0] if releases else {}
        if self.deltas and self.check_mode and release:
            release = dict(version=release.get('version', 0) + 1)
        keys = dict((s, changed_keys(self.before[s], state.get(s))) for s in self.deltas)
        return dict(config=self.view(state), release=release, changed_keys=keys)


def main():
    ConfigModule().run()


if __name__ == '__main__':
    main()
