"""The platform database's backups move from the unencrypted repository of earlier versions to the encrypted one
when a site upgrades: the host is put back in the state an earlier version left it (pgBackRest's configuration
naming the unencrypted repository alone, a full backup there, WAL archived there, no encrypted repository in the
store), then converged with this tree. Afterwards the encrypted repository holds a full backup and the archive,
WAL goes there alone, and nothing is left of the unencrypted repository in the store, read with the store's admin
keys.

It runs on the converged all-in-one host after the other suites, before the uninstall (scripts/test.sh).
"""
from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import platform, sh
from tests.security.test_backup_encryption import CONF, PLAINTEXT_PATH, STORE, setting
from tests.upgrade import previous

pytestmark = pytest.mark.timeout(3600)

REPOS = "/etc/pgbackrest/repos"
LOGS = previous.ROOT / ".cache" / "upgrade"


def pgbackrest(stanza: str, *args: str, repo: str = "", check: bool = True) -> str:
    """pgBackRest as postgres, with the live configuration or one repository's alone (`repo`)."""
    config = f" --config={REPOS}/{repo}.conf" if repo else ""
    return sh(f"cd / && runuser -u postgres -- pgbackrest --stanza={stanza}{config} {' '.join(args)}",
              check=check).stdout


def info(stanza: str, repo: str) -> dict:
    return json.loads(pgbackrest(stanza, "--output=json", "info", repo=repo, check=False))[0]


def plaintext_files() -> list[str]:
    """What the store holds under the unencrypted repository's path (folders, which the store may keep, aside)."""
    port, bucket = setting("repo1-storage-port"), setting("repo1-s3-bucket")
    keys = json.loads(sh(f"python3 - {port} {bucket} ls {PLAINTEXT_PATH}", input=STORE).stdout)
    return [k for k in keys if not k.endswith("/")]


def test_an_upgrade_moves_the_backups_to_the_encrypted_repository():
    platform(converge=False)
    stanza = sh(f"sed -n 's/^\\[\\(.*\\)\\]$/\\1/p' {CONF} | grep -vx global").stdout.strip()
    assert stanza and info(stanza, "encrypted")["backup"], "the encrypted repository has no backup to begin with"
    assert plaintext_files() == []
    # what an earlier version left: its configuration, the unencrypted repository alone, with a full backup
    sh(f"install -o postgres -g postgres -m 0600 {REPOS}/plaintext.conf {CONF}")
    pgbackrest(stanza, "stanza-create")
    pgbackrest(stanza, "--type=full", "backup")
    for step in ("--lock-path=/tmp/pgbackrest-move-test stop", "--lock-path=/tmp/pgbackrest-move-test --force "
                 "stanza-delete", "--lock-path=/tmp/pgbackrest-move-test start"):
        pgbackrest(stanza, step, repo="encrypted")
    assert info(stanza, "encrypted")["status"]["code"] in (1, 3)
    # stanza-delete removes the files; the store keeps their folders, which an earlier version never made (and
    # which stanza-create refuses: "[040] backup directory and/or archive directory not empty"). The filer on
    # loopback removes them.
    bucket = setting("repo1-s3-bucket")
    encrypted = sh(f"sed -n 's/^repo1-path=//p' {REPOS}/encrypted.conf").stdout.strip().strip("/")
    assert bucket and encrypted, (bucket, encrypted)
    sh(f"curl -fsS -X DELETE 'http://127.0.0.1:8888/buckets/{bucket}/{encrypted}?recursive=true'")
    assert info(stanza, "plaintext")["backup"] and plaintext_files()

    log = LOGS / "backup-move.log"
    rc = previous.converge_current(log)
    out = log.read_text()
    assert rc == 0, out[-6000:]
    for task in ("Create the stanza in the encrypted repository", "Take a full backup in the encrypted repository",
                 "Delete the stanza from the unencrypted repository"):
        assert f"TASK [slipway.paas.database : {task}]" in out, task

    moved = info(stanza, "encrypted")
    assert moved["status"]["code"] == 0 and moved["backup"], moved
    assert moved["cipher"] == "aes-256-cbc", moved
    assert "repo2-" not in sh(f"cat {CONF}").stdout and setting("repo1-cipher-type") == "aes-256-cbc"
    pgbackrest(stanza, "check")  # WAL goes to the encrypted repository, and only there
    assert info(stanza, "plaintext")["status"]["code"] in (1, 3)
    assert plaintext_files() == []
