"""Users, registration, login and tokens."""
from __future__ import annotations

import datetime as dt

from pydantic import Field

from .common import In, Out

USERNAME = r"^[A-Za-z0-9@.+_-]{1,150}$"


class UserOut(Out):
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    is_superuser: bool
    is_staff: bool = False
    is_active: bool
    date_joined: dt.datetime
    last_login: dt.datetime | None


class RegisterIn(In):
    username: str = Field(pattern=USERNAME)
    password: str = Field(min_length=1, max_length=1024)
    email: str = Field("", max_length=254)
    first_name: str = Field("", max_length=150)
    last_name: str = Field("", max_length=150)


class LoginIn(In):
    username: str = Field(max_length=150)
    password: str = Field(max_length=1024)


class TokenOut(Out):
    token: str


class PasswdIn(In):
    password: str | None = Field(None, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)
    username: str | None = Field(None, pattern=USERNAME)


class UsernameIn(In):
    username: str | None = Field(None, pattern=USERNAME)


class AdminPermOut(Out):
    username: str
    is_superuser: bool
