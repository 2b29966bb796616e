#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: cert
short_description: Manage TLS certificates on Slipway and attach them to app domains
version_added: 0.1.0
description:
  - Uploads a certificate with its private key under a name, replaces it when the certificate differs, attaches it
    to domains (which must already route to an app, see M(slipway.paas.domain)) and removes it.
  - The controller never returns the key, so a certificate is compared by its fingerprint; changing only the key
    of an unchanged certificate is not detected.
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
  name:
    description: The certificate's name on the controller.
    type: str
    required: true
  state:
    description: Whether the certificate exists.
    type: str
    choices: [present, absent]
    default: present
  certificate:
    description:
      - The PEM certificate (chain), the leaf first. Required with O(state=present) unless the certificate exists
        and only O(domains) is managed.
    type: str
  key:
    description: The PEM private key of the certificate.
    type: str
  domains:
    description:
      - The domains the certificate serves; the exact list (domains attached but not listed are detached).
      - When omitted, the attachments are left as they are (and kept across a replacement).
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Serve www.shop.com with its certificate
  slipway.paas.cert:
    name: shop-com
    certificate: "{{ lookup('ansible.builtin.file', 'shop.com.crt') }}"
    key: "{{ lookup('ansible.builtin.file', 'shop.com.key') }}"
    domains:
      - www.shop.com
  no_log: true

- name: Remove the certificate
  slipway.paas.cert:
    name: shop-com
    state: absent
"""

RETURN = r"""
cert:
  description: The certificate as the controller has it after the task (never the key); empty when absent.
  returned: success
  type: dict
  sample:
    name: shop-com
    common_name: www.shop.com
    san: [www.shop.com]
    domains: [www.shop.com]
    fingerprint: "AB:CD:..."
    expires: "2027-01-01T00:00:00Z"
"""

import base64
import binascii
import hashlib
import re

from ansible_collections.slipway.paas.plugins.module_utils.base import ControllerModule, pick

PEM_RE = re.compile(r'-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----', re.S)


def der_of(pem):
    """The DER bytes of the first certificate of a PEM text, or ``None``."""
    match = PEM_RE.search(pem or '')
    if not match:
        return None
    try:
        return base64.b64decode(''.join(match.group(1).split()))
    except (binascii.Error, TypeError, ValueError):
        return None


def fingerprints(der):
    """Every way the controller might spell the certificate's fingerprint, normalized (hex, no colons)."""
    result = set()
    for algo in ('sha256', 'sha1', 'md5'):
        try:
            result.add(hashlib.new(algo, der).hexdigest())
        except ValueError:  # an algorithm this Python (FIPS) refuses
            continue
    return result


def normalize_fingerprint(value):
    text = (value or '').strip().lower()
    for prefix in ('sha256:', 'sha1:', 'md5:'):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text.replace(':', '')


class CertModule(ControllerModule):
    returns = 'cert'
    argument_spec = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        certificate=dict(type='str'),
        key=dict(type='str', no_log=True),
        domains=dict(type='list', elements='str'),
    )
    required_together = [('certificate', 'key')]

    def __init__(self, *args, **kwargs):
        super(CertModule, self).__init__(*args, **kwargs)
        self.der = None
        if self.params['certificate'] is not None:
            self.der = der_of(self.params['certificate'])
            if self.der is None:
                self.fail('certificate is not a PEM certificate (no BEGIN/END CERTIFICATE block)')

    def read(self):
        return self.client.get(self.path('/v2/certs/%s', self.params['name']))

    def same_certificate(self, cert):
        return normalize_fingerprint(cert.get('fingerprint')) in fingerprints(self.der)

    def want(self, before):
        if self.params['state'] == 'absent':
            return None
        self.replace = False
        if before is None or (self.der is not None and not self.same_certificate(before)):
            if self.der is None:
                self.fail('certificate and key are required to create certificate %s' % self.params['name'])
            self.replace = before is not None
            after = dict(name=self.params['name'], fingerprint=hashlib.sha256(self.der).hexdigest(),
                         domains=list((before or {}).get('domains') or []))
        else:
            after = dict(before)
        if self.params['domains'] is not None:
            after['domains'] = [d.strip().lower() for d in self.params['domains']]
        return after

    def compare(self, before, after):
        if before is None or after is None:
            return before is not after
        return self.replace or sorted(before.get('domains') or []) != sorted(after.get('domains') or [])

    def write(self, before, after):
        path = self.path('/v2/certs/%s', self.params['name'])
        if after is None:
            self.client.delete(path)
            return
        attached = set((before or {}).get('domains') or [])
        if before is None or self.replace:
            if self.replace:
                self.client.delete(path)
            self.client.post('/v2/certs/', dict(name=self.params['name'], certificate=self.params['certificate'],
                                                key=self.params['key']))
            attached = set()
        wanted = set(after.get('domains') or [])
        for domain in sorted(attached - wanted):
            self.client.delete(self.path('/v2/certs/%s/domain/%s', self.params['name'], domain))
        for domain in sorted(wanted - attached):
            self.client.post(path + '/domain/', dict(domain=domain))

    def diff_view(self, state):
        view = pick(state, ('name', 'fingerprint', 'domains')) or {}
        if 'domains' in view:
            view['domains'] = sorted(view['domains'] or [])
        return view


def main():
    CertModule().run()


if __name__ == '__main__':
    main()
