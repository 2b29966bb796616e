"""Disk hygiene on the converged all-in-one host: a platform left running for months keeps working.

One app gets many versions pushed (each with a 4 MB layer of its own), then the units the roles schedule run
by hand (systemctl start): the registry's garbage collection deletes the images no release needs and reclaims
their blobs in the store, the node and builder pruning free Docker's disk. The current release still serves,
a push after the collection works, and a rollback to the previous release still works. The figures are
printed (pytest -s).
"""
from __future__ import annotations

import time

import pytest

from .conftest import git_repo, push, sh, wait_for
from .ops import (HELLO, blobs_in_bucket, bucket_stats, dropin, hello_source, image_blobs, new_app, registry_tags,
                  serving, start_unit)

pytestmark = pytest.mark.timeout(3600)
VERSIONS = 7      # pushed; the collection keeps the newest 5 builds (slipway_registry_gc_keep_builds)
KEEP = 5
GRACE = 120       # the test's grace period (the role's default is an hour)
PAYLOAD = 4_000_000


def dockerfile(registry: str) -> str:
    return (f"FROM {registry}/slipway/stack:trixie\nCOPY payload.bin /payload.bin\nCOPY app.py /app/app.py\n"
            'CMD ["python3", "-u", "/app/app.py"]\n')


def version_source(n: int) -> str:
    return hello_source(f"gc-v{n}:")


@pytest.fixture(scope="module")
def world(aio, user_factory):
    return {**new_app(aio, user_factory, "gc"), "pushed": {}}


def images(world) -> list[str]:
    """Image of each release, newest first."""
    _, builds = world["owner"].api("GET", f"/v2/apps/{world['app']}/builds/")
    return [b["image"] for b in builds["results"]]


def test_push_many_versions(world):
    for n in range(1, VERSIONS + 1):
        git_repo(world["src"], {"Dockerfile": dockerfile(world["aio"]["registry"]), "app.py": version_source(n),
                                "Procfile": HELLO.joinpath("Procfile").read_text()}, f"v{n}")
        sh(f"head -c {PAYLOAD} /dev/urandom > {world['src']}/payload.bin && cd {world['src']} && "
           "git add payload.bin && git commit -q --amend --no-edit")
        rc, out, seconds = push(world["owner"], world["app"], world["src"])
        assert rc == 0, out
        world["pushed"][n] = time.time()
        print(f"push v{n}: {seconds:.1f} s")
        if n == 1:  # a stopped container of the first image: the pruning must remove it later
            image = images(world)[0]
            sh(f"docker create --name {world['app']}-stopped {image} true >/dev/null")
    assert wait_for(lambda: serving(world).startswith(f"gc-v{VERSIONS}:"), 30, message="the last version serving")
    tags = registry_tags(world["app"])
    assert len(tags) == VERSIONS, tags


def test_registry_garbage_collection(world):
    app = world["app"]
    tags = [img.rsplit(":", 1)[1] for img in images(world)]  # newest first
    gone_tags, kept_tags = tags[KEEP:], tags[:KEEP]
    blobs = {tag: image_blobs(app, tag) for tag in tags}
    own = {}  # each version's own blobs (config, payload, app.py layer): what the collection reclaims or keeps
    for tag in tags:
        others = {b["digest"] for t in tags if t != tag for b in blobs[t]}
        own[tag] = [b for b in blobs[tag] if b["digest"] not in others]
        assert any(b["size"] >= PAYLOAD for b in own[tag]), own[tag]
    # the images to delete must be older than the grace period
    wait = world["pushed"][VERSIONS - KEEP] + GRACE + 5 - time.time()
    if wait > 0:
        print(f"waiting {wait:.0f} s for the oldest images to leave the grace period")
        time.sleep(wait)
    count_before, bytes_before = bucket_stats()
    with dropin("slipway-registry-gc.service", f"[Service]\nEnvironment=SLIPWAY_GRACE_SECONDS={GRACE}"):
        started = time.monotonic()
        ok, lines, log = start_unit("slipway-registry-gc.service")
        seconds = time.monotonic() - started
    assert ok and lines, log[-3000:]
    summary = lines[-1]
    count_after, bytes_after = bucket_stats()
    print(f"\n[registry gc] {seconds:.1f} s (read-only {summary['readonly_seconds']} s): "
          f"{summary['manifests_deleted']} manifests and {summary['blobs_deleted']} blobs deleted, "
          f"{summary['bytes_reclaimed']} bytes reclaimed by its count; bucket blobs {count_before} -> "
          f"{count_after}, bytes {bytes_before} -> {bytes_after} ({bytes_before - bytes_after} reclaimed)")
    assert sorted(registry_tags(app)) == sorted(kept_tags), registry_tags(app)
    assert any(f"{app}@" in d for d in summary["deleted"]), summary
    gone_blobs = [b["digest"] for t in gone_tags for b in own[t]]
    kept_blobs = [b["digest"] for t in kept_tags for b in own[t]]
    assert blobs_in_bucket(gone_blobs) == set(), "old images' blobs still in the store"
    assert blobs_in_bucket(kept_blobs) == set(kept_blobs), "kept images' blobs gone"
    reclaimed_own = sum(b["size"] for t in gone_tags for b in own[t])
    assert summary["bytes_reclaimed"] >= reclaimed_own, summary
    assert sh("test ! -e /run/systemd/system/docker-registry.service.d/90-slipway-gc-readonly.conf "
              "&& systemctl is-active docker-registry", check=False).returncode == 0, "left read-only"
    # a second run finds nothing more of this app's to delete (and copes with the stale tags S3 keeps listing)
    with dropin("slipway-registry-gc.service", f"[Service]\nEnvironment=SLIPWAY_GRACE_SECONDS={GRACE}"):
        ok, lines, log = start_unit("slipway-registry-gc.service")
    assert ok and lines, log[-3000:]
    assert not any(f"{app}@" in d for d in lines[-1]["deleted"]), lines[-1]
    print(f"second run: {lines[-1]['manifests_deleted']} manifests of other apps, {lines[-1]['seconds']} s")


