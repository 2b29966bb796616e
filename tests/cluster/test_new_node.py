"""Adding a node (issue 7): one more line under `nodes` in the inventory and a re-run of playbooks/site.yml.

Runs after test_cluster.py (file order), on its app (4 web tasks over node1-3, whatever the node-loss and drain
tests left active): a host container slipway-cl-node4 made like the others (molecule/cluster/add-host.yml)
and prepared like them (prepare.yml), the scenario's inventory copied with the one line added, site.yml re-run
the way molecule converge runs it while the app serves; then node4 is a Ready, active Swarm worker labelled
slipway.zone=d, and tags {"slipway.zone": "d"} move the app's web tasks there, answering through the router.
Then the node is drained and leaves the Swarm, so kept hosts rerun the suite on three nodes; its container
stays (destroy.yml removes it).
"""
from __future__ import annotations

import difflib
import json
import os
import pathlib
import re
import subprocess
import time

import pytest
import yaml

from .conftest import PREFIX, ROOT, Load, api, sh, wait_for
from .test_cluster import NODES, answering_nodes, nodes, record, spread

NEW = "node4"
LINE = f"{NEW}: {{slipway_node_labels: {{slipway.zone: d}}}}"
SCENARIO = ROOT / "molecule" / "cluster"
pytestmark = pytest.mark.timeout(5400)


