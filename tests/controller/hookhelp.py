"""Helpers for tests of the builder's hook: an image the hook accepts (the web test image, tagged in the
platform registry's name for the app), following a release's state as the builder does, and another deploy
in progress (the app's deploy lock held from outside)."""
from __future__ import annotations

import atexit
import subprocess
import uuid

import psycopg2
import requests

from .conftest import REGISTRY
from .deployhelp import WEB


def app_image(app_id: str, tag: str = "git-1", source: str = WEB) -> str:
    """`source` tagged as the app's own image of the platform registry (kept locally: nothing is pulled)."""
    subprocess.run(["scripts/build-test-image.sh"], check=True)
    image = f"{REGISTRY}/{app_id}:{tag}"
    subprocess.run(["docker", "tag", source, image], check=True)
    atexit.register(subprocess.run, ["docker", "rmi", image], check=False, capture_output=True)  # the tag only
    return image


def follow(ctl, token: str, version: int, wait: float = 60, **headers) -> requests.Response:
    """GET /v2/hooks/releases/{version}/?wait=: the release's state once it leaves `deploying` (or the wait ends)."""
    if token:
        headers["X-Slipway-Push-Token"] = token
    return requests.get(f"{ctl.url}/v2/hooks/releases/{version}/", params={"wait": wait}, headers=headers,
                        timeout=wait + 30)


def follow_until_settled(ctl, token: str, version: int, timeout: float = 120) -> dict:
    """The release's state once serving or failed (several long polls, as the builder follows it)."""
    waited = 0.0
    while True:
        r = follow(ctl, token, version, wait=min(30.0, timeout - waited))
        assert r.status_code == 200, r.text
        if r.json()["state"] != "deploying" or waited >= timeout:
            return r.json()
        waited += 30


class DeployLock:
    """Holds an app's deploy lock from outside the controller, as another deploy in progress would: the
    controller's deploys of that app wait (their releases `deploying`) until `release()`."""

    def __init__(self, ctl, api, app_id: str):
        app_uuid = uuid.UUID(api.get(f"/v2/apps/{app_id}/").json()["uuid"])
        self.conn = psycopg2.connect(ctl.database_url)
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (int.from_bytes(app_uuid.bytes[:8], "big", signed=True),))

    def release(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
