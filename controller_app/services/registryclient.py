"""The controller's own calls to the platform registry, through its front with the garbage collection's account
(SLIPWAY_REGISTRY_API, SLIPWAY_REGISTRY_GC_KEY, SLIPWAY_REGISTRY_CA_FILE): removing a destroyed app's images,
asking whether a blob is one of the shared stack images' (a push may mount those from wherever it likes), and
whether an image a build names is in the registry at all."""
from __future__ import annotations

import requests

from ..settings import get_settings

MANIFESTS = ", ".join(("application/vnd.docker.distribution.manifest.v2+json",
                       "application/vnd.docker.distribution.manifest.list.v2+json",
                       "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json"))


def session() -> tuple[requests.Session, str] | None:
    """(a session with the account, the registry's /v2 URL), or None without a registry API configured."""
    settings = get_settings()
    if not settings.registry_api or not settings.registry_gc_key:
        return None
    s = requests.Session()
    s.auth = ("gc", settings.registry_gc_key)
    s.verify = settings.registry_ca_file or True
    return s, f"{settings.registry_api}/v2"


_SHARED_BLOBS: set[str] = set()  # positive answers only: a blob's content never changes under its digest


def in_shared_repository(digest: str) -> bool:
    """Whether a shared repository (SLIPWAY_REGISTRY_SHARED_REPOS) holds this blob."""
    if digest in _SHARED_BLOBS:
        return True
    client = session()
    if client is None:
        return False
    s, base = client
    for repo in get_settings().registry_shared_repos:
        try:
            if s.head(f"{base}/{repo}/blobs/{digest}", timeout=5).status_code == 200:
                if len(_SHARED_BLOBS) < 65536:
                    _SHARED_BLOBS.add(digest)
                return True
        except requests.RequestException:
            return False
    return False


def has_manifest(repository: str, reference: str) -> bool | None:
    """Whether the registry holds repository:reference (a tag or a digest); None when it cannot be asked (no
    registry API configured, or no answer)."""
    client = session()
    if client is None:
        return None
    s, base = client
    try:
        status = s.head(f"{base}/{repository}/manifests/{reference}", headers={"Accept": MANIFESTS},
                        timeout=10).status_code
    except requests.RequestException:
        return None
    return True if status == 200 else False if status == 404 else None
