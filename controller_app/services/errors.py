"""What a service refuses, in words for the API's user. The API gives each kind its status (api/errors.py);
services know nothing of HTTP."""
from __future__ import annotations


class ServiceError(Exception):
    """A request the service cannot carry out; `detail` is the message for the user."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class Invalid(ServiceError):
    """The request breaks a rule (answered 400)."""


class Forbidden(ServiceError):
    """The caller may not do this (403)."""


class NotFound(ServiceError):
    """What the request names does not exist (404)."""


class Conflict(ServiceError):
    """The request clashes with the current state, e.g. another deploy of the app (409)."""


class Unprocessable(ServiceError):
    """Well-formed, but not possible as it stands, e.g. unsetting a config key that is not set (422, as Deis)."""


class Throttled(ServiceError):
    """Too many attempts from this client; wait (429)."""


class Unavailable(ServiceError):
    """The scheduler (Docker) could not do its part (503)."""


class FieldError(Invalid):
    """A request field that breaks a rule: answered 400 {field: [message]}, Deis-style."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message
