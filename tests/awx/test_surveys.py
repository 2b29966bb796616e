"""The job templates' surveys: in AWX's shape, pointing at playbooks that exist and use every survey variable; AWX's
own checks refuse out-of-range answers, and each playbook refuses bad input (as extra variables given without the
survey) with a message that says what is expected, before it changes anything."""
from __future__ import annotations

import pytest

from .awxjob import ROOT, TEMPLATES, SurveyError, launch

TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
EXPECTED = {"Slipway - converge the site", "Slipway - upgrade the platform", "Slipway - deploy an image",
            "Slipway - change config", "Slipway - roll back", "Slipway - scale", "Slipway - back up the database",
            "Slipway - restore the database", "Slipway - drain a node"}
# hosts no job may reach: a check that fails must stop the job before any of them is contacted
UNREACHABLE = ("[slipway:children]\ndatabase\ncontroller\nnodes\n[database]\ndb1\n[controller]\nctl1\n[nodes]\nnode1\n"
               "[all:vars]\nansible_host=127.0.0.1\nansible_port=9\nansible_connection=ssh\n")


def test_every_operation_has_a_template():
    assert set(TEMPLATES) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_template_shape(name):
    t = TEMPLATES[name]
    playbook = ROOT / t["playbook"]
    assert playbook.is_file(), playbook
    assert t["credentials"] and set(t["credentials"]) <= {"machine", "slipway"}
    api_only = "hosts: localhost" in playbook.read_text()
    assert ("machine" in t["credentials"]) != api_only, "host playbooks need a machine credential, API ones not"
    spec = t["survey_spec"]
    assert spec["name"] and spec["description"] and spec["spec"]
    variables = [q["variable"] for q in spec["spec"]]
    assert len(variables) == len(set(variables))
    text = playbook.read_text()
    for q in spec["spec"]:
        assert q["question_name"] and q["type"] in TYPES and isinstance(q["required"], bool), q
        assert q["variable"] in text, f"{q['variable']} is not used by {t['playbook']}"
        if q["type"] in ("multiplechoice", "multiselect"):
            assert q["choices"], q
            if q["type"] == "multiplechoice":
                assert q["default"] in q["choices"], q


def test_awx_refuses_answers_out_of_the_survey(collections):
    with pytest.raises(SurveyError, match="'slipway_process_count' value 101 is too large"):
        launch("Slipway - scale", {"slipway_app": "shop", "slipway_process_count": 101}, collections=collections)
    with pytest.raises(SurveyError, match="'slipway_app' value missing"):
        launch("Slipway - roll back", {}, collections=collections)
    with pytest.raises(SurveyError, match="expected to be one of"):
        launch("Slipway - back up the database", {"slipway_backup_type": "weekly"}, collections=collections)


API = "https://127.0.0.1:9"  # nothing listens there: a job that got past its checks would fail to connect instead
CASES = [
    ("Slipway - deploy an image", {"slipway_app": "Shop_1", "slipway_image": "web:1"}, "slipway_app must be an app id"),
    ("Slipway - deploy an image", {"slipway_app": "shop", "slipway_image": "web:1 --privileged"},
     "slipway_image an image reference without spaces"),
    ("Slipway - deploy an image", {"slipway_app": "shop", "slipway_image": "web:1", "slipway_wait_url": "file:///etc"},
     "slipway_wait_url empty or an http(s) URL"),
    ("Slipway - deploy an image", {"slipway_app": "shop", "slipway_image": "web:1", "slipway_procfile": "web"},
     "Procfile line 1 is not 'type: command'"),
    ("Slipway - change config", {"slipway_app": "shop", "slipway_config_set": "GOOD=1\nbad line\n1X=2"},
     "Not KEY=VALUE: bad line, 1X=..."),
    ("Slipway - change config", {"slipway_app": "shop", "slipway_config_unset": "OK, not-a-key"},
     "Not a key: not-a-key"),
    ("Slipway - change config", {"slipway_app": "shop", "slipway_config_set": "A=1", "slipway_config_unset": "A"},
     "each key once, in one of the two"),
    ("Slipway - change config", {"slipway_app": "shop"}, "at least one key in all"),
    ("Slipway - roll back", {"slipway_app": "shop", "slipway_release_version": "last"},
     "slipway_release_version empty or a release such as 3 or v3"),
    ("Slipway - scale", {"slipway_app": "shop", "slipway_process_type": "Web!", "slipway_process_count": 1},
     "slipway_process_type a process type"),
]


