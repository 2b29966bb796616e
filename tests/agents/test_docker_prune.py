"""slipway-docker-prune's choice of images (the e2e hygiene test runs the agent itself on the all-in-one host's
Docker Engine: pruning this machine's shared engine would remove other suites' images)."""
from __future__ import annotations

import subprocess

from conftest import AGENTS, SYSTEM_PYTHON

from slipway_agents.docker_prune import choose
from slipway_agents.jobs import timestamp

HOUR = 3600.0
NOW = 1_800_000_000.0


def image(ident: str, names: list[str], age_hours: float) -> dict:
    return {"id": ident, "names": names, "repositories": sorted({n.rsplit(":", 1)[0] for n in names}),
            "created": NOW - age_hours * HOUR}


def test_keeps_what_the_platform_needs():
    images = [
        image("stack", ["slipway/stack:trixie"], 500),                        # builds start from it
        image("stack-reg", ["reg:5000/slipway/stack:trixie"], 500),
        image("a1", ["reg:5000/app-a:git-1"], 100),
        image("a2", ["reg:5000/app-a:git-2"], 90),
        image("a3", ["reg:5000/app-a:git-3"], 80),
        image("a4", ["reg:5000/app-a:git-4"], 70),                            # the newest two of app-a stay
        image("b1", ["reg:5000/app-b:git-1"], 100),                           # a container uses it
        image("c1", ["reg:5000/app-c:git-1"], 1),                             # recent
        image("d1", ["reg:5000/gone:git-1", "reg:5000/gone:latest"], 1000),   # too old to keep; both names go
        image("dangling", [], 100),
    ]
    remove, why = choose(images, {"b1"}, NOW - 24 * HOUR, 2, ["slipway/stack:*", "*/slipway/stack:*"],
                         NOW - 720 * HOUR)
    assert sorted(i["id"] for i in remove) == ["a1", "a2", "d1"]
    assert why["stack"] == why["stack-reg"] == "protected"
    assert why["b1"] == "a container uses it" and why["c1"] == "recent"
    assert why["a3"] == why["a4"] == "among the 2 newest of its repository"
    assert why["dangling"].startswith("untagged")


def test_keep_none_per_repository():
    images = [image("a1", ["r/app:1"], 48), image("a2", ["r/app:2"], 30)]
    remove, _ = choose(images, set(), NOW - 24 * HOUR, 0, [])
    assert sorted(i["id"] for i in remove) == ["a1", "a2"]


def test_docker_and_registry_times():
    assert timestamp("2026-11-26T03:14:58.334566811Z") == timestamp("2026-11-26T03:14:58.334566+00:00")
    assert timestamp("2026-11-26T03:14:58") == timestamp("2026-11-26T03:14:58Z")


def test_runs_on_the_hosts_python():
    """The agent imports on the system Python the hosts use (stdlib only) and explains itself."""
    p = subprocess.run([SYSTEM_PYTHON, "-m", "slipway_agents.docker_prune", "--help"], capture_output=True,
                       text=True, env={"PYTHONPATH": AGENTS})
    assert p.returncode == 0 and "--dry-run" in p.stdout, p.stderr
