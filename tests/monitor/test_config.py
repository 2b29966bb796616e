"""The monitor role's configuration rendered by Ansible from the repository's inventories (the all-in-one host and
the five-host example), through the role's own tasks (tasks_from: config), whose promtool checks (rules, config
with its key file) run for real; then the scrape jobs read back."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.dirname(sys.executable)
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

assert os.path.exists(PROMTOOL), "promtool is missing: scripts/install.sh installs Debian's prometheus (and promtool)"


def render(tmp_path, inventory: str, **extra) -> dict[str, dict]:
    """{monitor host: its rendered prometheus.yml} for the inventory, and the other files beside."""
    collections = tmp_path / "collections" / "ansible_collections" / "slipway"
    collections.mkdir(parents=True)
    (collections / "paas").symlink_to(ROOT)
    out = tmp_path / "out"
    hosts = yaml.safe_load(open(os.path.join(ROOT, "inventories", inventory, "hosts.yml")))
    monitors = list(hosts["slipway"]["children"]["monitor"]["hosts"])
    for host in monitors:
        (out / host).mkdir(parents=True)
    variables = {"out": str(out), "ansible_connection": "local", "ansible_become": False,
                 "ansible_python_interpreter": sys.executable, "slipway_monitor_metrics_key": "test-metrics-key",
                 "slipway_monitor_ca_file": "/etc/ssl/certs/ca-certificates.crt", **extra}
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    r = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventories", inventory),
                        os.path.join(HERE, "render.yml"), "-e", json.dumps(variables)],
                       cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    assert r.returncode == 0, r.stdout[-6000:]
    return {host: yaml.safe_load(open(out / host / "prometheus.yml")) for host in monitors}, out


def jobs(config: dict) -> dict[str, dict]:
    return {job["job_name"]: job for job in config["scrape_configs"]}


def targets(job: dict) -> dict[str, str]:
    """{instance label or target: target address}"""
    return {static.get("labels", {}).get("instance", t): t for static in job["static_configs"] for t in static["targets"]}


def test_the_all_in_one_host_scrapes_itself_with_the_key_over_loopback(tmp_path):
    configs, out = render(tmp_path, "local")
    config = configs["slipway-aio"]
    found = jobs(config)
    assert set(found) == {"prometheus", "node", "controller", "node_agent", "router"}
    assert config["global"]["scrape_interval"] == "5s"  # inventories/local shortens the role default of 15 s
    assert targets(found["prometheus"]) == {"slipway-aio": "127.0.0.1:9090"}
    assert targets(found["node"]) == {"slipway-aio": "slipway-aio:9100"}
    assert targets(found["node_agent"]) == {"slipway-aio": "slipway-aio:9101"}
    assert targets(found["router"]) == {"slipway-aio": "slipway-aio:3903"}
    controller = found["controller"]
    assert controller.get("scheme") == "http" and controller["static_configs"] == [{"targets": ["127.0.0.1:8000"]}]
    key_file = str(out / "slipway-aio" / "metrics.key")
    for name in ("controller", "node_agent"):
        assert found[name]["authorization"] == {"type": "Bearer", "credentials_file": key_file}
    for name in ("node", "router", "prometheus"):
        assert "authorization" not in found[name]
    assert open(key_file).read() == "test-metrics-key"
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o400"
    assert config["rule_files"] == [str(out / "slipway-aio" / "rules") + "/*.yml"]
    assert "alerting" not in config
    rules = yaml.safe_load(open(out / "slipway-aio" / "rules" / "slipway.yml"))
    assert "SlipwayBackupMissing" in {r["alert"] for r in rules["groups"][0]["rules"]}


def test_the_example_layout_scrapes_every_host_and_the_controller_over_tls(tmp_path):
    configs, out = render(tmp_path, "example", slipway_monitor_alertmanager=True,
                          slipway_monitor_scrape_interval="30s", slipway_monitor_backup_window=3600)
    config = configs["control"]
    found = jobs(config)
    assert config["global"]["scrape_interval"] == "30s"
    hosts = {"data", "control", "node1", "node2", "node3"}
    assert set(targets(found["node"])) == hosts
    assert set(targets(found["node_agent"])) == {"node1", "node2", "node3"}
    assert set(targets(found["router"])) == {"control"}
    # on the controller's host: loopback, where the controller's dashboard reads it
    assert targets(found["prometheus"]) == {"control": "127.0.0.1:9090"}
    controller = found["controller"]
    assert controller["scheme"] == "https" and controller["static_configs"] == [{"targets": ["control:8000"]}]
    assert controller["tls_config"] == {"ca_file": "/etc/ssl/certs/ca-certificates.crt"}
    assert config["alerting"]["alertmanagers"][0]["static_configs"] == [{"targets": ["127.0.0.1:9093"]}]
    rules = open(out / "control" / "rules" / "slipway.yml").read()
    assert "> 3600" in rules
