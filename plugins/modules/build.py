#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: build
short_description: Register a built image with a Slipway app and deploy it as a new release
version_added: 0.1.0
description:
  - Registers an image (with its Procfile and source sha) as a new build of an app. The controller creates release
    vN+1 from this build and the current config and deploys it; the call returns once the release serves, or fails
    with the controller's reason (the previous release keeps serving).
  - With O(push_token), the build is registered once through the builder hook, which answers at once with the new
    release and its state; while the release is C(deploying) the module follows it (long polls of
    C(/v2/hooks/releases/<version>/)) until it serves, fails (the task fails with the controller's reason) or
    O(timeout) runs out (the task fails, saying the release is still deploying). The version reported is always the
    release this build created.
  - Registering a build always creates a release, so this module always reports a change.
author:
  - Slipway maintainers (@slipway)
extends_documentation_fragment:
  - slipway.paas.controller
  - slipway.paas.controller.serving
  - slipway.paas.controller.attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode the module checks that the app exists and reports the release it would create.
  diff_mode:
    support: full
options:
  app:
    description: The app id.
    type: str
    required: true
  image:
    description: The image to run, as the nodes can pull it, for example V(registry.example.com:5000/shop:git-1a2b3c4).
    type: str
    required: true
  procfile:
    description:
      - Process types and their commands (type to command line), as in a Procfile; see the examples.
      - Without it, the image's own command runs as the V(cmd) process type.
    type: dict
  sha:
    description: The git sha the image was built from.
    type: str
  dockerfile:
    description: The Dockerfile the image was built from, kept with the build for reference.
    type: str
  push_token:
    description:
      - Register the build as a C(git push) does, through the hooks C(/v2/hooks/config/) and C(/v2/hooks/build/),
        authenticated by this push token instead of a user token (the deploy playbook run by a push).
      - The builder gets the token from the controller's push check (C(POST /v2/hooks/push/), builder key) for one
        user and one app; it expires after the controller's C(SLIPWAY_PUSH_TOKEN_TTL) (15 minutes by default).
      - The controller then registers only an image in the app's own repository of the platform registry,
        V(<registry>/<app>:<tag>), and records the build and release as the token's user's.
      - O(timeout) is then also the most seconds the module follows the new release until it serves or fails.
    type: str
  receive_user:
    description:
      - With O(push_token), the user who pushed (ignored without it); the controller refuses the call when it is
        not the token's user.
    type: str
"""

EXAMPLES = r"""
- name: Deploy an image with two process types and wait until it serves
  slipway.paas.build:
    app: shop
    image: "registry.example.com:5000/shop:git-1a2b3c4"
    sha: 1a2b3c4d5e6f
    procfile:
      web: gunicorn shop.wsgi
      worker: celery -A shop worker
    wait_for_serving: https://shop.example.com/
  register: deploy

- name: Show the new release
  ansible.builtin.debug:
    msg: "shop is now at v{{ deploy.release.version }}"

- name: Register a pushed build with the push's token (deploy playbook)
  slipway.paas.build:
    app: shop
    image: "registry.example.com:5000/shop:git-1a2b3c4"
    sha: 1a2b3c4d5e6f
    push_token: "{{ slipway_push_token }}"
    receive_user: alice
"""

RETURN = r"""
build:
  description: The registered build (empty in check mode; only its C(uuid) with O(push_token)).
  returned: success
  type: dict
  sample: {uuid: 6f1d..., image: "registry.example.com:5000/shop:git-1a2b3c4", sha: 1a2b3c4d5e6f, procfile: {web: gunicorn shop.wsgi}}
release:
  description:
    - The release the build created (in check mode, only the version it would get).
    - With O(push_token), its C(version) and C(state) (C(serving), or C(failed) when the task fails; none in check
      mode).
  returned: success
  type: dict
  sample: {version: 4, summary: "alice deployed registry.example.com:5000/shop:git-1a2b3c4", failed: false}
url:
  description: The app's address as the controller gives it (with O(push_token)).
  returned: when O(push_token) is set and not in check mode
  type: str
  sample: shop.example.com
serving:
  description: The outcome of O(wait_for_serving).
  returned: when O(wait_for_serving) is set and not in check mode
  type: dict
  sample: {url: "https://shop.example.com/", ok: true, status: 200, seconds: 1.2}
"""

import time

from ansible_collections.slipway.paas.plugins.module_utils.api import ControllerError
from ansible_collections.slipway.paas.plugins.module_utils.base import (
    ControllerModule, serving_argument_spec, wait_until_serving,
)


def latest_release(client, path):
    body = client.get(path + 'releases/', query=dict(limit=1)) or {}
    releases = body.get('results', []) if isinstance(body, dict) else body
    return releases[0] if releases else {}


class BuildModule(ControllerModule):
    argument_spec = dict(
        app=dict(type='str', required=True),
        image=dict(type='str', required=True),
        procfile=dict(type='dict'),
        sha=dict(type='str'),
        dockerfile=dict(type='str'),
        push_token=dict(type='str', no_log=True),
        receive_user=dict(type='str'),
    )
    argument_spec.update(serving_argument_spec())

    def run(self):
        if not self.params['push_token']:
            return super(BuildModule, self).run()
        try:
            result = PushRegistration(self).run()
            wait_until_serving(self, result)
        except ControllerError as e:
            self.module.fail_json(**e.as_dict())
        self.module.exit_json(**result)

    def body(self):
        body = dict(image=self.params['image'])
        for key in ('procfile', 'sha', 'dockerfile'):
            if self.params[key] is not None:
                body[key] = self.params[key]
        return body

    def read(self):
        self.require_app()
        return dict(release=latest_release(self.client, self.app_path()))

    def want(self, before):
        release = dict(version=before['release']['version'] + 1) if before['release'] else {}
        return dict(release=release, image=self.params['image'], sha=self.params['sha'],
                    procfile=self.params['procfile'])

    def compare(self, before, after):
        return True  # every build is a new release

    def write(self, before, after):
        self.extra['build'] = self.client.post(self.app_path() + 'builds/', self.body())

    def diff_view(self, state):
        return dict(release=(state.get('release') or {}).get('version'), image=state.get('image'),
                    sha=state.get('sha'))

    def returned(self, state):
        return dict(build={}, release=state['release'])

    def finish(self, result, end):
        wait_until_serving(self, result)


class PushRegistration(object):
    """A push's build, registered once through the builder hooks (authenticated by the push token), then its
    release followed until it serves or fails, or O(timeout) runs out."""

    def __init__(self, mod):
        self.mod = mod
        self.params = mod.params
        self.headers = {'X-Slipway-Push-Token': self.params['push_token']}

    def hook(self, path, body):
        body = dict(body, receive_repo=self.params['app'])
        if self.params['receive_user']:
            body['receive_user'] = self.params['receive_user']
        return self.mod.client.post(path, body, auth=False, headers=self.headers) or {}

    def run(self):
        if self.mod.check_mode:
            self.hook('/v2/hooks/config/', {})  # the token is valid, for this app (and user)
            return dict(changed=True, build={}, release={})
        answer = self.hook('/v2/hooks/build/', self.mod.body())
        release = answer.get('release') or {}
        version = release.get('version')
        # a controller that answers once the release serves gives no state
        state, reason = self.follow(version, release.get('state') or 'serving')
        result = dict(changed=True, build=dict(uuid=answer.get('build')),
                      release=dict(version=version, state=state))
        if answer.get('url'):
            result['url'] = answer['url']
        if state == 'failed':
            self.mod.fail('%s v%s failed: %s' % (self.params['app'], version, reason or 'no reason given'), **result)
        return result

    def follow(self, version, state):
        """The release's state once it is no longer ``deploying`` (long polls of /v2/hooks/releases/{N}/), and
        the controller's reason."""
        deadline = time.monotonic() + self.params['timeout']
        reason = ''
        while state == 'deploying':
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.mod.fail('%s v%s is still deploying after %ss; the deploy goes on without this push: see '
                              '`slipway releases -a %s`' % (self.params['app'], version, self.params['timeout'],
                                                            self.params['app']),
                              changed=True, release=dict(version=version, state=state))
            path = self.mod.path('/v2/hooks/releases/%s/', str(version))
            try:
                body = self.mod.client.get(path, query=dict(wait=min(60, int(remaining))), auth=False,
                                           headers=self.headers)
            except ControllerError as e:
                if e.status is not None and e.status < 500:
                    raise
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))  # a controller restarting
                continue
            if not body:
                raise ControllerError('GET', path, 404, 'release v%s of %s not found' % (version, self.params['app']))
            state, reason = body.get('state') or 'serving', body.get('reason') or ''
        return state, reason


def main():
    BuildModule().run()


if __name__ == '__main__':
    main()
