"""Config, builds and releases."""
from __future__ import annotations

import uuid as uuidlib
from typing import Any

from pydantic import Field

from .common import In, Stamped


class ConfigOut(Stamped):
    owner: str
    app: str
    values: dict[str, str]
    memory: dict[str, str]
    cpu: dict[str, str]
    tags: dict[str, str]
    healthcheck: dict[str, dict]
    registry: dict[str, str] = Field(description="a private registry's credentials; the password masked")


class ConfigIn(In):
    values: dict[str, str | int | float | bool | None] | None = None
    memory: dict[str, str | None] | None = None
    cpu: dict[str, str | int | float | None] | None = None
    tags: dict[str, str | None] | None = None
    healthcheck: dict[str, Any] | None = None  # checked by controller_app/probes.py (400 naming the field)
    registry: dict[str, str | None] | None = None


class BuildOut(Stamped):
    owner: str
    app: str
    image: str
    sha: str
    procfile: dict[str, str]
    dockerfile: str


class BuildIn(In):
    image: str = Field(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$")
    procfile: dict[str, str] | None = None
    sha: str = Field("", max_length=64, pattern=r"^[0-9a-f]*$")
    dockerfile: str = Field("", max_length=65536)


class ReleaseOut(Stamped):
    owner: str
    app: str
    version: int
    build: uuidlib.UUID | None
    config: uuidlib.UUID
    summary: str
    failed: bool
    exception: str
    state: str  # deploying, serving or failed (Slipway's; Deis clients ignore it)


class RollbackIn(In):
    version: int | None = Field(None, ge=1)


class VersionOut(Stamped.__base__):
    version: int
