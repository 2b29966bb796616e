"""A Dockerfile build's own cgroup, below the builds' slice, holding its process limit.

The Engine's /build has no pids option (the buildpack driver's `docker run --pids-limit` has), so a Dockerfile
build's RUN containers get their limit from their cgroup parent: one per build, made before the build and removed
after it, under the configured parent (slipway-build.slice), whose TasksMax still bounds all builds together.

- The Engine's systemd cgroup driver names the parent by a slice: `slipway-build-<id>.slice` is the builds' slice's
  child (systemd nests slices by their dashes); systemd makes it with TasksMax (a runtime property) and removes it.
- The cgroupfs driver takes the parent's path in the hierarchy: `<parent>/build-<id>` is made in the pids
  controller's hierarchy (cgroup v1) or the unified one (v2) with its pids.max; the Engine makes the other
  controllers' folders below it, and every folder goes afterwards.
"""
from __future__ import annotations

import contextlib
import glob
import os
import secrets
import subprocess
import time
from typing import Iterator

ROOT = "/sys/fs/cgroup"


def systemd_driver(parent: str) -> bool:
    """A slice's name (systemd driver) rather than a path in the hierarchy (cgroupfs driver)."""
    return parent.endswith(".slice") and not parent.startswith("/")


@contextlib.contextmanager
def build_cgroup(parent: str, pids: int, root: str = ROOT) -> Iterator[str]:
    """The cgroup parent a build runs under, limited to `pids` processes; removed when the block ends. Without a
    configured parent, "" (the Engine's default place, no limit of our own)."""
    if not parent:
        yield ""
        return
    ident = secrets.token_hex(6)
    if systemd_driver(parent):
        with _slice(f"{parent[:-len('.slice')]}-{ident}.slice", pids) as name:
            yield name
    else:
        with _folder(root, f"{parent.rstrip('/')}/build-{ident}", pids) as path:
            yield path


@contextlib.contextmanager
def _slice(name: str, pids: int) -> Iterator[str]:
    def systemctl(*args: str) -> None:
        subprocess.run(["systemctl", *args], check=True, capture_output=True, text=True)

    try:
        systemctl("set-property", "--runtime", name, f"TasksMax={pids}")
        systemctl("start", name)
        yield name
    finally:
        for args in (("stop", name), ("revert", name)):
            subprocess.run(["systemctl", *args], check=False, capture_output=True)


@contextlib.contextmanager
def _folder(root: str, path: str, pids: int) -> Iterator[str]:
    unified = os.path.exists(os.path.join(root, "cgroup.controllers"))
    hierarchy = root if unified else os.path.join(root, "pids")
    folder = hierarchy + path
    if unified:  # the parent hands the pids controller down to its children
        with open(os.path.join(os.path.dirname(folder), "cgroup.subtree_control"), "w", encoding="ascii") as fh:
            fh.write("+pids")
    os.mkdir(folder, 0o755)
    try:
        with open(os.path.join(folder, "pids.max"), "w", encoding="ascii") as fh:
            fh.write(str(pids))
        yield path
    finally:
        _remove(glob.glob(root + path) + glob.glob(os.path.join(root, "*") + path))


def _remove(folders: list[str]) -> None:
    """rmdir each (deepest first); a cgroup whose last process is still exiting is tried again for a few seconds."""
    for folder in sorted(set(folders), key=len, reverse=True):
        for _attempt in range(50):
            try:
                os.rmdir(folder)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)
