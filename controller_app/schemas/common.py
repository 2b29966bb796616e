"""Shapes shared by every resource."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Generic, TypeVar, Union

from pydantic import BaseModel, ConfigDict, model_validator

T = TypeVar("T")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Stamped(Out):
    uuid: uuid.UUID
    created: dt.datetime
    updated: dt.datetime


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data):
        """PostgreSQL stores no NUL character in text or JSON: refuse it in any request body (a 400, not a 500)."""
        if _has_nul(data):
            raise ValueError("text may not contain the NUL character (\\u0000)")
        return data


class Paged(BaseModel, Generic[T]):
    count: int
    next: str | None
    previous: str | None
    results: list[T]


class Detail(BaseModel):
    detail: str | list[dict]


FieldErrors = dict[str, list[str]]  # Deis-style validation errors: {"password": ["This password is too short..."]}

ERRORS = {code: {"model": Union[Detail, FieldErrors] if code == 400 else Detail, "description": text}
          for code, text in (
    (400, "Bad request: the input breaks the schema or a rule; each field its messages ({\"id\": [\"...\"]}, "
          "Deis's shape) and \"detail\" all of them in one line"),
    (401, "Missing or invalid credentials"),
    (403, "Not allowed for this user"),
    (404, "No such resource"),
    (409, "Conflicts with the current state"),
    (422, "Well-formed, but not possible as it stands (unsetting a config key that is not set)"),
    (429, "Too many attempts"),
    (503, "A backend (database or scheduler) is unavailable"),
)}
