"""Apps, settings, perms, run."""
from __future__ import annotations

import ipaddress
import re

from pydantic import Field, field_validator, model_validator

from ..appid import APP_ID_PATTERN
from .common import In, Out, Stamped
from .users import USERNAME


class AppOut(Stamped):
    id: str
    owner: str
    structure: dict[str, int]
    url: str


class AppCreate(In):
    id: str | None = Field(None, max_length=63, pattern=APP_ID_PATTERN)


class AppTransfer(In):
    owner: str = Field(pattern=USERNAME)


# Labels as Kubernetes (and so Deis) spell them: an optional DNS prefix and "/", then a name of at most 63
# letters, digits, "-", "_", "." starting and ending with a letter or digit; values the same, or empty.
LABEL_NAME = r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?"
LABEL_KEY = re.compile(rf"^([a-z0-9]([a-z0-9.-]{{0,251}}[a-z0-9])?/)?{LABEL_NAME}$")
LABEL_VALUE = re.compile(rf"^({LABEL_NAME})?$")


def cidrs(value: list[str]) -> list[str]:
    """IP addresses and networks, written as networks, sorted, each once."""
    out = []
    for item in value:
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR") from None
    return sorted(set(out))


class Autoscale(In):
    """Deis's autoscale of one process type: between `min` and `max` tasks, aiming at `cpu_percent` of each
    task's CPU limit (or of one core without a limit)."""

    min: int = Field(ge=1, le=1000)
    max: int = Field(ge=1, le=1000)
    cpu_percent: int = Field(ge=1, le=1000)

    @model_validator(mode="after")
    def _order(self) -> "Autoscale":
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


class SettingsOut(Out):
    app: str
    maintenance: bool
    routable: bool
    enforce_https: bool
    whitelist: list[str]
    label: dict[str, str]
    autoscale: dict[str, Autoscale]


class SettingsIn(In):
    maintenance: bool | None = None
    routable: bool | None = None
    enforce_https: bool | None = None
    whitelist: list[str] | None = Field(None, max_length=256)
    label: dict[str, str | None] | None = Field(None, max_length=64, description="labels to set; null unsets one")
    autoscale: dict[str, Autoscale | None] | None = Field(
        None, max_length=32, description="process type to its autoscale; null stops autoscaling the type")

    @field_validator("whitelist")
    @classmethod
    def _cidrs(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else cidrs(value)

    @field_validator("label")
    @classmethod
    def _labels(cls, value: dict[str, str | None] | None) -> dict[str, str | None] | None:
        for key, text in (value or {}).items():
            if not LABEL_KEY.match(key):
                raise ValueError(f"{key!r} is not a label name (letters, digits, '-', '_', '.'; at most 63)")
            if text is not None and not LABEL_VALUE.match(text):
                raise ValueError(f"{key}={text!r}: a label value is at most 63 letters, digits, '-', '_', '.'")
        return value


class WhitelistIO(In):
    addresses: list[str] = Field(max_length=256)

    @field_validator("addresses")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        return cidrs(value)


class TlsIn(In):
    https_enforced: bool


class TlsOut(Stamped):
    app: str
    owner: str
    https_enforced: bool


class PermIn(In):
    username: str = Field(pattern=USERNAME)


class PermsOut(Out):
    users: list[str]


class RunIn(In):
    command: str = Field(min_length=1, max_length=4096)


class RunOut(Out):
    exit_code: int
    output: str


class DeploymentOut(Out):
    """One change of an app's processes (a release, a scale, an autoscale step, a restart, a move off a node)."""

    app: str
    id: int
    release: str
    structure: dict[str, int]
    status: str
    cause: str
    reason: str
    created: str
    updated: str


class PodOut(Out):
    name: str
    type: str
    release: str
    state: str
    started: str | None
    node: str | None
