"""Registry garbage collection: delete the app images no release needs any more, then reclaim their blobs.

    slipway-registry-gc [--config /etc/slipway/registry-gc.ini] [--dry-run]

Run on the registry host (`slipway-registry-gc.service`, started by its timer):
1. ask the controller which images the releases reference and which apps exist (GET /v2/hooks/images/,
   with the registry GC's own key); if it does not answer, or knows no app while the registry holds app
   images, stop without deleting anything;
2. walk the registry's app repositories (names that are app ids; namespaced ones such as `slipway/stack` are
   the platform's and left alone) through distribution itself on this host (its unix socket `registry_socket`,
   behind nginx);
3. per app keep the images of the newest `keep_builds` distinct builds among its good (not failed) releases,
   so rollbacks to those work; images younger than `grace_seconds` are kept (a push in progress has pushed
   its image but not yet registered its build); a repository of an app that no longer exists (the controller
   is asked again after the walk, so an app created meanwhile is not taken for a destroyed one) keeps
   nothing, however young: an app created later under the same name must not find the old app's images;
4. DELETE every other manifest by digest;
5. switch the registry to read-only (a runtime drop-in setting REGISTRY_STORAGE_MAINTENANCE, restart), check
   that it refuses writes, run `docker-registry garbage-collect <config>`, and switch it back (restart: it also
   empties distribution's in-memory blob descriptor cache, which would otherwise still claim deleted blobs);
6. print a JSON summary: manifests deleted, blobs deleted, bytes reclaimed (sizes from the manifests),
   seconds the registry was read-only.

Settings (ini section [registry_gc], or environment SLIPWAY_<NAME>):
  controller_url, gc_key (or gc_key_file: the controller's SLIPWAY_REGISTRY_GC_KEY), ca_file, registry_socket,
  registry_config,
  registry_command, registry_unit, readonly_dropin, readonly_command / writable_command (shell commands that
  replace the systemd drop-in switch), keep_builds, grace_seconds, delete_untagged, dry_run, restart_timeout,
  log_level.
"""
from __future__ import annotations

import http.client
import json
import logging
import os
import re
import subprocess
import sys
import time
import urllib.parse

from . import jobs
from .common import APP_ID, Client, HTTPError
from .engine import UnixConnection
from .jobs import timestamp, truthy

log = logging.getLogger("slipway.registry_gc")
SOCKET = "/run/slipway-registry/registry.sock"  # the registry role's slipway_registry_backend_socket

DEFAULTS = {
    "controller_url": "",
    "gc_key": "",
    "gc_key_file": "",
    "ca_file": "",
    "registry_socket": SOCKET,
    "registry_config": "/etc/docker/registry/config.yml",
    "registry_command": "/usr/bin/docker-registry",
    "registry_unit": "docker-registry.service",
    "readonly_dropin": "/run/systemd/system/docker-registry.service.d/90-slipway-gc-readonly.conf",
    "readonly_command": "",
    "writable_command": "",
    "keep_builds": "5",
    "grace_seconds": "3600",
    "delete_untagged": "false",
    "dry_run": "false",
    "restart_timeout": "90",
    "log_level": "INFO",
}
MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
])
READONLY = "{uploadpurging: {enabled: false}, readonly: {enabled: true}}"
GC_BLOB = re.compile(r"blob eligible for deletion: (sha256:[0-9a-f]{64})")
GC_TOTALS = re.compile(r"(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion")


class GCError(Exception):
    pass


def split_reference(image: str) -> tuple[str, str | None, str | None]:
    """'host:5000/app:tag' -> ('app', 'tag', None); 'host/app@sha256:..' -> ('app', None, 'sha256:..')."""
    name, digest = image, None
    if "@" in name:
        name, digest = name.split("@", 1)
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    return "/".join(parts), tag, digest


def parse_time(value) -> float | None:
    try:
        return timestamp(value) if value else None
    except ValueError:
        return None


