"""A `config:set` racing a push: the builder's hook reports the release it created (not whichever is newest
when its deploy ends), and both releases exist, numbered in the order they were made."""
from __future__ import annotations

import threading
import time

from .deployhelp import endpoints, fetch
from .hookhelp import app_image, follow_until_settled
from .test_push_tokens import hook, push_token


def test_the_hook_reports_its_own_release_while_a_config_set_races_it(ctl, owner, app_id):
    image = app_image(app_id)
    token = push_token(ctl, owner.username, app_id)["push_token"]
    answers = {}
    pusher = threading.Thread(target=lambda: answers.update(
        hook=hook(ctl, "build", token, {"image": image, "sha": "abc1234"})))
    pusher.start()
    deadline = time.monotonic() + 60
    while 2 not in [r["version"] for r in owner.get(f"/v2/apps/{app_id}/releases/").json()["results"]]:
        assert time.monotonic() < deadline, "the hook never made its release"
        time.sleep(0.02)
    # the push's release v2 exists and is deploying: a config change makes v3 meanwhile
    r = owner.post(f"/v2/apps/{app_id}/config/", {"values": {"MESSAGE": "raced"}})
    assert r.status_code == 201, r.text
    pusher.join(180)

    answer = answers["hook"]
    assert answer.status_code == 201, answer.text
    assert answer.json()["release"]["version"] == 2, answer.text
    settled = follow_until_settled(ctl, token, 2)
    assert settled["version"] == 2 and settled["state"] == "serving", settled

    found = {r["version"]: r for r in owner.get(f"/v2/apps/{app_id}/releases/").json()["results"]}
    assert sorted(found) == [1, 2, 3]
    assert found[2]["summary"] == f"{owner.username} deployed abc1234" and not found[2]["failed"]
    assert "MESSAGE" in found[3]["summary"] and not found[3]["failed"]
    assert found[3]["build"] == found[2]["build"] == answer.json()["build"]
    assert fetch(endpoints(ctl, app_id)[0]).startswith("raced release=v3")  # the newest release serves
