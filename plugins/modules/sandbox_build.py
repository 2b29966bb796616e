#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: sandbox_build
short_description: Unpack a pushed commit and build its image in the builder's sandbox
version_added: 0.1.0
description:
  - The build step of the deploy playbook a C(git push) runs on the builder (slipway.paas.deploy).
  - Reads the commit's C(Procfile) from the repository (a regular file at the root, at most 64 KiB; never through a
    symbolic link), unpacks the commit into O(workdir)C(/src), then runs the sandbox's entry point, O(command)
    C(build <app> <app_uuid> <sha> <workdir>) with the push's token on its standard input. The sandbox builds the
    image (a root Dockerfile with the Docker Engine's builder, anything else with buildpacks), pushes it to the
    platform registry and leaves its reference in O(workdir)C(/image).
  - Every line the build prints is shown through Ansible's display as it happens, so it streams to the pusher
    (through ansible-runner's stdout and its events).
  - It runs in ansible-playbook's worker on the builder itself (an action plugin), so the task's host must use the
    C(local) connection.
author:
  - Slipway maintainers (@slipway)
attributes:
  action:
    description: Runs as an action plugin, in ansible-playbook's worker on the builder.
    support: full
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details:
      - In check mode the Procfile is read and nothing is unpacked or built.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
options:
  app:
    description: The app id.
    type: str
    required: true
  app_uuid:
    description: The app's uuid (what its build cache is kept under).
    type: str
    required: true
  sha:
    description: The pushed commit.
    type: str
    required: true
  repo:
    description: The bare repository the commit was pushed to.
    type: path
    required: true
  workdir:
    description: An empty folder of this push's own, which the sandbox reads and writes its results to.
    type: path
    required: true
  push_token:
    description: The push's credential, handed to the sandbox on its standard input.
    type: str
    required: true
  command:
    description: The sandbox's entry point, as a command line (its configuration is its own).
    type: str
    default: sudo -n /opt/slipway/agents/bin/slipway-sandbox
"""

EXAMPLES = r"""
- name: Build the pushed commit (its output streams as it happens)
  slipway.paas.sandbox_build:
    app: shop
    app_uuid: 6f1d2c3b-8a9e-4f00-9c1d-2b3a4c5d6e7f
    sha: 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b
    repo: /var/lib/slipway/repos/6f1d2c3b-8a9e-4f00-9c1d-2b3a4c5d6e7f.git
    workdir: /var/lib/slipway/builder/work/slipway-shop-x1y2z3
    push_token: "{{ lookup('ansible.builtin.env', 'SLIPWAY_PUSH_TOKEN') }}"
  register: build
"""

RETURN = r"""
image:
  description: The image the sandbox built and pushed (empty in check mode).
  returned: success
  type: str
  sample: registry.example.com:5000/shop:git-1a2b3c4d
procfile:
  description: The commit's Procfile (empty without one).
  returned: success
  type: str
  sample: "web: gunicorn shop.wsgi\n"
default_process_types:
  description: The process types a buildpack's C(bin/release) proposes (empty for a Dockerfile build).
  returned: success
  type: dict
  sample: {web: python app.py}
"""

from ansible.module_utils.basic import AnsibleModule

ARGUMENT_SPEC = dict(
    app=dict(type='str', required=True),
    app_uuid=dict(type='str', required=True),
    sha=dict(type='str', required=True),
    repo=dict(type='path', required=True),
    workdir=dict(type='path', required=True),
    push_token=dict(type='str', required=True, no_log=True),
    command=dict(type='str', default='sudo -n /opt/slipway/agents/bin/slipway-sandbox'),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg='slipway.paas.sandbox_build runs in its action plugin, on the builder itself')


if __name__ == '__main__':
    main()