class Registry:
    """Distribution's HTTP API on this host, over its unix socket (no auth: nginx in front of it does that)."""

    def __init__(self, socket_path: str, timeout: float = 60):
        self.socket_path = socket_path
        self.timeout = timeout

    def call(self, method: str, path: str, accept: str | None = None,
             ok: tuple[int, ...] = (200,)) -> tuple[int, dict, bytes]:
        if not path.startswith("/"):  # a link distribution made absolute (http://localhost/v2/...)
            path = urllib.parse.urlsplit(path)._replace(scheme="", netloc="").geturl()
        headers = {"User-Agent": "slipway-registry-gc"}
        if accept:
            headers["Accept"] = accept
        conn = UnixConnection(self.socket_path, self.timeout)
        try:
            conn.request(method, path, body=b"" if method in ("POST", "PUT") else None, headers=headers)
            r = conn.getresponse()
            status, head, body = r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        except http.client.HTTPException as e:
            raise GCError(f"{method} {path}: {e!r}") from None
        finally:
            conn.close()
        if status not in ok:
            raise GCError(f"{method} {path}: HTTP {status} {body[:200].decode('utf-8', 'replace')}")
        return status, head, body

    def paged(self, path: str, key: str) -> list[str]:
        items: list[str] = []
        while path:
            _unused, head, body = self.call("GET", path)
            items += json.loads(body or b"{}").get(key) or []
            link = re.search(r"<([^>]+)>;\s*rel=\"?next\"?", head.get("link", ""))
            path = link.group(1) if link else ""
        return items

    def repositories(self) -> list[str]:
        return self.paged("/v2/_catalog?n=1000", "repositories")

    def tags(self, repo: str) -> list[str]:
        try:
            return self.paged(f"/v2/{repo}/tags/list?n=1000", "tags")
        except GCError as e:
            if "HTTP 404" in str(e):  # every tag deleted already
                return []
            raise

    def manifest(self, repo: str, reference: str) -> tuple[str, dict, int]:
        """(digest, manifest, its size: distribution stores the manifest itself as a blob too); no digest for a
        tag whose manifest is gone (on S3 storage a deleted manifest's tags may still be listed)."""
        status, head, body = self.call("GET", f"/v2/{repo}/manifests/{reference}", accept=MANIFEST_TYPES,
                                       ok=(200, 404))
        if status == 404:
            return "", {}, 0
        return head.get("docker-content-digest", ""), json.loads(body), len(body)

    def created(self, repo: str, manifest: dict) -> float | None:
        config = (manifest.get("config") or {}).get("digest")
        if not config:
            return None  # an index: its age is unknown, so it is treated as recent
        _unused, _unused, body = self.call("GET", f"/v2/{repo}/blobs/{config}")
        try:
            return parse_time(json.loads(body).get("created"))
        except ValueError:
            return None

    def delete(self, repo: str, digest: str) -> None:
        self.call("DELETE", f"/v2/{repo}/manifests/{digest}", ok=(202, 404))

    def up(self) -> bool:
        try:
            self.call("GET", "/v2/")
            return True
        except (GCError, OSError):
            return False

    def refuses_writes(self) -> bool:
        status, _unused, _unused = self.call("POST", "/v2/slipway-gc-probe/blobs/uploads/", ok=(202, 405, 503))
        return status != 202


def releases_by_app(controller: dict) -> dict[str, dict]:
    """The controller's answer as {app: {"releases": [...newest first]}}."""
    return {entry["app"]: {"releases": entry.get("releases") or []} for entry in controller.get("apps") or []}


def ask_controller(controller: Client) -> dict:
    try:
        return controller.request("GET", "/v2/hooks/images/").json()
    except (HTTPError, OSError, ValueError) as e:
        raise GCError(f"the controller did not say which images releases use ({e}); nothing deleted") from None


def live_apps(answer: dict) -> set[str]:
    """The ids of the apps that exist, from the controller's answer."""
    return set(answer.get("app_ids") or []) | set(releases_by_app(answer))


def plan(keep_builds: int, apps: dict[str, dict], live: set[str], images: dict[str, list[dict]], grace: float,
         now: float) -> tuple[list[dict], list[dict]]:
    """(delete, kept) lists of {repo, digest, tags, created, reason} for the app repositories.

    `images` maps each repository to its manifests: {digest, tags, created, blobs}; `live` are the ids of the
    apps that exist (every manifest of another repository goes)."""
    delete: list[dict] = []
    kept: list[dict] = []
    for repo, manifests in sorted(images.items()):
        wanted_tags: set[str] = set()
        wanted_digests: set[str] = set()
        known = repo in live
        if known:
            distinct: list[str] = []
            for release in apps.get(repo, {}).get("releases", []):
                if release.get("failed") or not release.get("image"):
                    continue
                if release["image"] not in distinct:
                    distinct.append(release["image"])
            for image in distinct[:keep_builds]:
                name, tag, digest = split_reference(image)
                if name != repo:
                    continue
                if digest:
                    wanted_digests.add(digest)
                elif tag:
                    wanted_tags.add(tag)
        for m in manifests:
            reason = None
            if not known:
                reason = None
            elif m["digest"] in wanted_digests or wanted_tags & set(m["tags"]):
                reason = "a release needs it"
            elif m["created"] is None or now - m["created"] < grace:
                reason = "recent"
            (kept if reason else delete).append({**m, "repo": repo, "reason": reason or (
                "no kept release uses it" if known else "the app no longer exists")})
    return delete, kept


def collect(registry: Registry) -> tuple[dict[str, list[dict]], dict[str, int]]:
    """The app repositories' manifests ({digest, tags, created}) and every blob size seen."""
    images: dict[str, list[dict]] = {}
    sizes: dict[str, int] = {}
    for repo in registry.repositories():
        if not APP_ID.match(repo):
            continue
        by_digest: dict[str, dict] = {}
        for tag in registry.tags(repo):
            digest, manifest, size = registry.manifest(repo, tag)
            if not digest:
                continue
            if digest not in by_digest:
                sizes[digest] = size
                blobs = [manifest.get("config") or {}] + list(manifest.get("layers") or [])
                for blob in blobs:
                    if blob.get("digest"):
                        sizes[blob["digest"]] = int(blob.get("size") or 0)
                by_digest[digest] = {"digest": digest, "tags": [], "created": registry.created(repo, manifest),
                                     "bytes": sum(int(b.get("size") or 0) for b in blobs)}
            by_digest[digest]["tags"].append(tag)
        images[repo] = list(by_digest.values())
    return images, sizes


