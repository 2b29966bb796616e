# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """The connection options shared by every module that talks to the Slipway controller."""

    # Connection to the controller: url, token, TLS and timeout.
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the Slipway controller, for example C(https://slipway.example.com) or C(http://127.0.0.1:8000).
      - If not set, the value of the E(SLIPWAY_URL) environment variable is used.
    type: str
    required: true
  token:
    description:
      - API token of the user the module acts as, sent in the C(Authorization) header.
      - If not set, the value of the E(SLIPWAY_TOKEN) environment variable is used.
      - Obtain one with M(slipway.paas.user) or C(slipway auth:login).
    type: str
  validate_certs:
    description:
      - Whether to verify the controller's TLS certificate.
      - If not set, the value of the E(SLIPWAY_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the certificate authority that signed the controller's certificate (the platform CA).
      - If not set, the value of the E(SLIPWAY_CA_PATH) environment variable is used.
    type: path
  timeout:
    description:
      - Seconds to wait for each answer of the controller.
      - Deploying requests (builds, config changes, rollbacks, scale) block until the release serves, so keep
        this above the controller's deploy timeout.
      - If not set, the value of the E(SLIPWAY_TIMEOUT) environment variable is used.
    type: int
    default: 300
notes:
  - Every module of this collection is in the action group C(slipway.paas.controller), so the connection can be
    set once with C(module_defaults) and C(group/slipway.paas.controller).
  - A task that runs on the control node itself, over a C(local) connection (a play on C(localhost), or a task
    delegated to C(localhost)), runs the module inside C(ansible-playbook) through the collection's action plugin,
    instead of starting a Python process for it (about a third of a second per task). With C(become),
    C(environment) or C(async), or on any other host, it runs as a module process of its own.
  - The environment variables above are read where the module runs, which inside C(ansible-playbook) means its own
    environment.
"""

    # check_mode, diff_mode and action group attributes; each module states its own support.
    ATTRIBUTES = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying the controller.
  diff_mode:
    description: Will return details on what has changed (or would change in C(check_mode)), when in diff mode.
  action_group:
    description: Use C(group/slipway.paas.controller) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - slipway.paas.controller
"""

    # Waiting for the app to serve after a deploy (build, release).
    SERVING = r"""
options:
  wait_for_serving:
    description:
      - URL to poll after the deploy until it answers with a 2xx status, for example the app's URL through the
        router. The task fails with the last reason (status or connection error) when O(wait_timeout) runs out.
      - Not polled in check mode.
    type: str
  wait_timeout:
    description: Seconds to wait for O(wait_for_serving).
    type: int
    default: 120
  wait_headers:
    description:
      - Extra headers for the O(wait_for_serving) requests, for example a C(Host) header to reach the app through a
        router by address.
    type: dict
"""

    # For read-only modules.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
"""
