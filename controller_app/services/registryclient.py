"""The controller's own calls to the platform registry, through its front with the garbage collection's account
(SLIPWAY_REGISTRY_API, SLIPWAY_REGISTRY_GC_KEY, SLIPWAY_REGISTRY_CA_FILE): removing a destroyed app's images, and
asking whether a blob is one of the shared stack images' (a push may mount those from wherever it likes)."""
from __future__ import annotations

import requests

from ..settings import get_settings


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
