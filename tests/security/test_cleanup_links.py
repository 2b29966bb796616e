"""A tenant's links against the builder's cleanup (agents/slipway_agents/builder_cleanup.py, run daily as root).

A tenant's build writes whatever it likes into its app's buildpack cache folder, links included. Once the app is
destroyed, root's cleanup removes that folder: it must remove the tenant's links, never what they point at (another
app's repository, a platform file), even when the app's cache, repository or lock entry is itself a link. The
real agent runs against a real controller (its own database) with the builder key."""
from __future__ import annotations

import json
import os
import sys

from tests.live import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "agents"))
from test_builder_cleanup import ctl, run_cleanup, uuid_of  # noqa: E402,F401  (ctl: the fixture)
from test_live import api, user  # noqa: E402


def test_a_destroyed_apps_links_go_and_what_they_point_at_stays(ctl, tmp_path):
    victim_token, thief_token = user(ctl, "victim"), user(ctl, "thief")
    assert api(ctl, "POST", "/v2/apps/", {"id": "victim-app"}, victim_token)[0] == 201
    assert api(ctl, "POST", "/v2/apps/", {"id": "thief-app"}, thief_token)[0] == 201
    assert api(ctl, "POST", "/v2/apps/", {"id": "thief-two"}, thief_token)[0] == 201
    victim, thief, second = (uuid_of(ctl, t, a) for t, a in ((victim_token, "victim-app"),
                                                              (thief_token, "thief-app"), (thief_token, "thief-two")))
    repos, cache, platform = tmp_path / "repos", tmp_path / "cache", tmp_path / "platform"
    (repos / ".locks").mkdir(parents=True)
    (repos / f"{victim}.git" / "objects").mkdir(parents=True)
    (repos / f"{victim}.git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repos / f"{thief}.git").mkdir()
    platform.mkdir()
    (platform / "builder.ini").write_text("builder_key = secret\n")
    # what the thief's builds left in their cache: links to the victim's repository and to platform files,
    # at the top and deep down
    loot = cache / thief / "deep" / "er"
    loot.mkdir(parents=True)
    (cache / thief / "repo").symlink_to(repos / f"{victim}.git")
    (loot / "etc").symlink_to(platform)
    (loot / "key").symlink_to(platform / "builder.ini")
    # the second app's own entries are links themselves (had a build swapped them)
    (cache / second).symlink_to(repos / f"{victim}.git")
    (repos / f"{second}.git").symlink_to(platform)
    (repos / ".locks" / f"{second}.lock").symlink_to(platform / "builder.ini")
    for app in ("thief-app", "thief-two"):
        assert api(ctl, "DELETE", f"/v2/apps/{app}/", token=thief_token)[0] == 204

    run = run_cleanup(ctl, repos, cache, tmp_path)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"checked": 3, "removed": sorted([thief, second]), "errors": 0}

    assert sorted(p.name for p in repos.iterdir()) == [".locks", f"{victim}.git"]
    assert list((repos / ".locks").iterdir()) == [] and list(cache.iterdir()) == []
    assert (repos / f"{victim}.git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert (repos / f"{victim}.git" / "objects").is_dir()
    assert (platform / "builder.ini").read_text() == "builder_key = secret\n"
