"""The push path's behaviours, run as the builder's hook runs the deploy (ansible-runner, slipway.paas.deploy):
the build's output streams while it runs, check mode changes nothing, and the register step follows the release
it created to `serving`, `failed` (with the controller's reason) or its timeout."""
from __future__ import annotations

import glob
import json
import os
import time
import urllib.request

from tests.controller.conftest import register

from .conftest import commit, deploy_command, run_deploy
from .test_deploy_playbook import base, ctl  # noqa: F401 (fixtures)

WEB = "web: cd /www && exec httpd -f -p $PORT -h /www\n"


def extra_vars(ctl, registry, app, sha, user, bare, **more):
    return {"slipway_app": app, "slipway_sha": sha, "slipway_user": user, "slipway_repo": str(bare),
            "slipway_registry": registry, "slipway_controller_url": ctl.url, "slipway_builder_key": ctl.builder_key,
            **more}


def new_app(ctl, name):
    user = register(ctl, name)
    return user, user.post("/v2/apps/", {}).json()["id"]


def test_the_build_output_streams_while_the_build_runs(ctl, registry, repo, base, tmp_path):  # noqa: F811
    bare, work = repo
    user, app = new_app(ctl, "streamer")
    sha = commit(work, {"Dockerfile": f"FROM {base}\n", "Procfile": WEB})
    gate = tmp_path / "gate"
    # the build prints a line, then waits until the test has seen that line in the deploy's output
    wrapper = tmp_path / "build"
    wrapper.write_text(f"#!/bin/sh\necho 'build started, waiting for the gate'\n"
                       f"while [ ! -e {gate} ]; do sleep 0.1; done\nexec \"$@\"\n")
    wrapper.chmod(0o755)
    with deploy_command(extra_vars(ctl, registry, app, sha, "streamer", bare), build_prefix=str(wrapper)) as (argv, env):
        r = run_deploy(argv, env, when_seen={"waiting for the gate": gate.touch}, timeout=300)
        events = [json.load(open(path)) for path in
                  glob.glob(os.path.join(env["SLIPWAY_TEST_RUNNER_DIR"], "artifacts", "test", "job_events", "*.json"))]
    assert r.returncode == 0, r.stdout[-3000:]
    assert r.seen_running == {"waiting for the gate"}, r.stdout[-3000:]
    lines = r.stdout.splitlines()
    assert lines.index("-----> Building") < lines.index("build started, waiting for the gate") < \
        lines.index("-----> Releasing")
    assert f"{app} v2 is serving" in r.stdout
    # ansible-runner's events hold the streamed line too (its artifacts are the push's record)
    assert any("waiting for the gate" in (e.get("stdout") or "") for e in events)
    assert "WARNING" not in r.stdout and "DEPRECATED" not in r.stdout


def test_check_mode_unpacks_builds_and_registers_nothing(ctl, registry, repo, base):  # noqa: F811
    bare, work = repo
    user, app = new_app(ctl, "checker")
    sha = commit(work, {"Dockerfile": f"FROM {base}\n", "Procfile": WEB})
    with deploy_command(extra_vars(ctl, registry, app, sha, "checker", bare)) as (argv, env):
        r = run_deploy(argv + ["--cmdline=--check"], env, timeout=300)
        left = os.listdir(env["SLIPWAY_WORKDIR"])
    assert r.returncode == 0, r.stdout[-3000:]
    assert left == []
    assert "-----> Building" in r.stdout and "-----> Done" not in r.stdout
    assert user.get(f"/v2/apps/{app}/releases/").json()["count"] == 1
    assert user.get(f"/v2/apps/{app}/builds/").json()["count"] == 0
    try:
        urllib.request.urlopen(f"http://{registry}/v2/{app}/tags/list")
        raise AssertionError("an image was pushed in check mode")
    except urllib.error.HTTPError as e:
        assert e.code == 404


def test_a_failed_release_fails_the_push_with_the_controllers_reason(ctl, registry, repo, base):  # noqa: F811
    bare, work = repo
    user, app = new_app(ctl, "failer")
    sha = commit(work, {"Dockerfile": f"FROM {base}\n", "Procfile": "web: exit 3\n"})
    with deploy_command(extra_vars(ctl, registry, app, sha, "failer", bare)) as (argv, env):
        r = run_deploy(argv, env, timeout=300)
    assert r.returncode != 0
    assert f"{app} v2 failed:" in r.stdout, r.stdout[-3000:]
    release = user.get(f"/v2/apps/{app}/releases/").json()["results"][0]
    assert release["version"] == 2


def test_a_release_still_deploying_at_the_timeout_says_how_to_follow_it(ctl, registry, repo, base):  # noqa: F811
    bare, work = repo
    user, app = new_app(ctl, "slowpoke")
    sha = commit(work, {"Dockerfile": f"FROM {base}\n", "Procfile": "web: sleep 8 && " + WEB[len("web: "):]})
    with deploy_command(extra_vars(ctl, registry, app, sha, "slowpoke", bare, slipway_deploy_timeout=1)) as (argv, env):
        r = run_deploy(argv, env, timeout=300)
    assert r.returncode != 0
    assert f"{app} v2 is still deploying after 1s" in r.stdout, r.stdout[-3000:]
    assert f"slipway releases -a {app}" in r.stdout
    deadline = time.monotonic() + 120  # the deploy goes on without the push
    while user.get(f"/v2/apps/{app}/releases/").json()["results"][0].get("state") == "deploying":
        assert time.monotonic() < deadline
        time.sleep(1)


def test_a_dockerfile_build_takes_cached_layers_from_its_own_apps_builds_only(ctl, registry, repo, base):  # noqa: F811
    """Two tenants pushing the same Dockerfile: the second builds every step itself (a layer another tenant built
    is neither reused nor revealed by a cache hit); the first one's next push takes its own layers from cache."""
    bare, work = repo
    dockerfile = f"FROM {base}\nRUN head -c 16 /dev/urandom | od -An -tx1 > /stamp\nCOPY Procfile /Procfile\n"
    sha = commit(work, {"Dockerfile": dockerfile, "Procfile": WEB})
    outputs = []
    for who in ("cachefirst", "cachesecond"):
        _user, app = new_app(ctl, who)
        with deploy_command(extra_vars(ctl, registry, app, sha, who, bare)) as (argv, env):
            r = run_deploy(argv, env, timeout=300)
        assert r.returncode == 0, r.stdout[-3000:]
        outputs.append((app, who, r.stdout))
    assert "Using cache" not in outputs[0][2] and "Using cache" not in outputs[1][2], outputs[1][2][-3000:]
    app, who, _out = outputs[0]
    sha = commit(work, {"README": "a change the Dockerfile does not copy\n"})
    with deploy_command(extra_vars(ctl, registry, app, sha, who, bare)) as (argv, env):
        r = run_deploy(argv, env, timeout=300)
    assert r.returncode == 0 and r.stdout.count("Using cache") == 2, r.stdout[-3000:]
