# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one HTTP client the modules use to talk to the Slipway controller (Deis Workflow v2 API).

Built on Ansible's own ``open_url`` so targets need no third-party package. A 404 means "absent"
(``get`` answers ``None``, ``delete`` answers ``False``); any other HTTP error raises
``ControllerError`` carrying the method, path, status and the server's ``detail``, which the
module base turns into ``fail_json``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import socket
import time

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote, urlencode
from ansible.module_utils.urls import open_url

USER_AGENT = 'slipway.paas-ansible'


def controller_argument_spec():
    """The connection options every module shares (documented in doc fragment slipway.paas.controller)."""
    return dict(
        url=dict(type='str', required=True, fallback=(env_fallback, ['SLIPWAY_URL'])),
        token=dict(type='str', no_log=True, fallback=(env_fallback, ['SLIPWAY_TOKEN'])),
        validate_certs=dict(type='bool', default=True, fallback=(env_fallback, ['SLIPWAY_VALIDATE_CERTS'])),
        ca_path=dict(type='path', fallback=(env_fallback, ['SLIPWAY_CA_PATH'])),
        timeout=dict(type='int', default=300, fallback=(env_fallback, ['SLIPWAY_TIMEOUT'])),
    )


class ControllerError(Exception):
    """A failed call to the controller: an HTTP error other than 404, or no answer at all."""

    def __init__(self, method, path, status=None, detail=None, body=None):
        self.method = method
        self.path = path
        self.status = status
        self.detail = detail
        self.body = body
        if status is None:
            msg = '%s %s: controller unreachable: %s' % (method, path, detail)
        else:
            msg = '%s %s: HTTP %s: %s' % (method, path, status, detail)
        super(ControllerError, self).__init__(msg)
        self.msg = msg

    def as_dict(self):
        """The keyword arguments for ``fail_json``."""
        return dict(msg=self.msg, method=self.method, path=self.path, status=self.status, detail=self.detail)


def format_detail(detail):
    """Turn a ``detail`` (a string, a list of errors, or Deis's ``{"field": ["message"]}``) into one line."""
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = '.'.join(to_text(p) for p in item.get('loc', []) if p != 'body')
                text = to_text(item.get('msg', item))
                parts.append('%s: %s' % (loc, text) if loc else text)
            else:
                parts.append(to_text(item))
        return '; '.join(parts)
    if isinstance(detail, dict):
        return '; '.join('%s: %s' % (k, format_detail(v)) for k, v in sorted(detail.items()))
    return to_text(detail)


def quote_segment(value):
    """Quote one path segment (a domain, a username, a key id) so it cannot escape its place in the URL."""
    return quote(to_native(value), safe='')


