# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The order every Slipway module follows, and the compare/diff helpers it uses.

    read → compare → diff → stop in check mode → write → re-read and return the end state

A module subclasses ``ControllerModule``, declares its ``argument_spec`` and fills in ``read``
(the current state, ``None`` when absent), ``want`` (the state the parameters ask for, ``None`` for
absent) and ``write`` (the API calls that turn one into the other). ``changed`` is true only when
``compare`` finds a difference; in check mode the predicted state is returned instead of writing.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.slipway.paas.plugins.module_utils.api import (
    ControllerClient,
    ControllerError,
    controller_argument_spec,
    quote_segment,
)

# The controller's app id rule: a DNS label that starts with a letter, at most 63 characters.
APP_ID = re.compile(r'^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$')
MASK = '********'
MASK_CHANGED = '******** (changed)'


def normalize_value(value):
    """Config values are environment variables: strings. YAML booleans become ``true``/``false``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return to_text(value)


def dict_delta(current, wanted, purge=False):
    """The delta (as the controller's config POST takes it) that turns ``current`` into ``wanted``.

    ``wanted`` maps keys to values; ``None`` as a value asks for the key to be unset. Only what
    differs is in the answer: keys to set map to their new value, keys to unset map to ``None``
    (and only when they exist, as unsetting a missing key is an error). With ``purge``, every key of
    ``current`` that ``wanted`` does not name is unset too.
    """
    current = current or {}
    wanted = wanted or {}
    delta = {}
    for key, value in wanted.items():
        if value is None:
            if key in current:
                delta[key] = None
        elif key not in current or current[key] != value:
            delta[key] = value
    if purge:
        for key in current:
            if key not in wanted:
                delta[key] = None
    return delta


def apply_delta(current, delta):
    """``current`` with ``delta`` applied (``None`` removes a key); the input is not modified."""
    result = dict(current or {})
    for key, value in (delta or {}).items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def masked_diff(before, after):
    """Before/after views of a secret mapping: every key shown, every value hidden, changed values marked."""
    before = before or {}
    after = after or {}
    b = dict((k, MASK) for k in before)
    a = dict((k, MASK if k in before and before[k] == v else MASK_CHANGED) for k, v in after.items())
    return b, a


def changed_keys(before, after):
    """Which keys ``after`` adds, removes or changes compared with ``before`` (sorted lists)."""
    before = before or {}
    after = after or {}
    return dict(
        added=sorted(k for k in after if k not in before),
        removed=sorted(k for k in before if k not in after),
        changed=sorted(k for k in after if k in before and before[k] != after[k]),
    )


def pick(data, keys):
    """The ``keys`` of ``data`` (a dict or None) that it has."""
    if data is None:
        return None
    return dict((k, data[k]) for k in keys if k in data)


class ControllerModule(object):
    """Base of every module that manages a controller resource."""

    argument_spec = {}
    required_if = None
    required_one_of = None
    mutually_exclusive = None
    required_together = None
    supports_check_mode = True
    # the return value that holds the end state (``{}`` when absent), and the keys of a state its diff shows (all
    # when None)
    returns = None
    diff_keys = None

    @classmethod
    def full_argument_spec(cls):
        """The module's options with the connection's, and the rules between them: what AnsibleModule (or an
        action plugin's validation, plugins/action/controller.py) checks the parameters against."""
        spec = controller_argument_spec()
        spec.update(copy.deepcopy(cls.argument_spec))
        return dict(argument_spec=spec, required_if=cls.required_if, required_one_of=cls.required_one_of,
                    mutually_exclusive=cls.mutually_exclusive, required_together=cls.required_together)

    def __init__(self, module=None, client=None):
        if module is None:
            module = AnsibleModule(supports_check_mode=self.supports_check_mode, **self.full_argument_spec())
        self.module = module
        self.params = module.params
        self.client = client or ControllerClient.from_params(module.params)
        self.check_mode = module.check_mode
        self.extra = {}

    # ---- what a module fills in -------------------------------------------------------------
    def read(self):
        """The current state of the resource, or ``None`` when it is absent."""
        raise NotImplementedError

    def want(self, before):
        """The state the parameters ask for, built from ``before``; ``None`` for absent."""
        raise NotImplementedError

    def write(self, before, after):
        """The API calls that turn ``before`` into ``after``."""
        raise NotImplementedError

    def compare(self, before, after):
        """Whether ``before`` and ``after`` differ (``changed``)."""
        return before != after

    def diff_view(self, state):
        """What the diff shows of a state."""
        if self.diff_keys is not None:
            return pick(state, self.diff_keys) or {}
        return state if state is not None else {}

    def diff(self, before, after):
        """The ``diff`` result (before/after views)."""
        return dict(before=self.diff_view(before), after=self.diff_view(after))

    def returned(self, state):
        """The module's return values for the end state."""
        return {self.returns: state if state is not None else {}} if self.returns else {}

    def finish(self, result, end):
        """Hook after the write (or its skipping in check mode); may add to ``result``."""
        return None

    # ---- helpers ----------------------------------------------------------------------------
    def path(self, template, *segments):
        return template % tuple(quote_segment(s) for s in segments)

    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=msg, **kwargs)

    def app_path(self, app=None):
        return self.path('/v2/apps/%s/', app or self.params['app'])

    def require_app(self, app=None):
        """The app, or a clear failure when it does not exist."""
        return self.client.must_get(self.app_path(app))

    # ---- the order --------------------------------------------------------------------------
    def run(self):
        try:
            before = self.read()
            after = self.want(before)
            changed = bool(self.compare(before, after))
            result = dict(changed=changed)
            if self.module._diff:
                result['diff'] = self.diff(before, after)
            if not changed:
                end = before
            elif self.check_mode:
                end = after
            else:
                self.write(before, after)
                end = self.read()
            result.update(self.returned(end))
            self.finish(result, end)
            result.update(self.extra)
        except ControllerError as e:
            self.module.fail_json(**e.as_dict())
        self.module.exit_json(**result)


def serving_argument_spec():
    """Options of the modules that can wait for the app to serve after a deploy."""
    return dict(
        wait_for_serving=dict(type='str'),
        wait_timeout=dict(type='int', default=120),
        wait_headers=dict(type='dict'),
    )


def wait_until_serving(mod, result):
    """Poll ``wait_for_serving`` (when set and not in check mode); fail with the last reason on timeout."""
    from ansible_collections.slipway.paas.plugins.module_utils.api import wait_for_serving
    url = mod.params.get('wait_for_serving')
    if not url or mod.check_mode:
        return
    ok, detail, seconds = wait_for_serving(
        url, timeout=mod.params['wait_timeout'], validate_certs=mod.params['validate_certs'],
        ca_path=mod.params['ca_path'], headers=mod.params.get('wait_headers'))
    if not ok:
        result.update(msg='%s did not answer 2xx within %ss: %s' % (url, mod.params['wait_timeout'], detail),
                      serving=dict(url=url, ok=False, reason=detail, seconds=round(seconds, 1)))
        mod.module.fail_json(**result)
    result['serving'] = dict(url=url, ok=True, status=detail, seconds=round(seconds, 1))
