"""Docker disk hygiene on nodes and the builder: stopped containers, unused images, build cache.

    slipway-docker-prune [--config /etc/slipway/docker-prune.ini] [--dry-run]

Like `docker system prune -a --filter until=<age>`, with what the platform must keep:
- stopped containers older than `older_than_hours` go (`docker container prune --filter until=...`), except
  those labelled `slipway.keep`;
- an image goes when no container (running or stopped) uses it, it was created more than `older_than_hours`
  ago, none of its names matches `protect` (shell patterns, comma separated: the stack images that builds
  start from are never pulled back on their own) and it is not among the `keep_per_repository` newest images
  of its repository (the builder keeps the last builds of each app as the next build's layer cache; nodes
  keep the previous release's image for a quick rollback) unless it is older than `keep_max_hours` (the
  images of a deleted app go in the end; the registry still has what a rollback needs);
- dangling images and, when `build_cache` is true, build cache older than `older_than_hours` go;
- volumes are never touched.
Prints a JSON summary: containers, images removed, bytes reclaimed (`docker system df` before and after).

Settings (ini section [docker_prune], or environment SLIPWAY_<NAME>): older_than_hours, keep_per_repository,
keep_max_hours, protect, build_cache, docker (the CLI), dry_run, log_level.
"""
from __future__ import annotations

import collections
import fnmatch
import json
import logging
import re
import subprocess
import sys
import time

from . import jobs
from .jobs import timestamp, truthy

log = logging.getLogger("slipway.docker_prune")

DEFAULTS = {
    "older_than_hours": "24",
    "keep_per_repository": "2",
    "keep_max_hours": "720",
    "protect": "slipway/stack:*,*/slipway/stack:*",
    "build_cache": "false",
    "docker": "docker",
    "dry_run": "false",
    "log_level": "INFO",
}
SIZE = re.compile(r"^([\d.]+)\s*([kKMGTP]?B)$")
UNITS = {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15}


class Docker:
    def __init__(self, cli: str):
        self.cli = cli

    def __call__(self, *args: str, check: bool = True) -> str:
        p = subprocess.run([self.cli, *args], capture_output=True, text=True, timeout=1800, check=False)
        if check and p.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)}: {p.stderr.strip()[-500:]}")
        return p.stdout

    def lines(self, *args: str) -> list[dict]:
        return [json.loads(line) for line in self(*args).splitlines() if line.strip()]


def used_bytes(docker: Docker) -> int:
    """Bytes of images, containers and build cache (`docker system df`)."""
    total = 0
    for row in docker.lines("system", "df", "--format", "{{json .}}"):
        m = SIZE.match(str(row.get("Size", "")).strip())
        if m:
            total += int(float(m.group(1)) * UNITS.get(m.group(2), 1))
    return total


def images(docker: Docker) -> list[dict]:
    """Every image: id, names (repo:tag), repositories, created (epoch)."""
    ids = sorted(set(docker("image", "ls", "--all", "--no-trunc", "--quiet").split()))
    if not ids:
        return []
    out = []
    for info in json.loads(docker("image", "inspect", *ids)):
        names = [n for n in info.get("RepoTags") or [] if n != "<none>:<none>"]
        out.append({"id": info["Id"], "names": names, "repositories": sorted({n.rsplit(":", 1)[0] for n in names}),
                    "created": timestamp(info["Created"])})
    return out


def images_in_use(docker: Docker) -> set[str]:
    cids = docker("container", "ls", "--all", "--quiet", "--no-trunc").split()
    if not cids:
        return set()
    return {c["Image"] for c in json.loads(docker("container", "inspect", *cids))}


def choose(all_images: list[dict], in_use: set[str], cutoff: float, keep: int, protect: list[str],
           keep_cutoff: float = 0.0) -> tuple[list[dict], dict[str, str]]:
    """(images to remove, why each kept image stays)."""
    newest: dict[str, list[str]] = collections.defaultdict(list)
    for image in sorted(all_images, key=lambda i: i["created"], reverse=True):
        for repo in image["repositories"]:
            newest[repo].append(image["id"])
    remove, why = [], {}
    for image in all_images:
        if not image["names"]:
            why[image["id"]] = "untagged (dangling images go with `image prune`)"
        elif image["id"] in in_use:
            why[image["id"]] = "a container uses it"
        elif any(fnmatch.fnmatchcase(n, p) for n in image["names"] for p in protect):
            why[image["id"]] = "protected"
        elif image["created"] > cutoff:
            why[image["id"]] = "recent"
        elif image["created"] > keep_cutoff and any(image["id"] in newest[r][:keep] for r in image["repositories"]):
            why[image["id"]] = f"among the {keep} newest of its repository"
        else:
            remove.append(image)
    return remove, why


def run(cfg: dict[str, str], dry_run: bool = False) -> dict:
    started = time.monotonic()
    docker = Docker(cfg["docker"])
    hours = float(cfg["older_than_hours"])
    until = f"{int(hours * 60)}m"
    protect = [p.strip() for p in cfg["protect"].split(",") if p.strip()]
    before = used_bytes(docker)
    summary: dict = {"dry_run": dry_run, "older_than_hours": hours}
    if dry_run:
        stopped = docker("container", "ls", "--all", "--quiet", "--filter", "status=exited",
                         "--filter", "status=created", "--filter", "status=dead").split()
        summary["containers_stopped"] = len(stopped)
    else:
        out = docker("container", "prune", "--force", "--filter", f"until={until}",
                     "--filter", "label!=slipway.keep")
        summary["containers_removed"] = sum(1 for line in out.splitlines() if re.fullmatch(r"[0-9a-f]{64}", line))
    now = time.time()
    remove = choose(images(docker), images_in_use(docker), now - hours * 3600,
                    max(0, int(cfg["keep_per_repository"])), protect, now - float(cfg["keep_max_hours"]) * 3600)[0]
    removed = []
    for image in remove:
        for name in image["names"]:
            log.info("%s %s", "would remove" if dry_run else "removing", name)
            if not dry_run:
                docker("image", "rm", name, check=False)
        removed.extend(image["names"])
    if not dry_run:
        docker("image", "prune", "--force", "--filter", f"until={until}")
        if truthy(cfg["build_cache"]):
            docker("builder", "prune", "--force", "--filter", f"until={until}")
    after = used_bytes(docker)
    summary.update({"images_removed": removed, "bytes_before": before, "bytes_after": after,
                    "bytes_reclaimed": max(0, before - after), "seconds": round(time.monotonic() - started, 1)})
    return summary


def main(argv: list[str] | None = None) -> int:
    return jobs.main("slipway-docker-prune", __doc__, "docker_prune", DEFAULTS, run, (RuntimeError,), argv)


if __name__ == "__main__":
    sys.exit(main())