class ControllerClient(object):
    """HTTP client for the controller's ``/v2/`` API."""

    def __init__(self, url, token=None, validate_certs=True, ca_path=None, timeout=300, headers=None):
        self.base = to_text(url).rstrip('/')
        self.token = token
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout
        self.extra_headers = dict(headers or {})

    @classmethod
    def from_params(cls, params):
        return cls(params['url'], params.get('token'), params.get('validate_certs', True),
                   params.get('ca_path'), params.get('timeout') or 300)

    def request(self, method, path, data=None, query=None, auth=True, headers=None):
        """Send one request; answer ``(status, decoded body)``. Raises ``HTTPError`` wrapped in ControllerError,
        except that a 404 is given back as ``(404, body)`` for the callers that treat it as absent."""
        if query:
            path = path + ('&' if '?' in path else '?') + urlencode(query)
        hdrs = {'Accept': 'application/json'}
        hdrs.update(self.extra_headers)
        if auth and self.token:
            hdrs['Authorization'] = 'token %s' % self.token
        if headers:
            hdrs.update(headers)
        payload = None
        if data is not None:
            payload = json.dumps(data)
            hdrs['Content-Type'] = 'application/json'
        try:
            resp = open_url(self.base + path, data=payload, headers=hdrs, method=method,
                            validate_certs=self.validate_certs, ca_path=self.ca_path,
                            timeout=self.timeout, http_agent=USER_AGENT, follow_redirects='none',
                            use_netrc=False)
            status = resp.getcode()
            raw = resp.read()
        except HTTPError as e:
            status = e.code
            try:
                raw = e.read()
            except Exception:  # pylint: disable=broad-except
                raw = b''
            body = self._decode(raw)
            if status == 404:
                return status, body
            detail = body.get('detail') if isinstance(body, dict) and 'detail' in body else body
            if not detail:
                detail = to_text(e.reason or '')
            raise ControllerError(method, path, status, format_detail(detail), body)
        except (URLError, socket.error, socket.timeout) as e:
            reason = getattr(e, 'reason', e)
            raise ControllerError(method, path, None, '%s (url: %s)' % (to_text(reason), self.base))
        except ValueError as e:  # a URL without http:// or https://
            raise ControllerError(method, path, None, '%s (url: %s)' % (to_text(e), self.base))
        return status, self._decode(raw)

    @staticmethod
    def _decode(raw):
        if not raw:
            return None
        text = to_text(raw, errors='surrogate_or_replace')
        try:
            return json.loads(text)
        except ValueError:
            return text

    def get(self, path, query=None, **kwargs):
        """The resource at ``path``, or ``None`` when the controller answers 404."""
        status, body = self.request('GET', path, query=query, **kwargs)
        if status == 404:
            return None
        return body

    def must_get(self, path, query=None, **kwargs):
        """Like ``get``, but a 404 is an error (for a parent that must exist, such as the app)."""
        status, body = self.request('GET', path, query=query, **kwargs)
        if status == 404:
            raise self.not_found('GET', path, body)
        return body

    def post(self, path, data=None, **kwargs):
        status, body = self.request('POST', path, data=data if data is not None else {}, **kwargs)
        if status == 404:
            raise self.not_found('POST', path, body)
        return body

    def delete(self, path, data=None, **kwargs):
        """Delete; answers ``False`` when it was already absent (404)."""
        status, body = self.request('DELETE', path, data=data, **kwargs)
        return status != 404

    def list(self, path, query=None, page_size=1000, **kwargs):
        """Every item of a paginated Deis list (``{count, next, previous, results}``); ``None`` on 404."""
        items = []
        offset = 0
        while True:
            q = dict(query or {})
            q.update(limit=page_size, offset=offset)
            body = self.get(path, query=q, **kwargs)
            if body is None:
                return None
            if isinstance(body, list):
                return body
            results = body.get('results', [])
            items.extend(results)
            offset += len(results)
            if not body.get('next') or not results or offset >= body.get('count', 0):
                return items

    @staticmethod
    def not_found(method, path, body):
        detail = body.get('detail') if isinstance(body, dict) else body
        return ControllerError(method, path, 404, format_detail(detail or 'Not found'), body)


def wait_for_serving(url, timeout=120, interval=1.0, validate_certs=True, ca_path=None, headers=None):
    """Poll ``url`` until it answers 2xx. Answers ``(True, status, seconds)`` or ``(False, reason, seconds)``."""
    start = time.time()
    deadline = start + timeout
    reason = 'no attempt made'
    while True:
        remaining = max(1.0, min(10.0, deadline - time.time()))
        try:
            resp = open_url(url, method='GET', headers=headers, validate_certs=validate_certs, ca_path=ca_path,
                            timeout=remaining, http_agent=USER_AGENT, use_netrc=False)
            status = resp.getcode()
            if 200 <= status < 300:
                return True, status, time.time() - start
            reason = 'HTTP %s' % status
        except HTTPError as e:
            reason = 'HTTP %s %s' % (e.code, to_text(e.reason))
        except (URLError, socket.error, socket.timeout) as e:
            reason = to_text(getattr(e, 'reason', e))
        if time.time() + interval > deadline:
            return False, reason, time.time() - start
        time.sleep(interval)
