"""The repository side of a push, for the builder's forced command (builder.py, `serve`): the app's bare repository
(by its uuid) and its pre-receive hook, `git receive-pack` as a child under the app's push lock, and the end of the
push's token once the push is over."""
from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import tempfile

from .common import Client, HTTPError

log = logging.getLogger("slipway.builder")


class Busy(Exception):
    """Another push to the app holds its lock."""


def hook_script(cfg: dict[str, str]) -> str:
    return ("#!/bin/sh\n# Installed by Slipway: deploys pushes to main. Rewritten on every push.\n"
            f"exec {cfg['agent']} pre-receive\n")


def ensure_repo(cfg: dict[str, str], uuid: str) -> str:
    repo = os.path.join(cfg["repos_dir"], uuid + ".git")
    if not os.path.isdir(os.path.join(repo, "objects")):
        os.makedirs(cfg["repos_dir"], mode=0o750, exist_ok=True)
        subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", repo], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["git", "-C", repo, "config", "receive.denyDeletes", "true"], check=True)
        subprocess.run(["git", "-C", repo, "config", "receive.denyNonFastForwards", "false"], check=True)
        log.info("created %s", repo)
    hook = os.path.join(repo, "hooks", "pre-receive")
    content = hook_script(cfg)
    try:
        with open(hook, encoding="utf-8") as fh:
            current = fh.read()
    except FileNotFoundError:
        current = None
    if current != content:
        os.makedirs(os.path.dirname(hook), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(hook), prefix=".pre-receive.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
        os.chmod(tmp, 0o755)
        os.replace(tmp, hook)
    return repo


def receive(cfg: dict[str, str], uuid: str, env: dict[str, str]) -> int:
    """git receive-pack (and its hook, the deploy) as a child, one push per app at a time (Busy: another runs)."""
    lock_dir = cfg["lock_dir"] or os.path.join(cfg["repos_dir"], ".locks")
    os.makedirs(lock_dir, mode=0o750, exist_ok=True)
    lock_fd = os.open(os.path.join(lock_dir, uuid + ".lock"), os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise Busy() from None
    repo = ensure_repo(cfg, uuid)
    log.info("%s pushes to %s", env["SLIPWAY_USER"], env["SLIPWAY_APP"])
    for sig in (signal.SIGHUP, signal.SIGTERM):  # the pusher went away: git ends, and then the token
        signal.signal(sig, lambda *_: None)
    # the lock stays held by git receive-pack and its hook (they inherit the fd), released when they exit
    return subprocess.run(["git", "receive-pack", repo], env=env, pass_fds=(lock_fd,), check=False).returncode


def end_token(cfg: dict[str, str], app: str, token: str) -> None:
    """The push is over: its token is no credential afterwards (its lifetime bounds it only when this process is
    killed before it gets here)."""
    try:
        Client(cfg["controller_url"], {"X-Slipway-Push-Token": token}, ca_file=cfg["ca_file"] or None,
               timeout=float(cfg["timeout"])).request("DELETE", "/v2/hooks/push/", ok=(204,))
    except (HTTPError, OSError) as e:
        log.warning("could not end the push token of %s: %s", app, e)
