"""Apps, settings, perms, run."""
from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator

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


class SettingsOut(Out):
    app: str
    maintenance: bool
    routable: bool
    enforce_https: bool
    whitelist: list[str]


class SettingsIn(In):
    maintenance: bool | None = None
    routable: bool | None = None
    enforce_https: bool | None = None
    whitelist: list[str] | None = Field(None, max_length=256)

    @field_validator("whitelist")
    @classmethod
    def _cidrs(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        out = []
        for item in value:
            try:
                out.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR") from None
        return sorted(set(out))


class PermIn(In):
    username: str = Field(pattern=USERNAME)


class PermsOut(Out):
    users: list[str]


class RunIn(In):
    command: str = Field(min_length=1, max_length=4096)


class RunOut(Out):
    exit_code: int
    output: str


class PodOut(Out):
    name: str
    type: str
    release: str
    state: str
    started: str | None
    node: str | None
