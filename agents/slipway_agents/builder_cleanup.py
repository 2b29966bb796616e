"""What a destroyed app leaves on the builder goes: its bare repository, its push lock, its buildpack cache (a
folder here, or an object in the store), its Dockerfile builds' layer cache (a local image). Run by a daily timer
as root:

    slipway-builder-cleanup [--config /etc/slipway/builder.ini] [--dry-run]

Everything is kept per app uuid, so the repositories' names are the uuids this builder has seen; the controller
answers which of them are apps that still exist (POST /v2/hooks/apps/alive/, with the cleanup's own key, which
answers nothing else), and the others are removed. An app re-created under a destroyed app's name has a new uuid
and never saw the old one's history.
Prints one JSON line: {"checked", "removed": [uuids], "errors"}.

Settings: the [builder] section (controller_url, ca_file, repos_dir, lock_dir) and [cleanup]: cleanup_key (or
  cleanup_key_file: the controller's SLIPWAY_BUILDER_CLEANUP_KEY), cache_dir (folders named by uuid), cache_url (the
  store's bucket URL; objects <uuid>.tar.gz), cache_auth (a curl config with the store's credentials).
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys

from .builder import DEFAULTS as BUILDER_DEFAULTS
from .builder import UUID
from . import jobs
from .common import Client, HTTPError
from .sandbox import layer_cache

log = logging.getLogger("slipway.builder.cleanup")
CLEANUP_DEFAULTS = {"cleanup_key": "", "cleanup_key_file": "", "cache_dir": "", "cache_url": "", "cache_auth": ""}
REPO = re.compile(r"^(?P<uuid>[0-9a-f-]{36})\.git$")


def seen(cfg: dict[str, str]) -> set[str]:
    """The app uuids this builder keeps anything of (its repositories and cache folders)."""
    found = set()
    for folder, pattern in ((cfg["repos_dir"], REPO), (cfg["cache_dir"], UUID)):
        if folder and os.path.isdir(folder):
            for name in os.listdir(folder):
                m = pattern.match(name)
                if m:
                    found.add(m.group("uuid") if "uuid" in pattern.groupindex else name)
    return {u for u in found if UUID.match(u)}


def alive(cfg: dict[str, str], uuids: set[str]) -> set[str]:
    client = Client(cfg["controller_url"], {"X-Slipway-Cleanup-Auth": cfg["cleanup_key"]},
                    ca_file=cfg["ca_file"] or None, timeout=float(cfg["timeout"]))
    answer = client.request("POST", "/v2/hooks/apps/alive/", {"uuids": sorted(uuids)}).json() or {}
    return set(answer.get("alive") or [])


def remove(cfg: dict[str, str], uuid: str, dry_run: bool) -> None:
    lock_dir = cfg["lock_dir"] or os.path.join(cfg["repos_dir"], ".locks")
    paths = [os.path.join(cfg["repos_dir"], uuid + ".git"), os.path.join(lock_dir, uuid + ".lock")]
    if cfg["cache_dir"]:
        paths.append(os.path.join(cfg["cache_dir"], uuid))
    for path in paths:
        if dry_run or not os.path.lexists(path):
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    if not dry_run and shutil.which("docker"):  # its Dockerfile builds' layer cache (the sandbox names it)
        subprocess.run(["docker", "image", "rm", layer_cache(uuid)], capture_output=True, check=False)
    if cfg["cache_url"] and not dry_run:
        url = f"{cfg['cache_url'].rstrip('/')}/{uuid}.tar.gz"
        code = subprocess.run(["curl", "-sS", "-K", cfg["cache_auth"] or "/dev/null", "-X", "DELETE", "-o",
                               "/dev/null", "-w", "%{http_code}", url],
                              capture_output=True, text=True, check=False).stdout
        if code not in ("200", "204", "404"):
            raise OSError(f"the store answered {code or 'nothing'} deleting {url}")


def cleanup(cfg: dict[str, str], dry_run: bool = False) -> dict:
    uuids = seen(cfg)
    if not uuids:
        return {"checked": 0, "removed": [], "errors": 0}
    gone = sorted(uuids - alive(cfg, uuids))
    errors = 0
    for uuid in gone:
        try:
            remove(cfg, uuid, dry_run)
            log.info("removed what destroyed app %s left", uuid)
        except OSError as e:
            errors += 1
            log.error("could not remove what app %s left: %s", uuid, e)
    return {"checked": len(uuids), "removed": gone, "errors": errors}


def main(argv: list[str] | None = None) -> int:
    return jobs.main("slipway-builder-cleanup", __doc__, "cleanup", CLEANUP_DEFAULTS, cleanup, (HTTPError,), argv,
                     base={"builder": BUILDER_DEFAULTS})


if __name__ == "__main__":
    sys.exit(main())
