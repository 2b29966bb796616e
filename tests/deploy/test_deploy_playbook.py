"""playbooks/deploy.yml for real: git archive → docker build → registry push → controller release on Swarm."""
from __future__ import annotations

import json
import os
import subprocess
import urllib.request

import pytest

from tests.controller.conftest import register
from tests.controller.deployhelp import endpoints, fetch
from tests.live import ROOT, live_controller

from .conftest import commit, deploy_command


@pytest.fixture(scope="module")
def base(ctl, registry) -> str:
    """The test web image in the registry: a build pulls every FROM image from its registry (never a local one)."""
    ref = f"{registry}/slipway-test/web:1"
    subprocess.run(["docker", "tag", "slipway-test/web:1", ref], check=True)
    subprocess.run(["docker", "push", "--quiet", ref], check=True, capture_output=True)
    return ref


@pytest.fixture(scope="module")
def ctl():
    subprocess.run([os.path.join(ROOT, "scripts/build-test-image.sh"), "web"], check=True)
    with live_controller(SLIPWAY_HEALTH_TIMEOUT="15", SLIPWAY_DRAIN_SECONDS="0") as controller:
        yield controller


def deploy(ctl, registry, app, sha, user, bare, token_app=None) -> subprocess.CompletedProcess:
    extra = {"slipway_app": app, "slipway_sha": sha, "slipway_user": user, "slipway_repo": str(bare),
             "slipway_registry": registry, "slipway_controller_url": ctl.url, "slipway_builder_key": ctl.builder_key}
    with deploy_command(extra, token_app) as (argv, env):
        return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


def test_push_builds_releases_and_serves(ctl, registry, repo, base):
    bare, work = repo
    user = register(ctl, "dev")
    app = user.post("/v2/apps/", {}).json()["id"]
    sha = commit(work, {"Dockerfile": f"FROM {base}\nRUN echo one > /www/version\n"})
    r = deploy(ctl, registry, app, sha, "dev", bare)
    assert r.returncode == 0, r.stdout[-3000:]
    assert f"{app} v2 is serving" in r.stdout
    eps = endpoints(ctl, app)
    assert fetch(eps[0], "/version").strip() == "one"
    tags = json.load(urllib.request.urlopen(f"http://{registry}/v2/{app}/tags/list"))["tags"]
    assert tags == [f"git-{sha[:8]}"]
    build = user.get(f"/v2/apps/{app}/builds/").json()["results"][0]
    assert build["sha"] == sha and build["procfile"] == {}

    # a Procfile names the process types; the config set since then is in the new release, not the image
    user.post(f"/v2/apps/{app}/config/", {"values": {"SECRET_TOKEN": "s3cr3t-value"}})
    sha2 = commit(work, {"Procfile": "web: cd /www && exec httpd -f -p $PORT -h /www\n# a comment\n",
                         "Dockerfile": f"FROM {base}\nRUN echo two > /www/version\n"})
    r = deploy(ctl, registry, app, sha2, "dev", bare)
    assert r.returncode == 0, r.stdout[-3000:]
    assert fetch(endpoints(ctl, app)[0], "/version").strip() == "two"
    assert user.get(f"/v2/apps/{app}/").json()["structure"] == {"web": 1}
    image = f"{registry}/{app}:git-{sha2[:8]}"
    inspect = subprocess.run(["docker", "image", "inspect", image], capture_output=True, text=True).stdout
    history = subprocess.run(["docker", "image", "history", "--no-trunc", image], capture_output=True,
                             text=True).stdout
    assert "s3cr3t-value" not in inspect + history

    # a broken Dockerfile fails the deploy with the build error; the running release is untouched
    sha3 = commit(work, {"Dockerfile": f"FROM {base}\nRUN exit 42\n"})
    r = deploy(ctl, registry, app, sha3, "dev", bare)
    assert r.returncode != 0
    assert "42" in r.stdout
    assert fetch(endpoints(ctl, app)[0], "/version").strip() == "two"
    assert user.get(f"/v2/apps/{app}/releases/").json()["count"] == 4  # v1, v2, config v3, v4; nothing for sha3


def test_no_dockerfile_and_other_users_app_are_refused(ctl, registry, repo, base):
    bare, work = repo
    owner = register(ctl, "owner2")
    app = owner.post("/v2/apps/", {}).json()["id"]
    stranger = register(ctl, "stranger")
    theirs = stranger.post("/v2/apps/", {}).json()["id"]
    sha = commit(work, {"README": "no Dockerfile here\n"})
    r = deploy(ctl, registry, app, sha, "owner2", bare)
    assert r.returncode != 0 and "no Dockerfile" in r.stdout
    # a buildpack build reads the app's config first: the token of a stranger's push to their own app gets
    # nothing of another app's, and no build runs
    r = deploy(ctl, registry, app, sha, "stranger", bare, token_app=theirs)
    assert r.returncode != 0 and f"This push token is for {theirs}, not {app}" in r.stdout
    assert "no Dockerfile" not in r.stdout
    sha = commit(work, {"Dockerfile": f"FROM {base}\n"})
    r = deploy(ctl, registry, app, sha, "stranger", bare, token_app=theirs)
    assert r.returncode != 0 and f"This push token is for {theirs}, not {app}" in r.stdout
    assert owner.get(f"/v2/apps/{app}/releases/").json()["count"] == 1
