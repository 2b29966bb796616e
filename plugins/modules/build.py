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
    - With O(push_token), only its C(version) (none in check mode).
  returned: success
  type: dict
  sample: {version: 4, summary: "alice deployed registry.example.com:5000/shop:git-1a2b3c4", failed: false}
url:
  description: The app's address as the controller gives it (with O(push_token), after a deploy).
  returned: when O(push_token) is set and not in check mode
  type: str
  sample: shop.example.com
serving:
  description: The outcome of O(wait_for_serving).
  returned: when O(wait_for_serving) is set and not in check mode
  type: dict
  sample: {url: "https://shop.example.com/", ok: true, status: 200, seconds: 1.2}
"""

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

    def __init__(self, *args, **kwargs):
        super(BuildModule, self).__init__(*args, **kwargs)
        self.hook_release = None

    def hook(self, path, body):
        body = dict(body, receive_repo=self.params['app'])
        if self.params['receive_user']:
            body['receive_user'] = self.params['receive_user']
        headers = {'X-Slipway-Push-Token': self.params['push_token']}
        return self.client.post(path, body, auth=False, headers=headers)

    def read(self):
        if self.params['push_token']:
            self.hook('/v2/hooks/config/', {})  # the token is valid, for this app (and user)
            return dict(release=self.hook_release or {})
        self.require_app()
        return dict(release=latest_release(self.client, self.app_path()))

    def want(self, before):
        release = dict(version=before['release']['version'] + 1) if before['release'] else {}
        return dict(release=release, image=self.params['image'], sha=self.params['sha'],
                    procfile=self.params['procfile'])

    def compare(self, before, after):
        return True  # every build is a new release

    def write(self, before, after):
        body = dict(image=self.params['image'])
        for key in ('procfile', 'sha', 'dockerfile'):
            if self.params[key] is not None:
                body[key] = self.params[key]
        if self.params['push_token']:
            answer = self.hook('/v2/hooks/build/', body)
            self.hook_release = answer.get('release') or {}
            self.extra['build'] = dict(uuid=answer.get('build'))
            if answer.get('url'):
                self.extra['url'] = answer['url']
            return
        self.extra['build'] = self.client.post(self.app_path() + 'builds/', body)

    def diff_view(self, state):
        return dict(release=(state.get('release') or {}).get('version'), image=state.get('image'),
                    sha=state.get('sha'))

    def returned(self, state):
        return dict(build={}, release=state['release'])

    def finish(self, result, end):
        wait_until_serving(self, result)


def main():
    BuildModule().run()


if __name__ == '__main__':
    main()