class Switch:
    """Read-only on and off: a runtime drop-in for the registry's unit (or the configured commands)."""

    def __init__(self, cfg: dict[str, str], registry: Registry):
        self.cfg, self.registry = cfg, registry
        self.timeout = float(cfg["restart_timeout"])

    def _systemctl(self, *args: str) -> None:
        subprocess.run(["systemctl", *args], check=True, capture_output=True, text=True, timeout=self.timeout)

    def _wait_up(self) -> None:
        deadline = time.monotonic() + self.timeout
        while not self.registry.up():
            if time.monotonic() > deadline:
                raise GCError(f"the registry did not answer within {self.timeout:.0f} s after its restart")
            time.sleep(0.5)

    def readonly(self) -> None:
        if self.cfg["readonly_command"]:
            subprocess.run(self.cfg["readonly_command"], shell=True, check=True, timeout=self.timeout)
        else:
            path = self.cfg["readonly_dropin"]
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write("# slipway-registry-gc: read-only while garbage-collect runs (removed after it)\n"
                         f"[Service]\nEnvironment=\"REGISTRY_STORAGE_MAINTENANCE={READONLY}\"\n")
            self._systemctl("daemon-reload")
            self._systemctl("restart", self.cfg["registry_unit"])
        self._wait_up()

    def writable(self) -> None:
        if self.cfg["writable_command"]:
            subprocess.run(self.cfg["writable_command"], shell=True, check=True, timeout=self.timeout)
        else:
            try:
                os.unlink(self.cfg["readonly_dropin"])
            except FileNotFoundError:
                pass
            self._systemctl("daemon-reload")
            self._systemctl("restart", self.cfg["registry_unit"])
        self._wait_up()


def garbage_collect(cfg: dict[str, str], dry_run: bool) -> tuple[list[str], str]:
    argv = [cfg["registry_command"], "garbage-collect", cfg["registry_config"]]
    if truthy(cfg["delete_untagged"]):
        argv.append("--delete-untagged")
    if dry_run:
        argv.append("--dry-run")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REGISTRY_"))}
    p = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    output = p.stdout + p.stderr
    if p.returncode != 0:
        raise GCError(f"garbage-collect failed (exit {p.returncode}): {output.strip()[-800:]}")
    return GC_BLOB.findall(output), output


def run(cfg: dict[str, str], dry_run: bool = False) -> dict:
    started = time.monotonic()
    keep_builds = max(1, int(cfg["keep_builds"]))
    grace = float(cfg["grace_seconds"])
    controller = Client(cfg["controller_url"], {"X-Slipway-GC-Auth": cfg["gc_key"]},
                        cfg["ca_file"] or None, timeout=60)
    answer = ask_controller(controller)
    apps = releases_by_app(answer)
    live = live_apps(answer)
    registry = Registry(cfg["registry_socket"])
    images, sizes = collect(registry)
    if not live and any(images.values()):
        raise GCError(f"the controller knows no app while the registry holds {len(images)} app repositories; "
                      "nothing deleted (a controller on an empty or wrong database?)")
    if set(images) - live:  # gone, or created during the walk: ask again
        live |= live_apps(ask_controller(controller))
    delete, kept = plan(keep_builds, apps, live, images, grace, time.time())
    for m in delete:
        log.info("%s %s %s (%s): %s", "would delete" if dry_run else "deleting", m["repo"], m["digest"],
                 ",".join(m["tags"]), m["reason"])
        if not dry_run:
            registry.delete(m["repo"], m["digest"])
    readonly_started = time.monotonic()
    if dry_run:  # reads only: the registry stays as it is
        blobs, output = garbage_collect(cfg, dry_run)
    else:
        switch = Switch(cfg, registry)
        try:
            switch.readonly()
            if not registry.refuses_writes():
                raise GCError("the registry still accepts writes after the switch to read-only; "
                              "garbage-collect not run")
            blobs, output = garbage_collect(cfg, dry_run)
        finally:
            switch.writable()
    readonly_seconds = 0.0 if dry_run else time.monotonic() - readonly_started
    totals = GC_TOTALS.search(output)
    summary = {
        "dry_run": dry_run,
        "repositories": len(images),
        "manifests_kept": len(kept),
        "manifests_deleted": len(delete),
        "deleted": [f"{m['repo']}@{m['digest']} ({','.join(m['tags'])})" for m in delete],
        "blobs_marked": int(totals.group(1)) if totals else None,
        "blobs_deleted": len(blobs),
        "bytes_reclaimed": sum(sizes.get(b, 0) for b in blobs),
        "readonly_seconds": round(readonly_seconds, 1),
        "seconds": round(time.monotonic() - started, 1),
    }
    return summary


def main(argv: list[str] | None = None) -> int:
    return jobs.main("slipway-registry-gc", __doc__, "registry_gc", DEFAULTS, run, (GCError,), argv)


if __name__ == "__main__":
    sys.exit(main())
