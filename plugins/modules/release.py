#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: release
short_description: Roll a Slipway app back to an earlier release
version_added: 0.1.0
description:
  - Makes an app run the build and config of an earlier release. As in Deis, a rollback creates a new release
    (vN+1) with that build and config, and the controller deploys it.
  - With O(version), nothing changes when the serving release already has that release's build and config, so
    the task is idempotent. Without O(version), the app rolls back to the release before the serving one, which is
    a change every time.
  - Can wait until a URL serves afterwards (O(wait_for_serving)), whether or not a rollback was needed.
author:
  - Slipway maintainers (@slipway)
extends_documentation_fragment:
  - slipway.paas.controller
  - slipway.paas.controller.serving
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
  version:
    description:
      - The release to return to, as V(3) or V(v3). Failed releases cannot be the target.
      - When omitted, the release before the serving one (skipping failed releases).
    type: str
"""

EXAMPLES = r"""
- name: Run release v3's build and config again
  slipway.paas.release:
    app: shop
    version: v3
    wait_for_serving: https://shop.example.com/
    wait_timeout: 60

- name: Undo the last deploy
  slipway.paas.release:
    app: shop
"""

RETURN = r"""
release:
  description: The serving release after the task (in check mode, the predicted version, build and config).
  returned: success
  type: dict
  sample: {version: 6, build: 6f1d..., config: 1c2d..., summary: "alice rolled back to v3", failed: false}
rolled_back_to:
  description: The version whose build and config the app now runs.
  returned: success
  type: int
  sample: 3
serving:
  description: The outcome of O(wait_for_serving).
  returned: when O(wait_for_serving) is set and not in check mode
  type: dict
  sample: {url: "https://shop.example.com/", ok: true, status: 200, seconds: 0.4}
"""

from ansible_collections.slipway.paas.plugins.module_utils.base import (
    ControllerModule, serving_argument_spec, wait_until_serving,
)


VOLATILE = ('uuid', 'created', 'updated', 'owner')


def content(ref):
    """A release's build or config, compared by reference (a uuid) or, when embedded, by content."""
    if isinstance(ref, dict):
        return dict((k, v) for k, v in ref.items() if k not in VOLATILE)
    return ref


def parse_version(value):
    text = str(value).strip().lower()
    if text.startswith('v'):
        text = text[1:]
    if not text.isdigit() or int(text) < 1:
        raise ValueError(value)
    return int(text)


class ReleaseModule(ControllerModule):
    argument_spec = dict(
        app=dict(type='str', required=True),
        version=dict(type='str'),
    )
    argument_spec.update(serving_argument_spec())

    def read(self):
        self.require_app()
        releases = self.client.list(self.app_path() + 'releases/') or []
        releases.sort(key=lambda r: r.get('version', 0), reverse=True)
        self.releases = releases
        serving = [r for r in releases if not r.get('failed')]
        return serving[0] if serving else None

    def target(self, current):
        if self.params['version'] is not None:
            try:
                version = parse_version(self.params['version'])
            except ValueError:
                self.fail('version must be a release number such as 3 or v3, got %r' % self.params['version'])
            found = [r for r in self.releases if r.get('version') == version]
            if not found:
                self.fail('app %s has no release v%s (newest is v%s)'
                          % (self.params['app'], version, self.releases[0].get('version') if self.releases else 0))
            if found[0].get('failed'):
                self.fail('release v%s of app %s failed; it cannot be rolled back to' % (version, self.params['app']))
            return found[0]
        older = [r for r in self.releases if not r.get('failed') and r.get('version', 0) < current.get('version', 0)]
        if not older:
            self.fail('app %s has no earlier release to roll back to' % self.params['app'])
        return older[0]

    def want(self, before):
        if before is None:
            self.fail('app %s has no serving release' % self.params['app'])
        self.goal = self.target(before)
        if self.params['version'] is not None and self.same(before, self.goal):
            return before
        return dict(version=self.releases[0].get('version', 0) + 1, build=self.goal.get('build'),
                    config=self.goal.get('config'))

    @staticmethod
    def same(a, b):
        return all(content(a.get(k)) == content(b.get(k)) for k in ('build', 'config'))

    def compare(self, before, after):
        return before is not after

    def write(self, before, after):
        self.client.post(self.app_path() + 'releases/rollback/', dict(version=self.goal['version']))

    def diff_view(self, state):
        return dict(version=state.get('version'), build=state.get('build'), config=state.get('config'))

    def returned(self, state):
        return dict(release=state, rolled_back_to=self.goal.get('version'))

    def finish(self, result, end):
        wait_until_serving(self, result)


def main():
    ReleaseModule().run()


if __name__ == '__main__':
    main()
