# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``controller_url`` filter: where the platform's callers reach the controller, one rule for every role."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

# The groups whose hosts call the controller: the routers' route sync and controller vhost, the builder's agents and
# deploys, the registry's front (auth_request) and garbage collection, the nodes' agents (their reports), the
# monitor's Prometheus (the controller's /metrics).
CALLERS = ("router", "builder", "registry", "nodes", "monitor")


def controller_url(groups, port=8000, controller=None):
    """``http://127.0.0.1:<port>`` when every caller host is ``controller`` (default: the controller group's first
    host), so the controller listens on loopback only; else ``https://<controller>:<port>``: the controller
    listens on its platform address with its platform certificate, which callers verify with the platform CA."""
    hosts = list((groups or {}).get("controller") or [])
    if controller is None:
        if not hosts:
            raise AnsibleFilterError("controller_url: the controller group has no host")
        controller = hosts[0]
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise AnsibleFilterError("controller_url: the port must be a number, not %r" % (port,))
    callers = set()
    for group in CALLERS:
        callers.update((groups or {}).get(group) or [])
    if callers <= {controller}:
        return "http://127.0.0.1:%d" % port
    name = "[%s]" % controller if ":" in controller else controller
    return "https://%s:%d" % (name, port)


class FilterModule(object):
    def filters(self):
        return {"controller_url": controller_url}
