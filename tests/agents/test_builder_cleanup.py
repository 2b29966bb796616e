"""What a destroyed app left on the builder goes, against the real controller: its repository, lock and cache
folder are removed by the cleanup, a living app's stay; an app made again under the destroyed one's name is a new
uuid and shares nothing with it. The layer cache of its Dockerfile builds (a local image) goes too."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import AGENTS, ROOT, SYSTEM_PYTHON
from test_live import api, user

from tests.live import live_controller


@pytest.fixture(scope="module")
def ctl():
    subprocess.run([os.path.join(ROOT, "scripts", "dev-services.sh")], check=True, capture_output=True)
    subprocess.run([os.path.join(ROOT, "scripts", "build-test-image.sh"), "web"], check=True, capture_output=True)
    with live_controller(SLIPWAY_SCHEDULER="none") as c:
        yield c


def uuid_of(ctl, token: str, app: str) -> str:
    status, body = api(ctl, "GET", f"/v2/apps/{app}/", token=token)
    assert status == 200, body
    return body["uuid"]


def run_cleanup(ctl, repos, cache, folder) -> subprocess.CompletedProcess:
    """The real agent against `ctl` with its own key (from a file, as the role gives it), for these repositories and
    cache folders."""
    key = folder / "cleanup.key"
    key.write_text(ctl.env["SLIPWAY_BUILDER_CLEANUP_KEY"] + "\n")
    config = folder / "builder.ini"
    config.write_text(f"[builder]\ncontroller_url = {ctl.url}\nbuilder_key = {ctl.builder_key}\n"
                      f"repos_dir = {repos}\n[cleanup]\ncleanup_key_file = {key}\ncache_dir = {cache}\n")
    return subprocess.run([SYSTEM_PYTHON, "-m", "slipway_agents.builder_cleanup", "--config", str(config)],
                          capture_output=True, text=True, env={"PYTHONPATH": AGENTS, "PATH": os.environ["PATH"]})


def test_cleanup_removes_what_destroyed_apps_left(ctl, tmp_path):
    token = user(ctl, "cleaner")
    for app in ("kept-app", "gone-app"):
        assert api(ctl, "POST", "/v2/apps/", {"id": app}, token)[0] == 201
    kept, gone = uuid_of(ctl, token, "kept-app"), uuid_of(ctl, token, "gone-app")
    repos, cache = tmp_path / "repos", tmp_path / "cache"
    for uuid in (kept, gone):
        (repos / f"{uuid}.git" / "objects").mkdir(parents=True)
        (repos / ".locks").mkdir(exist_ok=True)
        (repos / ".locks" / f"{uuid}.lock").write_text("")
        (cache / uuid).mkdir(parents=True)
    (repos / "not-an-app.git").mkdir()
    for uuid in (kept, gone):  # their Dockerfile builds' layer caches, as the sandbox names them
        subprocess.run(["docker", "tag", "slipway-test/web:1", f"slipway-cache/{uuid}:latest"], check=True)
    assert api(ctl, "DELETE", "/v2/apps/gone-app/", token=token)[0] == 204
    assert api(ctl, "POST", "/v2/apps/", {"id": "gone-app"}, token)[0] == 201  # the name, made again
    assert uuid_of(ctl, token, "gone-app") != gone
    run = run_cleanup(ctl, repos, cache, tmp_path)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"checked": 2, "removed": [gone], "errors": 0}
    assert sorted(p.name for p in repos.iterdir()) == sorted([".locks", f"{kept}.git", "not-an-app.git"])
    assert [p.name for p in (repos / ".locks").iterdir()] == [f"{kept}.lock"]
    assert [p.name for p in cache.iterdir()] == [kept]
    images = subprocess.run(["docker", "images", "--format", "{{.Repository}}", "slipway-cache/*"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert f"slipway-cache/{kept}" in images and f"slipway-cache/{gone}" not in images
    subprocess.run(["docker", "image", "rm", f"slipway-cache/{kept}:latest"], check=True, capture_output=True)


def test_cleanup_needs_its_own_key(ctl, tmp_path):
    """Not the builder key, which sshd's agents hold: with it alone the cleanup is refused and removes nothing."""
    (tmp_path / "repos" / "0b3f7a52-8d3e-4c6e-9a51-3f1f2d6b9e10.git").mkdir(parents=True)
    config = tmp_path / "builder.ini"
    config.write_text(f"[builder]\ncontroller_url = {ctl.url}\nbuilder_key = {ctl.builder_key}\n"
                      f"repos_dir = {tmp_path / 'repos'}\n[cleanup]\ncleanup_key = wrong\n")
    run = subprocess.run([SYSTEM_PYTHON, "-m", "slipway_agents.builder_cleanup", "--config", str(config)],
                         capture_output=True, text=True, env={"PYTHONPATH": AGENTS, "PATH": os.environ["PATH"]})
    assert run.returncode == 1 and "401" in run.stderr
    assert (tmp_path / "repos" / "0b3f7a52-8d3e-4c6e-9a51-3f1f2d6b9e10.git").is_dir()
