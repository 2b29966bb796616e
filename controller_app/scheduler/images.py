"""Image references: a tag pinned to the digest a registry gave it (no Docker calls here).

Swarm asks the registry about a service's image at every task start unless the image is referenced by
digest and already present on the node; `docker service create` pins `repo:tag@sha256:…` for that reason
(and so that every replica, including ones started later, runs the very same image).
"""
from __future__ import annotations


def repository(image: str) -> str:
    """`registry:5000/app:git-abc` -> `registry:5000/app` (a registry port is not a tag)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return name.rsplit(":", 1)[0] if ":" in last else name


def pin(image: str, repo_digests: list[str]) -> str:
    """`image` with the digest it has in its own repository (from the engine's RepoDigests), else as is."""
    if "@" in image:
        return image
    repo = repository(image)
    for entry in repo_digests:
        name, _unused, digest = entry.partition("@")
        if name == repo and digest:
            return f"{image}@{digest}"
    return image
