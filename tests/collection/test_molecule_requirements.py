"""molecule/requirements.yml holds every collection a scenario's driver requires. Molecule checks them before the
dependency step runs, and Galaxy is out of reach, so one that is missing fails `make test` on a fresh clone."""
from __future__ import annotations

import os

import yaml
from molecule_plugins.docker.driver import Docker
from packaging.version import Version

from tests.collection.conftest import ROOT


def pinned() -> dict[str, str]:
    with open(os.path.join(ROOT, "molecule", "requirements.yml")) as f:
        return {c["name"]: c["version"] for c in yaml.safe_load(f)["collections"]}


def drivers() -> set[str]:
    names = set()
    for scenario in os.listdir(os.path.join(ROOT, "molecule")):
        path = os.path.join(ROOT, "molecule", scenario, "molecule.yml")
        if os.path.exists(path):
            with open(path) as f:
                names.add(yaml.safe_load(f)["driver"]["name"])
    return names


def test_the_docker_driver_finds_what_it_requires_pinned():
    assert "docker" in drivers()
    wants = pinned()
    for name, minimum in Docker.required_collections.fget(None).items():
        assert name in wants, f"{name} (required by molecule's docker driver) is not in molecule/requirements.yml"
        assert Version(wants[name]) >= Version(minimum), (name, wants[name], minimum)


def test_no_scenario_uses_a_driver_whose_requirements_go_unchecked():
    assert drivers() <= {"docker", "default"}
