# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``procfile`` filter: Procfile text to a dict of process type to command (Heroku's format)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError

_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")


def procfile(text):
    """Parse ``type: command`` lines; blank lines and ``#`` comments are skipped, a type may appear once."""
    result = {}
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise AnsibleFilterError("Procfile line %d is not 'type: command': %r" % (number, raw))
        proc, command = match.group(1).lower(), match.group(2).strip()
        if proc in result:
            raise AnsibleFilterError("Procfile defines process type %r twice" % proc)
        result[proc] = command
    return result


class FilterModule(object):
    def filters(self):
        return {"procfile": procfile}
