"""The AWX job templates (awx/job_templates.yml) against the converged all-in-one host, launched as AWX launches
them (tests/awx/awxjob.py: survey defaults and checks, the "Slipway controller" credential's injectors, the
playbook through ansible-runner): the database backup and the node drain on the hosts, with the host's inventory
(inventories/local, reached over the docker connection as the machine credential would reach it over SSH), and a
config change through the controller API as users reach it (the router's HTTPS port, the platform CA as the
credential's CA)."""
from __future__ import annotations

import pathlib

import pytest

from tests.awx.awxjob import install_collection, launch

from .conftest import HOST, get, unique, wait_for
from .ops import hello_source, pushed_app

ROOT = pathlib.Path(__file__).resolve().parents[2]
INVENTORY = str(ROOT / "inventories" / "local")
HOST_VARS = {"ansible_connection": "community.docker.docker", "ansible_host": HOST}
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def collections(tmp_path_factory):
    return install_collection(tmp_path_factory.mktemp("collection"))


@pytest.fixture(scope="module")
def ca_pem(aio) -> str:
    return (ROOT / ".cache" / "e2e" / "platform-ca.crt").read_text()  # written by the aio fixture


def admin_credential(aio, ca_pem) -> dict:
    return {"url": aio["api"], "token": aio["admin_token"], "ca_cert": ca_pem}


def test_backup_template(aio, collections, tmp_path):
    job = launch("Slipway - back up the database", {}, collections=collections, inventory=INVENTORY,
                 extra_vars=HOST_VARS, workdir=str(tmp_path), timeout=1200)
    assert job.status == "successful", job.stdout[-4000:]
    assert job.extra_vars["slipway_backup_type"] == "full"  # the survey's default
    assert "(full)" in job.stdout, job.stdout[-4000:]


def node_of(aio, api) -> dict:
    _, nodes = api("GET", "/v2/nodes/")
    found = nodes["results"] if isinstance(nodes, dict) else nodes
    assert len(found) == 1, found
    return found[0]


def test_node_drain_template(aio, ca_pem, collections, tmp_path):
    from .conftest import API
    admin = API(aio["api"], aio["admin_token"])
    credentials = {"slipway": admin_credential(aio, ca_pem)}
    job = launch("Slipway - drain a node", {"slipway_drain_node": "slipway-aio", "slipway_node_availability": "active"},
                 credentials=credentials, collections=collections, inventory=INVENTORY, extra_vars=HOST_VARS,
                 workdir=str(tmp_path))
    assert job.status == "successful", job.stdout[-4000:]
    assert "is active" in job.stdout, job.stdout[-3000:]
    # the host is the platform's only node: the controller refuses to drain it, and says why
    job = launch("Slipway - drain a node", {"slipway_drain_node": "slipway-aio"}, credentials=credentials,
                 collections=collections, inventory=INVENTORY, extra_vars=HOST_VARS, workdir=str(tmp_path))
    assert job.status == "failed"
    assert "is the only active node" in job.stdout, job.stdout[-4000:]
    assert node_of(aio, admin)["availability"] == "active"


def test_config_template_serves_a_new_release(aio, user_factory, ca_pem, collections, tmp_path):
    user = user_factory("awx")
    app = pushed_app(aio, user, "awx-", hello_source("awx"))
    _, info = user.api("GET", f"/v2/apps/{app}/")
    domain = info["url"].split("://")[-1].strip("/")
    _, before = user.api("GET", f"/v2/apps/{app}/releases/?limit=1")
    token = user.api.token
    job = launch("Slipway - change config", {"slipway_app": app, "slipway_config_set": f"AWX_MARK={unique('m')}"},
                 credentials={"slipway": {"url": aio["api"], "token": token, "ca_cert": ca_pem}},
                 collections=collections, workdir=str(tmp_path))
    assert job.status == "successful", job.stdout[-4000:]
    _, after = user.api("GET", f"/v2/apps/{app}/releases/?limit=1")
    assert after["results"][0]["version"] == before["results"][0]["version"] + 1
    _, config = user.api("GET", f"/v2/apps/{app}/config/")
    assert config["values"]["AWX_MARK"] == job.extra_vars["slipway_config_set"].split("=", 1)[1]
    status, body = wait_for(lambda: (lambda r: r if r[0] == 200 else None)(get(domain)), 60, message=f"{app} serving")
    assert status == 200 and body.startswith("awx"), body