def test_current_release_serves_and_a_push_after_gc_works(world):
    assert serving(world).startswith(f"gc-v{VERSIONS}:"), serving(world)
    n = VERSIONS + 1
    git_repo(world["src"], {"app.py": version_source(n)}, f"v{n}")
    rc, out, seconds = push(world["owner"], world["app"], world["src"])
    assert rc == 0, out  # the registry (its blob cache emptied by the restart) took the layers again
    assert wait_for(lambda: serving(world).startswith(f"gc-v{n}:"), 30, message="the push after gc serving")
    print(f"push after gc: {seconds:.1f} s")


def test_node_and_builder_pruning(world):
    stopped = f"{world['app']}-stopped"
    assert sh(f"docker container inspect {stopped} >/dev/null 2>&1", check=False).returncode == 0
    df_before = sh("docker system df").stdout
    # prune what is older than 72 s (the units' defaults: a day on nodes, three days on the builder)
    results = {}
    for unit in ("slipway-node-prune.service", "slipway-builder-prune.service"):
        with dropin(unit, "[Service]\nEnvironment=SLIPWAY_OLDER_THAN_HOURS=0.02"):
            ok, lines, log = start_unit(unit)
        assert ok and lines, log[-3000:]
        results[unit] = lines[-1]
        print(f"\n[{unit}] {lines[-1]['bytes_reclaimed']} bytes reclaimed in {lines[-1]['seconds']} s, "
              f"{len(lines[-1]['images_removed'])} images removed, "
              f"containers removed {lines[-1].get('containers_removed')}")
    print(df_before + "->\n" + sh("docker system df").stdout)
    assert sh(f"docker container inspect {stopped} >/dev/null 2>&1", check=False).returncode != 0
    removed = {name for r in results.values() for name in r["images_removed"]}
    app_images = [i for i in removed if f"/{world['app']}:" in i]
    assert app_images, removed  # old versions of the app left the host
    # the stack images (builds start from them) and the running release's image stay
    left = sh("docker image ls --format '{{.Repository}}:{{.Tag}}'").stdout.split()
    assert any(i.startswith("slipway/stack:") for i in left), left
    assert any(i.endswith("/slipway/stack:trixie") for i in left), left
    assert images(world)[0] in left, (images(world)[0], left)


def test_rollback_after_cleanup(world):
    before = serving(world)
    status, answer = world["owner"].api("POST", f"/v2/apps/{world['app']}/releases/rollback/", {})
    assert status == 201, answer
    body = wait_for(lambda: serving(world).startswith(f"gc-v{VERSIONS}:") and serving(world), 30,
                    message="the previous release serving again")
    print(f"rollback after cleanup: {before.split(' (')[0]!r} -> {body.split(' (')[0]!r}")


def test_logs_are_bounded(world):
    """journald's limits, logrotate for nginx and pgBackRest, the timers, the deploy artifacts kept."""
    journald = sh("systemd-analyze cat-config systemd/journald.conf").stdout
    assert "SystemMaxUse=" in journald, journald
    rotate = sh("logrotate -d /etc/logrotate.conf 2>&1").stdout
    assert "/var/log/nginx/*.log" in rotate and "/var/log/pgbackrest/*.log" in rotate, rotate[-2000:]
    assert "error:" not in rotate, [line for line in rotate.splitlines() if "error:" in line]
    timers = sh("systemctl list-timers --all --no-pager").stdout
    for timer in ("slipway-registry-gc.timer", "slipway-node-prune.timer", "slipway-builder-prune.timer",
                  "slipway-pgbackrest-full.timer", "slipway-pgbackrest-diff.timer", "logrotate.timer"):
        assert timer in timers, timers
    artifacts = int(sh("ls /var/lib/slipway/deploy/artifacts | wc -l").stdout)
    keep = int(sh("grep -o -- '--rotate-artifacts [0-9]*' /etc/slipway/builder/builder.ini | cut -d' ' -f2").stdout)
    assert 0 < artifacts <= keep, (artifacts, keep)
    usage = sh("journalctl --disk-usage").stdout.strip()
    print(f"\njournal: {usage}; deploy artifacts kept: {artifacts} (at most {keep})")
