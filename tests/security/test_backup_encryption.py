"""The platform database's backups and WAL archive (every app's config, certificate keys, password hashes) are
encrypted in the store: pgBackRest reports its repository as aes-256-cbc, the objects in the backups bucket, read
straight from the store with its admin keys, are ciphertext (OpenSSL's "Salted__" header, never pgBackRest's
plaintext "[backrest]" info files), nothing remains under the unencrypted repository's path that earlier versions
used, and only postgres can read the passphrase on the host."""
from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import sh

pytestmark = pytest.mark.timeout(900)
CONF = "/etc/pgbackrest/pgbackrest.conf"
PLAINTEXT_PATH = "pgbackrest/"  # the repository path of earlier versions (slipway_database_backup_path)
SALTED = b"Salted__"

# Runs inside the host: lists and reads objects of a bucket through the store's S3 API on loopback with the
# store's admin identity (/etc/seaweedfs/s3.json), not with the database's own keys.
# `ls PREFIX` prints the keys under PREFIX (JSON); `head KEY...` prints the first 64 bytes of each (JSON, hex).
STORE = r'''
import json, subprocess, sys, urllib.parse, xml.etree.ElementTree as ET
admin = next(i for i in json.load(open("/etc/seaweedfs/s3.json"))["identities"] if i["name"] == "admin")
key = admin["credentials"][0]
port, bucket, command, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
base = f"https://localhost:{port}/{bucket}"
auth = (f'user = "{key["accessKey"]}:{key["secretKey"]}"\naws-sigv4 = "aws:amz:us-east-1:s3"\n'
        'cacert = "/etc/slipway/tls/ca.crt"\n')
def curl(url, *extra):
    p = subprocess.run(["curl", "-sS", "-f", "-K", "-", *extra, url], input=auth.encode(), capture_output=True)
    assert p.returncode == 0, (url, p.stderr.decode())
    return p.stdout
def tag(e):
    return e.tag.rsplit("}", 1)[-1]
if command == "ls":
    keys, token = [], None
    while True:
        q = {"list-type": "2", "prefix": args[0], "max-keys": "1000"}
        if token:
            q["continuation-token"] = token
        root = ET.fromstring(curl(base + "?" + urllib.parse.urlencode(q)))
        token = truncated = None
        for e in root:
            if tag(e) == "Contents":
                keys += [c.text for c in e if tag(c) == "Key"]
            elif tag(e) == "NextContinuationToken":
                token = e.text
            elif tag(e) == "IsTruncated":
                truncated = e.text == "true"
        if not (truncated and token):
            break
    print(json.dumps(keys))
else:
    print(json.dumps({k: curl(base + "/" + urllib.parse.quote(k), "-r", "0-63").hex() for k in args}))
'''


def setting(name: str) -> str:
    """One [global] setting of pgBackRest's configuration on the host (never printed whole: it holds keys)."""
    return sh(f"sed -n 's/^{name}=//p' {CONF} | head -n 1").stdout.strip()


@pytest.fixture(scope="module", autouse=True)
def database_host():
    """The converged host's database (these tests need nothing else of the platform)."""
    p = sh(f"systemctl is-active -q postgresql@17-main && test -s {CONF}", check=False)
    assert p.returncode == 0, f"the platform database is not converged on the host: {p.stdout}"


@pytest.fixture(scope="module")
def store():
    """The repository's bucket as the store's admin sees it: ls(prefix) -> keys, head(keys) -> first bytes."""
    port, bucket = setting("repo1-storage-port"), setting("repo1-s3-bucket")
    assert port and bucket, "pgBackRest's repository settings not found"

    def run(*args: str):
        return json.loads(sh(f"python3 - {port} {bucket} " + " ".join(args), input=STORE).stdout)

    return {"ls": lambda prefix: run("ls", prefix),
            "head": lambda keys: {k: bytes.fromhex(v) for k, v in run("head", *keys).items()} if keys else {}}


@pytest.fixture(scope="module")
def info():
    p = sh("cd / && runuser -u postgres -- pgbackrest info --output=json")
    return json.loads(p.stdout)


def test_pgbackrest_reports_the_repository_encrypted(info):
    assert info, "no stanza in the repository"
    for stanza in info:
        assert stanza["status"]["code"] == 0, stanza["status"]
        assert stanza["backup"], f"stanza {stanza['name']} has no backup"
        assert stanza["cipher"] == "aes-256-cbc", stanza["cipher"]
        for repo in stanza["repo"]:
            assert repo["cipher"] == "aes-256-cbc", repo
    assert setting("repo1-cipher-type") == "aes-256-cbc"
    assert len(setting("repo1-cipher-pass")) >= 32, "the passphrase is missing or short"


def test_only_postgres_reads_the_passphrase():
    owner, group, mode = sh(f"stat -c '%U %G %a' {CONF}").stdout.split()
    assert owner == "postgres" and int(mode, 8) & 0o077 == 0, (owner, group, mode)
    for user in ("nobody", "www-data", "git"):
        if sh(f"id -u {user}", check=False).returncode == 0:
            assert sh(f"cd / && runuser -u {user} -- cat {CONF}", check=False).returncode != 0, user
    assert sh(f"cd / && runuser -u postgres -- cat {CONF} >/dev/null", check=False).returncode == 0


def test_the_backups_and_archive_in_the_store_are_ciphertext(info, store):
    path = setting("repo1-path").strip("/") + "/"
    keys = store["ls"](path)
    for stanza in (s["name"] for s in info):
        for name in (f"backup/{stanza}/backup.info", f"archive/{stanza}/archive.info"):
            assert path + name in keys, (name, keys[:20])
    infos = [k for k in keys if k.endswith((".info", ".info.copy", "backup.manifest", "backup.manifest.copy"))]
    wal = [k for k in keys if k.startswith(path + "archive/") and k not in infos]
    data = [k for k in keys if k.startswith(path + "backup/") and k not in infos]
    assert wal and data, ("no archived WAL or backup files", keys[:20])
    sample = infos + wal[:10] + wal[-10:] + data[:10] + data[-10:]
    heads = store["head"](sample)
    plain = {k: h[:16] for k, h in heads.items() if not h.startswith(SALTED)}
    assert not plain, f"{len(plain)} of {len(heads)} objects are not encrypted, e.g. {dict(list(plain.items())[:3])}"
    assert not any(h.startswith(b"[backrest]") for h in heads.values())


def test_nothing_remains_under_the_unencrypted_repository_path(store):
    assert setting("repo1-path").strip("/") + "/" != PLAINTEXT_PATH
    left = store["ls"](PLAINTEXT_PATH)
    assert not left, f"{len(left)} objects left under /{PLAINTEXT_PATH}: {left[:10]}"
