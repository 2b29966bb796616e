"""The `slipway` git remote: detecting the app of the current repo and adding/removing the remote."""
from __future__ import annotations

import re
import subprocess
from urllib.parse import urlsplit

DEFAULT_REMOTE = "slipway"
DEFAULT_BUILDER_PORT = 2222
APP_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")  # the controller's rule: a DNS label


class GitError(Exception):
    pass


def app_from_url(url: str | None) -> str | None:
    """The app id in a builder remote URL (`ssh://git@host:2222/app.git`, `git@host:app.git`), else None."""
    if not url:
        return None
    url = url.strip()
    if "://" in url:
        path = urlsplit(url).path
    elif re.match(r"^[^/]+@[^/:]+:", url) or re.match(r"^[^/:]+:[^/]", url):  # scp-like user@host:path
        path = url.split(":", 1)[1]
    else:
        path = url
    path = path.rstrip("/")
    name = path.rsplit("/", 1)[-1]
    if name.endswith(".git"):
        name = name[:-4]
    return name if name and APP_ID.match(name) else None


def builder_url(host: str, app: str, port: int = DEFAULT_BUILDER_PORT) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6 literal
    return f"ssh://git@{host}:{int(port)}/{app}.git"


def split_host_port(value: str, default_port: int = DEFAULT_BUILDER_PORT) -> tuple[str, int]:
    """`host`, `host:2222`, `[::1]:2222` -> (host, port)."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, port = value.split(":")
    else:
        host, port = value, ""
    if not host:
        raise ValueError(f"invalid builder host {value!r}")
    if port and not port.isdigit():
        raise ValueError(f"invalid builder port in {value!r}")
    return host, int(port) if port else default_port


def builder_host_from_controller(url: str) -> str:
    """The builder's sshd runs on the controller's host name (all-in-one) unless the profile says otherwise."""
    host = urlsplit(url).hostname
    if not host:
        raise ValueError(f"cannot derive a builder host from {url!r}")
    return host


def _git(args: list[str], cwd: str | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise GitError("git is not installed") from None


def in_repo(cwd: str | None = None) -> bool:
    try:
        r = _git(["rev-parse", "--git-dir"], cwd)
    except GitError:
        return False
    return r.returncode == 0


def remote_url(name: str = DEFAULT_REMOTE, cwd: str | None = None) -> str | None:
    try:
        r = _git(["remote", "get-url", name], cwd)
    except GitError:
        return None
    if r.returncode != 0:
        return None
    return r.stdout.strip() or None


def app_from_repo(name: str = DEFAULT_REMOTE, cwd: str | None = None) -> str | None:
    return app_from_url(remote_url(name, cwd))


def add_remote(name: str, url: str, cwd: str | None = None, replace: bool = False) -> None:
    existing = remote_url(name, cwd)
    if existing is not None:
        if not replace:
            raise GitError(f"git remote {name} already exists ({existing})")
        r = _git(["remote", "set-url", name, url], cwd)
    else:
        r = _git(["remote", "add", name, url], cwd)
    if r.returncode != 0:
        raise GitError(r.stderr.strip() or f"git remote add {name} failed")


def remove_remote(name: str, cwd: str | None = None) -> None:
    r = _git(["remote", "remove", name], cwd)
    if r.returncode != 0:
        raise GitError(r.stderr.strip() or f"git remote remove {name} failed")
