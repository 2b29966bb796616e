# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``host_addresses`` filter: every IPv4 address a platform host is reached at, from its facts."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Interfaces of the host's own containers (Docker's bridges and their veths, the builds' bridge): their addresses are
# the same on every host and stand for no host to the others.
CONTAINER_INTERFACES = re.compile(r"^(lo|docker0|docker_gwbridge|br-[0-9a-f]+|veth.*|slipway-.*)$")


def host_addresses(facts):
    """The IPv4 addresses of every interface of a host (secondary ones too) but loopback and container bridges;
    the default IPv4 address when the interface facts were not gathered."""
    facts = facts or {}
    found = []
    for name in facts.get("ansible_interfaces") or []:
        if CONTAINER_INTERFACES.match(name):
            continue
        interface = facts.get("ansible_" + name.replace("-", "_").replace(".", "_")) or {}
        for entry in [interface.get("ipv4") or {}] + list(interface.get("ipv4_secondaries") or []):
            address = entry.get("address")
            if address and not address.startswith("127.") and address not in found:
                found.append(address)
    default = (facts.get("ansible_default_ipv4") or {}).get("address")
    if default and default not in found:
        found.append(default)
    return found


class FilterModule(object):
    def filters(self):
        return {"host_addresses": host_addresses}
