"""Which images a build may name: in the platform registry only the app's own repository (or that of an app the
caller may use); images from other registries as before; malformed references refused."""
from __future__ import annotations

import secrets

import pytest

from .conftest import REGISTRY

HOST = REGISTRY.split(":")[0]


@pytest.fixture
def other_app(new_user) -> str:
    other = new_user("tenant")
    name = f"victim-{secrets.token_hex(3)}"
    assert other.post("/v2/apps/", {"id": name}).status_code == 201
    return name


@pytest.mark.parametrize("image", [
    "{r}/{victim}:git-1", "{r}/{victim}", "{r}/{victim}:git-1@sha256:" + "a" * 64, "{r}/{victim}@sha256:" + "b" * 64,
    "{R}/{victim}:git-1", "{host}/{victim}:git-1", "{host}:443/{victim}:latest", "{r}/slipway/stack:trixie",
    "{r}/no-such-app:1", "{r}/library/{victim}:1",
])
def test_another_apps_image_in_the_platform_registry_is_refused(owner, app_id, other_app, image):
    ref = image.format(r=REGISTRY, R=REGISTRY.upper(), host=HOST, victim=other_app)
    r = owner.post(f"/v2/apps/{app_id}/builds/", {"image": ref})
    assert r.status_code == 403, (ref, r.status_code, r.text)
    assert "registry" in r.json()["detail"]
    assert owner.get(f"/v2/apps/{app_id}/builds/").json()["count"] == 0


@pytest.mark.parametrize("image", [
    "{r}//{victim}:git-1", "{r}/{Victim}:git-1", "{r}/{victim}/:1", "{r}/../{victim}:1", "{r}/{victim}:",
    "{r}/{victim}@sha256:abc", "{r}/{victim}:a:b", "{r}./{victim}:1", "{r}/{victim}:-x", "{r}/{victim}@@sha256:",
    "{r}/-{victim}:1", "{r}/{victim}..x:1", "{r}/{victim}:1@md5:" + "c" * 32,
])
def test_malformed_references_are_refused(owner, app_id, other_app, image):
    ref = image.format(r=REGISTRY, victim=other_app, Victim=other_app.capitalize())
    r = owner.post(f"/v2/apps/{app_id}/builds/", {"image": ref})
    assert r.status_code == 400, (ref, r.status_code, r.text)
    if r.status_code == 400:
        assert r.json()["image"], r.text
    assert owner.get(f"/v2/apps/{app_id}/builds/").json()["count"] == 0


def _passes_the_image_check(r) -> bool:
    """Registered: 201, or 400 from the deploy (no such image) rather than from the image check."""
    return r.status_code == 201 or (r.status_code == 400 and "image" not in r.json())


def test_own_repository_and_shared_apps_and_outside_registries_are_accepted(owner, app_id, new_user, admin):
    r = owner.post(f"/v2/apps/{app_id}/builds/", {"image": f"{REGISTRY}/{app_id}:git-1", "sha": "ab"})
    assert _passes_the_image_check(r), r.text
    r = owner.post(f"/v2/apps/{app_id}/builds/", {"image": f"{REGISTRY.upper()}/{app_id}@sha256:" + "d" * 64})
    assert _passes_the_image_check(r), r.text
    friend = new_user("friend")
    shared = f"shared-{secrets.token_hex(3)}"
    assert friend.post("/v2/apps/", {"id": shared}).status_code == 201
    assert friend.post(f"/v2/apps/{shared}/perms/", {"username": owner.username}).status_code == 201
    r = owner.post(f"/v2/apps/{app_id}/builds/", {"image": f"{REGISTRY}/{shared}:git-1"})
    assert _passes_the_image_check(r), r.text  # owner collaborates on it
    r = admin.post(f"/v2/apps/{app_id}/builds/", {"image": f"{REGISTRY}/{shared}:git-1"})
    assert _passes_the_image_check(r), r.text  # an administrator may use every app
    for outside in ("slipway-none", "slipway-none:1.27", "library/slipway-none@sha256:" + "e" * 64,
                    "ghcr.io/slipway-none/web:1", "docker.io/slipway-none/web", f"other.example.com:5000/{shared}:1"):
        r = owner.post(f"/v2/apps/{app_id}/builds/", {"image": outside})
        assert _passes_the_image_check(r), (outside, r.text)


@pytest.mark.parametrize("image", [
    "127.0.0.1:5001/{victim}:git-1", "localhost:5001/{victim}:git-1", "localhost/{victim}", "127.1.2.3:5000/x:1",
    "0.0.0.0:5001/{victim}:1", "169.254.169.254/x:1", "registry.localhost:5000/x:1",
])  # (IPv6 literals are refused by the request's own pattern)
def test_an_image_from_a_registry_on_the_nodes_themselves_is_refused(owner, app_id, other_app, image):
    """A node pulls from its own network: a registry named by a loopback, link-local or unspecified address (the
    platform registry's storage on its host, anything else listening there) is no outside registry."""
    ref = image.format(victim=other_app)
    r = owner.post(f"/v2/apps/{app_id}/builds/", {"image": ref})
    assert r.status_code == 400 and "on the platform's own hosts" in r.json()["image"][0], (ref, r.text)
    assert owner.get(f"/v2/apps/{app_id}/builds/").json()["count"] == 0
