"""The roles' defaults, rendered by Ansible itself for three layouts: where callers reach the controller (one rule,
plugins/filter/controller_url.py), where the controller listens and with what, and which CA dockerd trusts for its
clients. The all-in-one and the example layout keep the controller on loopback over plain HTTP; a router on another
host moves it to HTTPS on its platform address; the operator's slipway_controller_url wins everywhere."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
ROLES = ("common", "controller", "router", "builder", "registry", "node")
SHOWN = {
    "router": "slipway_router_controller_url",
    "builder": "slipway_builder_controller_url",
    "registry": "slipway_registry_controller_url",
    "node_agent": "slipway_node_agent_controller_url",
    "tls": "slipway_controller_tls | bool",
    "listen": "slipway_controller_listen_address",
    "own_url": "__slipway_controller_url",
    "docker_env": "__slipway_controller_docker_env if slipway_controller_docker_tls | bool else {}",
    "dockerd": "__slipway_node_tls_options if slipway_node_docker_tls | bool else {}",
    "platform": "__slipway_common_firewall_platform",
    "task_clients": "__slipway_node_task_clients",
}
PLAYBOOK = {
    "name": "Render the defaults",
    "hosts": "all",
    "gather_facts": False,
    "vars_files": [f"{ROOT}/roles/{r}/{kind}/main.yml" for r in ROLES for kind in ("defaults", "vars")],
    "tasks": [{"name": "Write them", "delegate_to": "localhost",
               "ansible.builtin.copy": {"dest": "{{ out }}/{{ inventory_hostname }}.json",
                                        "content": "{{ {" + ", ".join(f"'{k}': ({v})" for k, v in SHOWN.items())
                                                   + "} | to_json }}"}}],
}
SPLIT = {"slipway": {"vars": {"ansible_python_interpreter": sys.executable}, "children": {
    "controller": {"hosts": {"control": {"ansible_default_ipv4": {"address": "192.0.2.11"}}}},
    "registry": {"hosts": {"control": None}}, "builder": {"hosts": {"control": None}},
    "router": {"hosts": {"edge": {"ansible_default_ipv4": {"address": "192.0.2.20"}}}},
    "database": {"hosts": {"data": {  # two network cards, and Docker's bridge
        "ansible_default_ipv4": {"address": "192.0.2.12"}, "ansible_interfaces": ["lo", "eth0", "eth1", "docker0"],
        "ansible_lo": {"ipv4": {"address": "127.0.0.1"}}, "ansible_eth0": {"ipv4": {"address": "192.0.2.12"}},
        "ansible_eth1": {"ipv4": {"address": "198.51.100.12"}, "ipv4_secondaries": [{"address": "198.51.100.13"}]},
        "ansible_docker0": {"ipv4": {"address": "172.17.0.1"}}}}},
    "nodes": {"hosts": {"node1": {"slipway_node_swarm_role": "manager",
                                  "ansible_default_ipv4": {"address": "192.0.2.13"}}}}}}}


@pytest.fixture(scope="module")
def render(tmp_path_factory):
    base = tmp_path_factory.mktemp("layouts")
    (base / "ansible_collections" / "slipway").mkdir(parents=True)
    (base / "ansible_collections" / "slipway" / "paas").symlink_to(ROOT)
    (base / "play.yml").write_text(yaml.safe_dump([PLAYBOOK], sort_keys=False))
    (base / "split.yml").write_text(yaml.safe_dump(SPLIT))
    (base / "ansible.cfg").write_text("[defaults]\n")

    def run(inventory: str, *extra: str) -> dict:
        out = tmp_path_factory.mktemp("out")
        env = dict(os.environ, ANSIBLE_CONFIG=str(base / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(base))
        playbook = str(base / "play.yml")
        p = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", inventory, "-c", "local", playbook,
                            "-e", f"out={out}", "-e", f"ansible_python_interpreter={sys.executable}",
                            "-e", "ansible_become=false", *extra],
                           env=env, cwd=str(base), capture_output=True, text=True, timeout=300, check=False)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
        return {f[:-5]: json.loads((out / f).read_text()) for f in os.listdir(out)}

    run.split = str(base / "split.yml")
    return run


def test_all_in_one_is_loopback_over_plain_http(render):
    aio = render(f"{ROOT}/inventories/local/hosts.yml")["slipway-aio"]
    assert {aio[k] for k in ("router", "builder", "registry", "node_agent", "own_url")} == {"http://127.0.0.1:8000"}
    assert aio["tls"] is False and aio["listen"] == "127.0.0.1"
    assert aio["dockerd"] == {} and aio["docker_env"] == {}  # the local socket only


def test_the_example_layout_serves_its_nodes_agents_over_https(render):
    hosts = render(f"{ROOT}/inventories/example/hosts.yml")
    control = hosts["control"]
    callers = {control[k] for k in ("router", "builder", "registry", "own_url")}
    assert callers | {hosts[n]["node_agent"] for n in ("node1", "node2", "node3")} == {"https://control:8000"}
    assert control["tls"] is True  # on its platform address (facts decide which: see the split layout)
    # the controller's Docker client: its own certificate of the Docker client CA; the daemon checked with the
    # platform CA
    assert control["docker_env"]["SLIPWAY_DOCKER_TLS_CA"] == "/etc/slipway/tls/ca.crt"
    assert control["docker_env"]["SLIPWAY_DOCKER_TLS_CERT"] == "/etc/slipway/controller/docker-client.crt"
    assert control["docker_env"]["SLIPWAY_DOCKER_TLS_KEY"] == "/etc/slipway/controller/docker-client.key"
    for node in ("node1", "node2", "node3"):
        dockerd = hosts[node]["dockerd"]
        assert dockerd["tlscacert"] == "/etc/docker/slipway-client-ca.crt", dockerd  # clients only
        assert dockerd["tlscert"] == "/etc/slipway/tls/host.crt" and dockerd["tlsverify"] is True


def test_a_caller_on_another_host_moves_the_controller_to_https_on_its_platform_address(render):
    hosts = render(render.split)
    assert {hosts[h][k] for h in ("edge", "control") for k in ("router", "builder", "registry")} \
        == {"https://control:8000"}
    assert hosts["control"]["tls"] is True and hosts["control"]["listen"] == "192.0.2.11"
    assert hosts["control"]["own_url"] == "https://control:8000"


def test_the_operators_url_wins_for_every_caller(render):
    hosts = render(render.split, "-e", "slipway_controller_url=https://api.example.org:9443")
    assert {hosts[h][k] for h in ("edge", "control") for k in ("router", "builder", "registry")} \
        == {"https://api.example.org:9443"}
    # the controller serves TLS on its own listener, which its role checks by its own name
    assert hosts["control"]["tls"] is True and hosts["control"]["own_url"] == "https://control:8000"


def test_every_address_of_every_platform_host_is_walled(render):
    """@platform, the set the walls refuse tenant traffic to: every address of every platform host's own
    interfaces (a second network card, a secondary address), not the hosts' container bridges."""
    hosts = render(render.split)
    for name in ("edge", "control", "data", "node1"):
        platform = set(hosts[name]["platform"])
        assert {"192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.20", "198.51.100.12", "198.51.100.13",
                "169.254.0.0/16"} <= platform, (name, platform)
        assert not {"127.0.0.1", "172.17.0.1"} & platform, (name, platform)


def test_published_task_ports_answer_the_routers_and_controllers_only(render):
    """A node's published task ports take new connections from the routers and the controllers' health probes
    only: not from the database's, the store's or the builder's host, nor from another node."""
    hosts = render(render.split)
    assert set(hosts["node1"]["task_clients"]) == {"192.0.2.20", "192.0.2.11"}, hosts["node1"]["task_clients"]
