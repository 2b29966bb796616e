"""The platform's health as Prometheus metrics, written for node-exporter's textfile collector: each run writes
one `.prom` file whole (written beside it, then renamed over it) into `--dir` (default
/var/lib/prometheus/node-exporter, Debian's for prometheus-node-exporter). Systemd timers of the owning roles run
it.

    slipway-textfile-metrics backup --stanza slipway [--user postgres]   -> slipway_backup.prom (database role)
    slipway-textfile-metrics store --path /var/lib/seaweedfs               -> slipway_store.prom (store role)
    slipway-textfile-metrics registry [--registry-socket PATH]             -> slipway_registry.prom (registry role)

- backup: slipway_backup_last_success_timestamp_seconds{type} (full, diff, incr: when the newest backup of each
  type finished, from `pgbackrest info --output=json`), slipway_backup_info_success (1 when that call answered
  and knew the stanza, else 0), slipway_wal_archive_last_timestamp_seconds (when PostgreSQL last archived a WAL
  segment, pg_stat_archiver: pgBackRest's info names the newest segment but not its time). Both commands run as
  `--user` (through runuser) when given.
- store: slipway_store_used_bytes, the disk space the store's data folder takes (as du counts it: allocated
  blocks, each hard-linked file once).
- registry: slipway_registry_size_bytes, the bytes of every distinct blob the registry's manifests name (image
  configs, layers and the manifests themselves), listed through its API on its unix socket as the garbage
  collection lists them (registry_gc.py): the registry keeps its blobs in the store, where no folder of its own
  can be measured.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys

from . import promtext
from .registry_gc import SOCKET, GCError, Registry

TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
BACKUP_TYPES = ("full", "diff", "incr")


def _as(user: str | None, argv: list[str]) -> list[str]:
    return (["runuser", "-u", user, "--"] if user else []) + argv


def backup_times(info: list, stanza: str) -> dict[str, float] | None:
    """{backup type: when its newest backup finished} from pgBackRest's info JSON; None when the stanza is
    missing from it or unreadable (status 99 and others, not 0 ok or 2 no valid backups)."""
    found = next((s for s in info if isinstance(s, dict) and s.get("name") == stanza), None)
    if found is None or (found.get("status") or {}).get("code") not in (0, 2):
        return None
    times: dict[str, float] = {}
    for backup in found.get("backup") or []:
        kind, stop = backup.get("type"), (backup.get("timestamp") or {}).get("stop")
        if kind in BACKUP_TYPES and isinstance(stop, (int, float)):
            times[kind] = max(times.get(kind, 0.0), float(stop))
    return times


def backup_families(stanza: str, pgbackrest: list[str], psql: list[str], user: str | None) -> list:
    try:
        out = subprocess.run(_as(user, pgbackrest + [f"--stanza={stanza}", "--output=json", "info"]),
                             capture_output=True, text=True, timeout=120, check=True).stdout
        times = backup_times(json.loads(out), stanza)
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        print(f"pgbackrest info failed: {e}", file=sys.stderr)
        times = None
    families = [("slipway_backup_info_success", "gauge", "1 when pgbackrest info answered for the stanza.",
                 [({}, 0 if times is None else 1)]),
                ("slipway_backup_last_success_timestamp_seconds", "gauge",
                 "When the newest backup of each type finished.",
                 [({"type": kind}, when) for kind, when in sorted((times or {}).items())])]
    query = "SELECT coalesce(extract(epoch FROM last_archived_time), 0) FROM pg_stat_archiver"
    try:
        out = subprocess.run(_as(user, psql + ["-c", query]), capture_output=True, text=True, timeout=60,
                             check=True).stdout.strip()
        archived = [({}, float(out))] if float(out) > 0 else []
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        print(f"reading pg_stat_archiver failed: {e}", file=sys.stderr)
        archived = []
    families.append(("slipway_wal_archive_last_timestamp_seconds", "gauge",
                     "When PostgreSQL last archived a WAL segment.", archived))
    return families


def used_bytes(path: str) -> int:
    """Disk space under `path` as du counts it (allocated blocks; a file with several links once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:
                continue  # removed while walking
            if (st.st_dev, st.st_ino) in seen:
                continue
            if st.st_nlink > 1:
                seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total + os.lstat(path).st_blocks * 512


def registry_bytes(registry: Registry) -> int:
    sizes: dict[str, int] = {}
    for repo in registry.repositories():
        for tag in registry.tags(repo):
            digest, manifest, size = registry.manifest(repo, tag)
            if not digest:
                continue
            sizes[digest] = size
            for blob in [manifest.get("config") or {}] + list(manifest.get("layers") or []):
                if blob.get("digest"):
                    sizes[blob["digest"]] = int(blob.get("size") or 0)
    return sum(sizes.values())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="slipway-textfile-metrics", description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--dir", default=TEXTFILE_DIR, help="node-exporter's textfile folder")
    sub = ap.add_subparsers(dest="what", required=True)
    b = sub.add_parser("backup", help="pgBackRest's backups and PostgreSQL's WAL archiving")
    b.add_argument("--stanza", required=True)
    b.add_argument("--user", help="run pgbackrest and psql as this user (postgres)")
    b.add_argument("--pgbackrest", default="pgbackrest", help="the pgbackrest command (shell words)")
    b.add_argument("--psql", default="psql -X -A -t -q", help="the psql command (shell words)")
    s = sub.add_parser("store", help="the store's data folder")
    s.add_argument("--path", required=True)
    r = sub.add_parser("registry", help="the registry's blobs")
    r.add_argument("--registry-socket", default=SOCKET, help="distribution's unix socket")
    args = ap.parse_args(argv)
    if args.what == "backup":
        families = backup_families(args.stanza, shlex.split(args.pgbackrest), shlex.split(args.psql), args.user)
    elif args.what == "store":
        families = [("slipway_store_used_bytes", "gauge", "Disk space the store's data folder takes.",
                     [({}, used_bytes(args.path))])]
    else:
        try:
            size = registry_bytes(Registry(args.registry_socket))
        except (GCError, OSError, ValueError) as e:
            print(f"listing the registry failed: {e}", file=sys.stderr)
            return 1  # the file keeps its last value; its age tells how old it is
        families = [("slipway_registry_size_bytes", "gauge", "Bytes of the distinct blobs the registry's manifests "
                     "name.", [({}, size)])]
    promtext.write_textfile(os.path.join(args.dir, f"slipway_{args.what}.prom"), promtext.render(families))
    return 0


if __name__ == "__main__":
    sys.exit(main())
