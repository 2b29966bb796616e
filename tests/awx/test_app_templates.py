"""The app job templates (deploy an image, change config, roll back, scale) launched as AWX launches them, with a
"Slipway controller" credential, against a live controller deploying on the real Swarm: what the user checks
afterwards is the API's releases, config and processes, and the app's own answers."""
from __future__ import annotations

import secrets

import pytest

from tests.controller.deployhelp import WEB, endpoints, fetch

DEPLOY, CONFIG, ROLLBACK, SCALE = ("Slipway - deploy an image", "Slipway - change config", "Slipway - roll back",
                                   "Slipway - scale")


def answers(ep) -> str:
    return fetch(ep).split(" host=")[0]


@pytest.fixture
def deployed(run, credential, user, ctl):
    """A new app made and deployed by the deploy template (create the app: yes): release v2 serves."""
    app = f"awx-{secrets.token_hex(3)}"
    job = run(DEPLOY, {"slipway_app": app, "slipway_image": WEB, "slipway_sha": "b" * 40, "slipway_create_app": "yes"},
              credentials={"slipway": credential})
    assert job.status == "successful", job.stdout[-4000:]
    yield app
    user.delete(f"/v2/apps/{app}/")


def test_deploy_an_image(deployed, user, ctl):
    release = user.get(f"/v2/apps/{deployed}/releases/v2/").json()
    assert release["summary"] == f"{user.username} deployed bbbbbbb", release
    assert user.get(f"/v2/apps/{deployed}/").json()["structure"] == {"cmd": 1}
    [ep] = endpoints(ctl, deployed)
    assert answers(ep) == "hello release=v2"


def test_deploy_with_a_procfile_to_an_existing_app(run, credential, deployed, user, ctl):
    job = run(DEPLOY, {"slipway_app": deployed, "slipway_image": WEB,
                       "slipway_procfile": "# the image's server\nweb: /app/start\n"},
              credentials={"slipway": credential})
    assert job.status == "successful", job.stdout[-4000:]
    assert job.result("Deploy the image (a new release, once it serves)")["release"]["version"] == 3
    build = user.get(f"/v2/apps/{deployed}/builds/").json()["results"][0]
    assert build["procfile"] == {"web": "/app/start"}
    assert user.get(f"/v2/apps/{deployed}/").json()["structure"].get("web") == 1
    assert [answers(ep) for ep in endpoints(ctl, deployed)] == ["hello release=v3"]


def test_deploy_to_a_missing_app_fails_unless_asked_to_create_it(run, credential, user):
    job = run(DEPLOY, {"slipway_app": "awx-missing-app", "slipway_image": WEB}, credentials={"slipway": credential})
    assert job.status == "failed"
    assert "404" in job.result("Deploy the image (a new release, once it serves)")["msg"]
    assert user.get("/v2/apps/awx-missing-app/").status_code == 404


def test_config_change_serves_a_new_release(run, credential, deployed, user, ctl):
    job = run(CONFIG, {"slipway_app": deployed, "slipway_config_set": "MESSAGE=bonjour\n# a comment\nDSN=pg://u@h/db?a=b",
                       "slipway_config_unset": ""}, credentials={"slipway": credential})
    assert job.status == "successful", job.stdout[-4000:]
    assert "v3 serves; set DSN, MESSAGE, unset nothing" in job.stdout
    assert "pg://u@h/db" not in job.stdout  # values stay out of the job's output
    values = user.get(f"/v2/apps/{deployed}/config/").json()["values"]
    assert values == {"MESSAGE": "bonjour", "DSN": "pg://u@h/db?a=b"}
    [ep] = endpoints(ctl, deployed)
    assert answers(ep) == "bonjour release=v3"
    assert fetch(ep, "/env/DSN").strip() == "pg://u@h/db?a=b"
    job = run(CONFIG, {"slipway_app": deployed, "slipway_config_unset": "MESSAGE, DSN"},
              credentials={"slipway": credential})
    assert job.status == "successful", job.stdout[-4000:]
    assert user.get(f"/v2/apps/{deployed}/config/").json()["values"] == {}
    [ep] = endpoints(ctl, deployed)
    assert answers(ep) == "hello release=v4"
    again = run(CONFIG, {"slipway_app": deployed, "slipway_config_unset": "MESSAGE"},
                credentials={"slipway": credential})
    assert again.status == "successful" and "nothing to change" in again.stdout
    assert user.get(f"/v2/apps/{deployed}/releases/").json()["count"] == 4


def test_survey_jinja_is_not_templated(run, credential, deployed, user):
    job = run(CONFIG, {"slipway_app": deployed, "slipway_config_set": "GREETING={{ lookup('env', 'SLIPWAY_TOKEN') }}"},
              credentials={"slipway": credential})
    assert job.status == "successful", job.stdout[-4000:]
    assert user.get(f"/v2/apps/{deployed}/config/").json()["values"] == {
        "GREETING": "{{ lookup('env', 'SLIPWAY_TOKEN') }}"}


def test_rollback(run, credential, deployed, user, ctl):
    assert user.post(f"/v2/apps/{deployed}/config/", {"values": {"MESSAGE": "broken"}}).status_code == 201
    assert answers(endpoints(ctl, deployed)[0]) == "broken release=v3"
    job = run(ROLLBACK, {"slipway_app": deployed}, credentials={"slipway": credential})
    assert job.status == "successful", job.stdout[-4000:]
    assert "now serves v4, the build and config of v2" in job.stdout
    assert user.get(f"/v2/apps/{deployed}/config/").json()["values"] == {}
    assert user.get(f"/v2/apps/{deployed}/releases/v4/").json()["summary"] == f"{user.username} rolled back to v2"
    [ep] = endpoints(ctl, deployed)
    assert answers(ep) == "hello release=v4"
    job = run(ROLLBACK, {"slipway_app": deployed, "slipway_release_version": "v3"}, credentials={"slipway": credential})
    assert job.status == "successful", job.stdout[-4000:]
    assert answers(endpoints(ctl, deployed)[0]) == "broken release=v5"
    again = run(ROLLBACK, {"slipway_app": deployed, "slipway_release_version": "3"},
                credentials={"slipway": credential})
    assert again.status == "successful" and "already serves v5" in again.stdout
    assert user.get(f"/v2/apps/{deployed}/releases/").json()["count"] == 5


def test_scale(run, credential, deployed, user, ctl):
    job = run(SCALE, {"slipway_app": deployed, "slipway_process_type": "cmd", "slipway_process_count": 3},
              credentials={"slipway": credential})
    assert job.status == "successful", job.stdout[-4000:]
    assert f"{deployed} runs cmd: 3" in job.stdout
    assert user.get(f"/v2/apps/{deployed}/").json()["structure"] == {"cmd": 3}
    eps = endpoints(ctl, deployed)
    assert len(eps) == 3 and len({fetch(e).split("host=")[1] for e in eps}) == 3
    assert all(answers(e) == "hello release=v2" for e in eps)
    job = run(SCALE, {"slipway_app": deployed, "slipway_process_type": "cmd", "slipway_process_count": 1},
              credentials={"slipway": credential})
    assert job.status == "successful", job.stdout[-4000:]
    assert len(endpoints(ctl, deployed)) == 1
    job = run(SCALE, {"slipway_app": deployed, "slipway_process_type": "worker", "slipway_process_count": 1},
              credentials={"slipway": credential})
    assert job.status == "failed"  # the app has no such process type: the controller says so
    assert "worker" in job.result("Scale (the job waits until the processes run)")["msg"]
    assert user.get(f"/v2/apps/{deployed}/").json()["structure"] == {"cmd": 1}
