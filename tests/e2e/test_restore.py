"""Backup and restore with the operators' playbooks on the converged all-in-one host.

1. Rows written through the API, a backup with playbooks/backup.yml, more rows after it, the database host's
   data wiped, playbooks/restore.yml: every committed row is back (backup + WAL from the store).
2. A user's mistake (an app deleted) undone with a point-in-time restore (slipway_restore_target).
The controller is never restarted: it reconnects by itself. Timings are printed (pytest -s).
"""
from __future__ import annotations

import pytest

from .conftest import sh, unique
from .ops import ensure_active, playbook

PG_UNIT = "postgresql@17-main.service"
PGDATA = "/var/lib/postgresql/17/main"
pytestmark = pytest.mark.timeout(1800)


def snapshot(user, apps: list[str]) -> dict:
    """What the API says about these apps: each release's version, summary and config values."""
    out = {}
    for app in apps:
        _, releases = user.api("GET", f"/v2/apps/{app}/releases/?limit=100")
        _, config = user.api("GET", f"/v2/apps/{app}/config/")
        out[app] = {"releases": sorted((r["version"], r["summary"]) for r in releases["results"]),
                    "config": config["values"]}
    return out


def write(user, apps: list[str], tag: str, n: int) -> None:
    for app in apps:
        for i in range(n):
            user.api("POST", f"/v2/apps/{app}/config/", {"values": {f"{tag}_{i}": f"{app}-{tag}-{i}"}})


@pytest.fixture(scope="module")
def owner(aio, user_factory):
    return user_factory("restore")


def test_backup_wipe_restore_every_committed_row(owner):
    apps = [unique("rs-") for _ in range(3)]
    for app in apps:
        owner.api("POST", "/v2/apps/", {"id": app})
    write(owner, apps, "BEFORE", 5)
    rc, out, backup_seconds = playbook("backup.yml")
    assert rc == 0, out
    assert "(full)" in out, out
    write(owner, apps, "AFTER", 5)  # committed after the backup: they come back from the WAL archive
    expected = snapshot(owner, apps)
    assert all(len(v["releases"]) == 11 for v in expected.values()), expected
    try:
        sh(f"systemctl stop {PG_UNIT} && rm -rf {PGDATA} && test ! -e {PGDATA}", timeout=300)
        rc, out, restore_seconds = playbook("restore.yml")
    finally:
        ensure_active(PG_UNIT, "pg_isready -q -h 127.0.0.1 -p 5432")
    print(out[-2500:])
    assert rc == 0, out
    got = snapshot(owner, apps)
    print(f"\n[restore drill] backup.yml {backup_seconds:.1f} s; wipe + restore.yml {restore_seconds:.1f} s; "
          f"{sum(len(v['releases']) for v in got.values())} of {sum(len(v['releases']) for v in expected.values())} "
          f"releases and {sum(len(v['config']) for v in got.values())} of "
          f"{sum(len(v['config']) for v in expected.values())} config values back")
    assert got == expected


def test_point_in_time_restore_undoes_a_deletion(owner):
    app = unique("pitr-")
    owner.api("POST", "/v2/apps/", {"id": app})
    write(owner, [app], "KEEP", 3)
    expected = snapshot(owner, [app])
    target = sh("runuser -u postgres -- psql -XAtq -c \"SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD HH24:MI:SS.US') || '+00'\"").stdout.strip()
    status, _ = owner.api("DELETE", f"/v2/apps/{app}/")
    assert status == 204
    assert owner.api("GET", f"/v2/apps/{app}/", expect=None)[0] == 404
    try:
        rc, out, seconds = playbook("restore.yml", "-e", f"slipway_restore_target='{target}'")
    finally:
        ensure_active(PG_UNIT, "pg_isready -q -h 127.0.0.1 -p 5432")
    print(out[-2500:])
    assert rc == 0, out
    got = snapshot(owner, [app])
    print(f"\n[point-in-time restore] to {target}: restore.yml {seconds:.1f} s; the deleted app is back with "
          f"{len(got[app]['releases'])} of {len(expected[app]['releases'])} releases")
    assert got == expected
