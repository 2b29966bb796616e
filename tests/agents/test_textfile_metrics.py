"""slipway-textfile-metrics (agents/slipway_agents/textfile_metrics.py) for real: pgBackRest's info and
PostgreSQL's archiver of a throwaway cluster that archives into a pgBackRest repository, a real distribution
registry on its unix socket (test_registry_gc.py's), and a folder measured as du measures it; each .prom file read
back with Prometheus' parser."""
from __future__ import annotations

import datetime as dt
import glob
import json
import os
import pathlib
import shutil
import subprocess
import time

import pytest
from conftest import AGENTS, SYSTEM_PYTHON
from fakes import free_port
from prometheus_client.parser import text_string_to_metric_families
from test_registry_gc import registry  # noqa: F401 - fixture

PGBACKREST = shutil.which("pgbackrest") or "/usr/bin/pgbackrest"
PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1:] or [""]


def collect(out: str, *args: str, env: dict | None = None) -> dict[tuple[str, tuple], float]:
    p = subprocess.run([SYSTEM_PYTHON, "-m", "slipway_agents.textfile_metrics", "--dir", out, *args],
                       cwd=AGENTS, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})
    assert p.returncode == 0, p.stderr
    files = [f for f in os.listdir(out) if not f.startswith(".")]
    assert len(files) == 1 and files[0].endswith(".prom"), os.listdir(out)  # no temporary file left behind
    with open(os.path.join(out, files[0])) as fh:
        text = fh.read()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_store_used_bytes_as_du_counts_them(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    (data / "volumes").mkdir(parents=True)
    out.mkdir()
    (data / "volumes" / "1.dat").write_bytes(os.urandom(300_000))
    (data / "volumes" / "2.idx").write_bytes(b"x" * 5000)
    os.link(data / "volumes" / "1.dat", data / "hardlink.dat")
    found = collect(str(out), "store", "--path", str(data))
    du = int(subprocess.run(["du", "-s", "-B1", str(data)], capture_output=True, text=True).stdout.split()[0])
    assert found[("slipway_store_used_bytes", ())] == du


def test_registry_size_is_its_distinct_blobs(tmp_path, registry):  # noqa: F811 - fixture
    out = tmp_path / "out"
    out.mkdir()
    now = dt.datetime.now(dt.timezone.utc)
    shared = os.urandom(4000)
    a = registry.push("shop", "v1", now, [shared, os.urandom(1000)])
    b = registry.push("blog", "v1", now, [shared])
    c = registry.push("slipway/stack", "latest", now, [os.urandom(700)])
    blobs = {x["digest"]: x["size"] for image in (a, b, c) for x in image["blobs"]}
    want = sum(blobs.values()) + sum(image["manifest_size"] for image in (a, b, c))
    found = collect(str(out), "registry", "--registry-socket", registry.socket)
    assert found[("slipway_registry_size_bytes", ())] == want


@pytest.fixture
def cluster(workdir):
    """A PostgreSQL cluster run as postgres, archiving WAL into a pgBackRest repository, with a full backup (in a
    folder postgres can reach)."""
    assert os.path.exists(PGBACKREST) and PG_BIN[0], \
        "pgbackrest or PostgreSQL's server binaries are missing: scripts/install.sh installs both Debian packages"
    base = pathlib.Path(workdir) / "pg"
    base.mkdir()
    shutil.chown(base, "postgres", "postgres")
    data, repo, port = base / "data", base / "repo", free_port()
    conf = base / "pgbackrest.conf"
    conf.write_text(f"[global]\nrepo1-path={repo}\nlog-path={base}\nlock-path={base}\nspool-path={base}\n"
                    f"start-fast=y\n\n[test]\npg1-path={data}\npg1-port={port}\npg1-socket-path={base}\n")
    env = {"PGBACKREST_CONFIG": str(conf), "PGHOST": str(base), "PGPORT": str(port), "PGDATABASE": "postgres"}

    def as_postgres(*argv: str) -> None:
        p = subprocess.run(["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True, timeout=300,
                           env={**os.environ, **env}, cwd=str(base))
        assert p.returncode == 0, (argv, p.stdout, p.stderr)

    as_postgres(f"{PG_BIN[0]}/initdb", "-D", str(data), "-A", "trust")
    with open(data / "postgresql.conf", "a") as fh:
        fh.write(f"port = {port}\nunix_socket_directories = '{base}'\nlisten_addresses = ''\narchive_mode = on\n"
                 f"archive_command = '{PGBACKREST} --config={conf} --stanza=test archive-push %p'\n"
                 "wal_level = replica\nmax_wal_senders = 3\n")
    as_postgres(f"{PG_BIN[0]}/pg_ctl", "-D", str(data), "-l", str(base / "pg.log"), "-w", "start")
    try:
        as_postgres(PGBACKREST, "--stanza=test", "stanza-create")
        as_postgres(PGBACKREST, "--stanza=test", "--type=full", "backup")
        yield env
    finally:
        as_postgres(f"{PG_BIN[0]}/pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")


def test_backup_times_and_wal_archiving(tmp_path, cluster):
    out = tmp_path / "out"
    out.mkdir()
    found = collect(str(out), "backup", "--stanza", "test", "--user", "postgres", env=cluster)
    info = json.loads(subprocess.run(["runuser", "-u", "postgres", "--", PGBACKREST, "--stanza=test", "--output=json",
                                      "info"], capture_output=True, text=True, env={**os.environ, **cluster},
                                     check=True).stdout)
    full = info[0]["backup"][-1]["timestamp"]["stop"]
    assert found[("slipway_backup_info_success", ())] == 1
    assert found[("slipway_backup_last_success_timestamp_seconds", (("type", "full"),))] == full
    assert ("slipway_backup_last_success_timestamp_seconds", (("type", "diff"),)) not in found  # none taken
    archived = found[("slipway_wal_archive_last_timestamp_seconds", ())]
    assert time.time() - 300 < archived <= time.time()  # the backup's own WAL, archived just now

    broken = collect(str(out), "backup", "--stanza", "nosuch", "--user", "postgres", env=cluster)
    assert broken[("slipway_backup_info_success", ())] == 0
    assert not any(name == "slipway_backup_last_success_timestamp_seconds" for name, _ in broken)
