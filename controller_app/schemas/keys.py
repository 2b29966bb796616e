"""SSH keys, domains and certificates."""
from __future__ import annotations

import datetime as dt

from pydantic import Field

from .common import In, Stamped


class KeyOut(Stamped):
    owner: str
    id: str
    public: str
    fingerprint: str
    fingerprint_sha256: str


class KeyIn(In):
    id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9@._+-]+$")
    public: str = Field(min_length=1, max_length=16384)


class DomainOut(Stamped):
    owner: str
    app: str
    domain: str


class DomainIn(In):
    domain: str = Field(min_length=1, max_length=253)


class CertOut(Stamped):
    owner: str
    name: str
    common_name: str
    san: list[str]
    domains: list[str]
    fingerprint: str
    issuer: str
    subject: str
    starts: dt.datetime
    expires: dt.datetime


class CertIn(In):
    name: str = Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
    certificate: str = Field(min_length=1, max_length=65536)
    key: str = Field(min_length=1, max_length=65536)