def ansible_env(world) -> dict[str, str]:
    """molecule's environment for the scenario's playbooks: its provisioner env (forks, roles, collections,
    container prefix and network), its ansible.cfg and ephemeral folder (converge's controller_app snapshot)."""
    scenario = yaml.safe_load((SCENARIO / "molecule.yml").read_text())
    ephemeral = world["inventory"].parent
    env = {k: str(v).replace("${MOLECULE_PROJECT_DIRECTORY}", str(ROOT))
           for k, v in scenario["provisioner"]["env"].items()}
    env.update(SLIPWAY_CLUSTER_PREFIX=PREFIX, MOLECULE_EPHEMERAL_DIRECTORY=str(ephemeral),
               ANSIBLE_CONFIG=str(ephemeral / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
               PATH=f"{ROOT}/.venv/bin:{os.environ.get('PATH', '')}")
    return {**os.environ, **env}


def playbook(world, *args: str) -> tuple[float, dict[str, dict[str, int]]]:
    """ansible-playbook from this machine; (seconds, PLAY RECAP counts by host). Fails on a failed run."""
    started = time.monotonic()
    p = subprocess.run(["ansible-playbook", *args], env=ansible_env(world), cwd=ROOT, text=True,
                       capture_output=True, timeout=3600)
    seconds = round(time.monotonic() - started, 1)
    assert p.returncode == 0, f"{' '.join(args)}: exit {p.returncode}\n{p.stdout[-6000:]}{p.stderr[-2000:]}"
    recap = {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
             for m in re.finditer(r"^(\S+)\s+: (ok=.*)$", p.stdout, re.M)}
    return seconds, recap


def grown_inventory(world, where: pathlib.Path) -> tuple[pathlib.Path, list[str]]:
    """The scenario's inventory folder with one more line under `nodes` in its hosts file (a copy; the rest is
    linked: group_vars, the secrets, molecule's connections), and how molecule would reach the new host."""
    source = world["inventory"]
    where.mkdir()
    for entry in source.iterdir():
        if entry.name != "hosts":
            (where / entry.name).symlink_to(entry.resolve())
    before = (source / "hosts").read_text().splitlines(keepends=True)
    start = before.index("    nodes:\n") + 1
    assert before[start] == "      hosts:\n", before[start:]
    last = start + 1
    while last + 1 < len(before) and before[last + 1].startswith("        "):
        last += 1
    after = before[:last + 1] + ["        " + LINE + "\n"] + before[last + 1:]
    (where / "hosts").write_text("".join(after))
    (where / f"{NEW}-connection.yml").write_text(yaml.safe_dump({"all": {"hosts": {NEW: {
        "ansible_connection": "community.docker.docker", "ansible_host": PREFIX + NEW, "ansible_user": "root"}}}}))
    diff = [d.rstrip("\n") for d in difflib.unified_diff(before, after, "hosts", "hosts", n=0)]
    return where, [d for d in diff[2:] if not d.startswith("@@")]


def container(name: str) -> dict:
    """What `docker run` was given for a host container, with its own name written as <host>."""
    info = json.loads(subprocess.run(["docker", "inspect", PREFIX + name], text=True, capture_output=True,
                                     check=True).stdout)[0]
    given = {"HostConfig": info["HostConfig"], "Image": info["Config"]["Image"], "Cmd": info["Config"]["Cmd"],
             "Hostname": info["Config"]["Hostname"], "Labels": info["Config"]["Labels"],
             "Networks": {k: sorted(a for a in v.get("Aliases") or [] if a != info["Id"][:12])  # + its own id
                          for k, v in info["NetworkSettings"]["Networks"].items()}}
    return json.loads(json.dumps(given).replace(name, "<host>"))


def test_add_node(world, tmp_path):
    app, admin = world["app"], world["admin"]
    before = spread(world)
    assert sum(before.values()) == 4, f"run after test_cluster.py (its app with 4 web tasks): {before}"
    assert all(n["state"] == "ready" for n in nodes(world).values())
    for node, info in nodes(world).items():  # the drain test reactivates node2; make sure of every node
        assert info["availability"] == "active", (node, info)

    # 1. a host container exactly like the others, prepared like them
    playbook(world, str(SCENARIO / "add-host.yml"), "-e", f"cluster_host={NEW}")
    assert container(NEW) == container("node3")
    inventory, diff = grown_inventory(world, tmp_path / "inventory")
    record(world, "add_node_inventory_diff", diff)
    assert diff == ["+        " + LINE], diff
    seconds, recap = playbook(world, "-i", str(inventory), str(SCENARIO / "prepare.yml"), "--limit", NEW)
    assert list(recap) == [NEW], recap
    sh(NEW, "test -s /etc/systemd/system/docker.service.d/10-allow-ipv6-on-ipv4.conf")
    seeded = int(sh(NEW, "ls /var/cache/apt/archives | grep -c '[.]deb$'", check=False).stdout.strip() or 0)
    assert seeded > 0
    record(world, "add_node_prepare", {"seconds": seconds, "apt_archive_debs": seeded})

    # 2. site.yml again, as molecule converge runs it, while the app serves
    load = Load(world["domain"], "add-node", threads=1)
    seconds, recap = playbook(world, "-i", str(inventory), str(SCENARIO / "converge.yml"))
    result = load.finish()
    record(world, "add_node_site_rerun", {
        "seconds": seconds, "failed_tasks": sum(c["failed"] + c["unreachable"] for c in recap.values()),
        "changed": {h: c["changed"] for h, c in recap.items()},
        "requests": result["requests"], "failed": result["failures"], "errors": result["errors"]})
    assert NEW in recap and all(c["failed"] == 0 and c["unreachable"] == 0 for c in recap.values()), recap
    assert result["failures"] == 0, result

    # 3. a Ready, active worker with its zone, as the controller's admin API shows it
    def joined():
        found = nodes(world).get(NEW)
        return found if found and found["state"] == "ready" else None

    node = wait_for(joined, 120, 2, f"{NEW} ready in the Swarm")
    record(world, "add_node_join", {k: node[k] for k in ("state", "availability", "role", "labels", "address")})
    assert node["availability"] == "active" and node["role"] == "worker", node
    assert node["labels"].get("slipway.zone") == "d", node
    assert sorted(nodes(world)) == sorted((*NODES, NEW))

    # 4. the app's web tasks there, answering through the router; then spread again
    started = time.monotonic()
    api("POST", f"/v2/apps/{app}/config/", {"tags": {"slipway.zone": "d"}}, token=admin)
    moved = round(time.monotonic() - started, 1)
    try:
        placed = spread(world)
        by_node = answering_nodes(world, 40, (*NODES, NEW))
        record(world, "add_node_tasks", {"tag_seconds": moved, "spread": placed, "answers_by_node": by_node})
        assert placed == {NEW: 4}, placed
        assert by_node == {NEW: 40}, by_node
    finally:
        api("POST", f"/v2/apps/{app}/config/", {"tags": {"slipway.zone": None}}, token=admin)
    after = spread(world)
    assert sum(after.values()) == 4 and len(after) >= 2, after

    # 5. out again the platform's way (kept hosts then rerun tests/cluster on the inventory's three nodes):
    # drained through the controller, then it leaves the Swarm
    seconds, _ = playbook(world, "-i", str(inventory), str(ROOT / "playbooks" / "node-drain.yml"),
                          "-e", f"slipway_drain_node={NEW}")
    sh(NEW, "docker swarm leave")
    wait_for(lambda: nodes(world)[NEW]["state"] == "down", 120, 2, f"{NEW} down after leaving")
    sh("node1", f"docker node rm {NEW}")
    final = spread(world)
    record(world, "add_node_removed", {"spread_after_untag": after, "drain_seconds": seconds, "spread_after": final})
    assert sorted(nodes(world)) == list(NODES) and sum(final.values()) == 4 and NEW not in final, final
