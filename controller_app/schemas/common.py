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
    detail: str
