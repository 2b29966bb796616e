"""A destroyed app's images leave the platform registry at once: every tag of its repository is deleted through
the registry's front with the garbage collection's account (the registry reclaims the blobs at its next
garbage collection). Until that has succeeded the repository is retired (RetiredRepository): no new app may take
the name, or its owner would reach the old owner's images with its own push token or build API.
Without the registry's API URL and the account (SLIPWAY_REGISTRY_API, SLIPWAY_REGISTRY_GC_KEY) nothing is removed
here: the registry's daily garbage collection then deletes the repositories of apps that no longer exist."""
from __future__ import annotations

import logging

import requests
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..models import RetiredRepository
from . import registryclient

log = logging.getLogger("slipway.registry")


def remove_images(name: str) -> bool:
    """Delete every tag of repository `name`; True when none is left."""
    client = registryclient.session()
    if client is None:
        return True
    session, base = client[0], f"{client[1]}/{name}"
    try:
        r = session.get(f"{base}/tags/list", timeout=10)
        if r.status_code == 404:
            return True
        r.raise_for_status()
        for tag in r.json().get("tags") or []:
            head = session.head(f"{base}/manifests/{tag}", headers={"Accept": registryclient.MANIFESTS}, timeout=10)
            if head.status_code == 404:
                continue  # gone meanwhile
            head.raise_for_status()
            digest = head.headers.get("Docker-Content-Digest")
            if not digest:
                raise ValueError(f"no digest for {name}:{tag}")
            gone = session.delete(f"{base}/manifests/{digest}", timeout=10)
            if gone.status_code not in (202, 404):
                gone.raise_for_status()
        return True
    except (requests.RequestException, ValueError) as exc:
        log.warning("could not remove the images of %s from the registry: %s", name, exc)
        return False


def retire(db: Session, name: str) -> None:
    """Record that repository `name` must be emptied (in the destroying transaction)."""
    db.merge(RetiredRepository(name=name))


def settle(db: Session, name: str) -> bool:
    """Empty a retired repository; True when the name is free (never retired, or emptied now)."""
    if db.scalar(select(RetiredRepository.name).where(RetiredRepository.name == name)) is None:
        return True
    if not remove_images(name):
        return False
    db.execute(delete(RetiredRepository).where(RetiredRepository.name == name))
    db.commit()
    return True