@pytest.mark.parametrize("name,answers,message", CASES, ids=[f"{c[0][10:]}-{i}" for i, c in enumerate(CASES)])
def test_api_playbooks_refuse_bad_input(collections, tmp_path, name, answers, message):
    job = launch(name, answers, collections=collections, workdir=str(tmp_path),
                 credentials={"slipway": {"url": API, "token": "t"}})
    assert job.status == "failed"
    assert message in job.stdout, job.stdout[-3000:]
    assert "Connection refused" not in job.stdout  # refused before any call to the controller


def test_api_playbooks_need_the_slipway_credential(collections, tmp_path):
    job = launch("Slipway - scale", {"slipway_app": "shop"}, collections=collections, workdir=str(tmp_path))
    assert job.status == "failed" and "SLIPWAY_URL is not set" in job.stdout, job.stdout[-3000:]


HOST_CASES = [
    ("Slipway - back up the database", {"slipway_backup_type": "weekly"}, "slipway_backup_type must be full, diff or incr"),
    ("Slipway - restore the database", {"slipway_restore_target": "yesterday"},
     "slipway_restore_target must be empty (the latest archived state) or a time with its zone"),
    ("Slipway - drain a node", {"slipway_drain_node": "db1"}, "-e slipway_drain_node=<a host of the nodes group>"),
    ("Slipway - drain a node", {"slipway_drain_node": "node1", "slipway_node_availability": "pause"},
     "slipway_node_availability=drain|active"),
    ("Slipway - converge the site", {"slipway_site_skip": "database"},
     "slipway_site_skip must be a list of components"),
    ("Slipway - converge the site", {"slipway_site_skip": ["databse"]},
     "slipway_site_skip must be a list of components"),
    ("Slipway - upgrade the platform", {"slipway_upgrade_serial": "0"},
     "slipway_upgrade_serial must be a whole number from 1 to 999"),
]


@pytest.mark.parametrize("name,answers,message", HOST_CASES, ids=[f"{c[0][10:]}-{i}" for i, c in enumerate(HOST_CASES)])
def test_host_playbooks_refuse_bad_input_before_reaching_a_host(collections, tmp_path, name, answers, message,
                                                                monkeypatch):
    # given as extra variables (the API, or a survey not in use), so only the playbook's own check applies
    monkeypatch.setitem(TEMPLATES[name], "survey_spec", {"name": "-", "description": "-", "spec": []})
    job = launch(name, answers, collections=collections, workdir=str(tmp_path), inventory=UNREACHABLE)
    assert job.status == "failed"
    assert message in job.stdout, job.stdout[-3000:]
    assert not [f for f in job.failures() if f.get("event") == "runner_on_unreachable"]
    assert "UNREACHABLE" not in job.stdout, job.stdout[-3000:]


GOOD_HOST_ANSWERS = [
    ("Slipway - back up the database", {"slipway_backup_type": "incr"}),
    ("Slipway - restore the database", {"slipway_restore_target": "2026-11-26 04:00:00.123456+00",
                                        "slipway_restore_backup_after": "false"}),
    ("Slipway - drain a node", {"slipway_drain_node": "node1", "slipway_node_availability": "active"}),
    ("Slipway - converge the site", {"slipway_site_skip": ["router", "monitor"]}),
    ("Slipway - upgrade the platform", {"slipway_upgrade_serial": 2}),
]


@pytest.mark.parametrize("name,answers", GOOD_HOST_ANSWERS, ids=[c[0][10:] for c in GOOD_HOST_ANSWERS])
def test_host_playbooks_take_good_answers_to_the_hosts(collections, tmp_path, name, answers):
    """Past the checks, the job goes on to the hosts (here unreachable: nothing is changed anywhere)."""
    job = launch(name, answers, collections=collections, workdir=str(tmp_path), inventory=UNREACHABLE)
    assert "Invalid request" not in job.stdout, job.stdout[-3000:]
    assert "UNREACHABLE" in job.stdout, job.stdout[-3000:]
