"""Shapes shared by every resource."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Stamped(Out):
    uuid: uuid.UUID
    created: dt.datetime
    updated: dt.datetime


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Paged(BaseModel, Generic[T]):
    count: int
    next: str | None
    previous: str | None
    results: list[T]


class Detail(BaseModel):
    detail: str | list[dict]


ERRORS = {code: {"model": Detail, "description": text} for code, text in (
    (400, "Bad request: the input breaks a rule (the detail says which)"),
    (401, "Missing or invalid credentials"),
    (403, "Not allowed for this user"),
    (404, "No such resource"),
    (409, "Conflicts with the current state"),
    (422, "Invalid input"),
    (429, "Too many attempts"),
    (503, "A backend (database or scheduler) is unavailable"),
)}
