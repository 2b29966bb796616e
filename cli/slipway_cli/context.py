"""What every command gets: the parsed arguments, the profile, the client, the app."""
from __future__ import annotations

import getpass
import re
import sys

from slipway_cli import config, gitremote
from slipway_cli.client import Client
from slipway_cli.errors import CLIError, NotLoggedIn

KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
PROC_TYPE_RE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?\Z")


class Context:
    def __init__(self, args):
        self.args = args
        self._profile = None
        self._client = None

    @property
    def profile(self) -> config.Profile:
        if self._profile is None:
            try:
                self._profile = config.load(getattr(self.args, "profile", None))
            except config.ProfileError as e:
                raise CLIError(str(e)) from None
        return self._profile

    @property
    def client(self) -> Client:
        if self._client is None:
            p = self.profile
            if not p.url or not p.token:
                raise NotLoggedIn(f"not logged in (profile {p.name}): run `slipway login URL` first")
            self._client = Client(p.url, p.token, p.ca)
        return self._client

    @property
    def json(self) -> bool:
        return bool(getattr(self.args, "json", False))

    @property
    def app(self) -> str:
        app = getattr(self.args, "app", None)
        if app:
            return app
        app = gitremote.app_from_repo(gitremote.DEFAULT_REMOTE)
        if app:
            return app
        raise CLIError("no app given: pass -a APP, or run this inside a git repository that has a "
                       f"`{gitremote.DEFAULT_REMOTE}` remote (see `slipway git:remote`)")

    def save_profile(self) -> None:
        try:
            config.save(self.profile)
        except OSError as e:
            raise CLIError(f"cannot write profile {self.profile.path}: {e.strerror or e}") from None


def stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def ask(prompt: str) -> str:
    if not stdin_is_tty():
        raise CLIError(f"{prompt.strip().rstrip(':')} is required (no terminal to ask on)")
    try:
        return input(prompt)
    except EOFError:
        raise CLIError("aborted") from None


def ask_password(prompt: str = "password: ", given: str | None = None, confirm: bool = False) -> str:
    """A password from the option, else the terminal, else one line of stdin (for scripts)."""
    if given is not None:
        return given
    if not stdin_is_tty():
        line = sys.stdin.readline()
        if not line:
            raise CLIError("a password is required: pass --password or write it on stdin")
        return line.rstrip("\n").rstrip("\r")
    try:
        value = getpass.getpass(prompt)
        if confirm and getpass.getpass("password (again): ") != value:
            raise CLIError("passwords do not match")
    except EOFError:
        raise CLIError("aborted") from None
    return value


def confirm_name(expected: str, given: str | None, what: str) -> None:
    """Destructive commands: `--confirm NAME` or typing NAME at the prompt."""
    if given is not None:
        if given != expected:
            raise CLIError(f"confirmation {given!r} does not match {expected!r}")
        return
    if not stdin_is_tty():
        raise CLIError(f"this would {what}: pass --confirm {expected} to do it without a prompt")
    print(f" !    WARNING: Potentially destructive action\n !    This command will {what}\n"
          f" !    To proceed, type \"{expected}\" or re-run this command with --confirm={expected}\n")
    answer = ask("> ").strip()
    if answer != expected:
        raise CLIError(f"confirmation {answer!r} does not match {expected!r}: nothing done")


def parse_pairs(items: list[str], what: str, key_re: re.Pattern | None = KEY_RE,
                key_desc: str = "a letter or _ then letters, digits or _") -> dict[str, str]:
    """`KEY=VALUE` arguments -> dict (values may contain `=` and be empty)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise CLIError(f"{item!r} is not {what}=VALUE")
        key = key.strip()
        if key_re is not None and not key_re.match(key):
            raise CLIError(f"invalid {what} {key!r}: expected {key_desc}")
        out[key] = value
    return out


def parse_scale(items: list[str]) -> dict[str, int]:
    """`web=3 worker=1` -> {"web": 3, "worker": 1}."""
    pairs = parse_pairs(items, "TYPE", PROC_TYPE_RE, "lowercase letters, digits and -")
    out = {}
    for k, v in pairs.items():
        v = v.strip()
        if not v.isdigit():
            raise CLIError(f"invalid count {v!r} for {k}: expected a whole number ≥ 0")
        out[k] = int(v)
    if not out:
        raise CLIError("nothing to scale: give TYPE=COUNT pairs, e.g. web=3")
    return out


def parse_version(value: str) -> int:
    v = value.strip().lower()
    if v.startswith("v"):
        v = v[1:]
    if not v.isdigit() or int(v) < 1:
        raise CLIError(f"invalid release version {value!r}: expected vN or N (N ≥ 1)")
    return int(v)
