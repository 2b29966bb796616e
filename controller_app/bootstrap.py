"""The platform's first administrator, made on the controller host (what the controller role runs):

    python -m controller_app.bootstrap --username admin --email ops@example.com --password-file FILE \
        [--token-file PATH]

Reads the same environment as the controller (SLIPWAY_DATABASE_URL...). Idempotent: creates the user as a
superuser when absent; when the user exists, checks that it is an administrator with this password (so a
user someone else registered under that name is never promoted). Either way it issues a new API token and
prints one JSON line, {"created": true|false, "username": ..., "token": ...}; with --token-file the token
goes to that file (mode 0600) instead of the output. `--password-file -` reads the password from stdin.
Exit status 1 with a message on stderr when the user exists as someone else or the password is refused.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .db import session_factory
from .models import User
from .schemas.users import USERNAME
from .services import accounts
from .services.passwords import password_problem, verify_password


class BootstrapError(Exception):
    pass


def ensure_admin(username: str, email: str, password: str) -> tuple[bool, str]:
    """(created, a new token of the administrator `username`)."""
    problem = password_problem(password)
    if problem:
        raise BootstrapError(f"password: {problem}")
    for _unused in range(2):  # a concurrent run may create the user between our read and our insert: read again
        with session_factory()() as db:
            user = db.scalar(select(User).where(func.lower(User.username) == username.lower()))
            created = user is None
            if created:
                user = accounts.create_user(db, username, password, email=email, is_superuser=True)
                try:
                    db.flush()
                except IntegrityError:
                    db.rollback()
                    continue
            elif not (user.is_superuser and user.is_active and verify_password(password, user.password_hash)):
                raise BootstrapError(f"a user named {user.username} exists and is not this administrator (not an "
                                     f"active admin, or another password); choose another username")
            token = accounts.issue_token(db, user)
            db.commit()
            return created, token
    raise BootstrapError(f"could not create {username}")


def _read_password(path: str) -> str:
    if path == "-":
        return sys.stdin.readline().rstrip("\r\n")
    with open(path, encoding="utf-8") as f:
        return f.readline().rstrip("\r\n")


def _write_token(path: str, token: str) -> None:
    partial = f"{path}.{os.getpid()}.tmp"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    os.replace(partial, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m controller_app.bootstrap", description=__doc__.splitlines()[0])
    ap.add_argument("--username", required=True)
    ap.add_argument("--email", default="")
    ap.add_argument("--password-file", required=True, help="a file whose first line is the password (- for stdin)")
    ap.add_argument("--token-file", help="write the token here (mode 0600) instead of printing it")
    args = ap.parse_args(argv)
    if not re.match(USERNAME, args.username):
        ap.error("--username: letters, digits and @.+_- only (at most 150)")
    try:
        created, token = ensure_admin(args.username, args.email, _read_password(args.password_file))
    except (BootstrapError, OSError) as exc:
        print(f"bootstrap: {exc}", file=sys.stderr)
        return 1
    out = {"created": created, "username": args.username}
    if args.token_file:
        _write_token(args.token_file, token)
    else:
        out["token"] = token
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
