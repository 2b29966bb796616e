"""The monitor role's alert rules (roles/monitor/templates/slipway.rules.yml.j2) under Debian's promtool: each
alert's unit test in rules/*.test.yml, run on the rules rendered with the role's defaults, and with the backup and
WAL windows shortened as a test host sets them."""
from __future__ import annotations

import os
import shutil
import subprocess

import jinja2
import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ROLE = os.path.join(ROOT, "roles", "monitor")
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
ALERTS = {"SlipwayBackupMissing", "SlipwayWalArchiveStale", "SlipwayDiskAlmostFull", "SlipwayHostDown",
          "SlipwayNodeNotReady", "SlipwayNodeAgentNotReporting", "SlipwayCertificateExpiring",
          "SlipwayDeploysFailing", "SlipwayTargetDown"}

assert os.path.exists(PROMTOOL), "promtool is missing: scripts/install.sh installs Debian's prometheus (and promtool)"


def role_defaults() -> dict:
    with open(os.path.join(ROLE, "defaults", "main.yml")) as fh:
        return yaml.safe_load(fh)


def render_rules(dest: str, **overrides) -> str:
    """The rules as the role writes them: its defaults (the numeric ones; templated defaults given here)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLE, "templates")),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["bool"] = lambda v: v if isinstance(v, bool) else str(v).lower() in ("true", "yes", "1")
    values = {k: v for k, v in role_defaults().items() if not (isinstance(v, str) and "{{" in v)}
    values.update({"slipway_monitor_backup_expected": True}, **overrides)
    path = os.path.join(dest, "slipway.yml")
    with open(path, "w") as fh:
        fh.write(env.get_template("slipway.rules.yml.j2").render(**values))
    return path


def promtool(*args: str, cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], cwd=cwd, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=120)


def test_the_rules_pass_promtools_check_and_name_every_alert(tmp_path):
    path = render_rules(str(tmp_path))
    r = promtool("check", "rules", path, cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout
    rules = yaml.safe_load(open(path))["groups"][0]["rules"]
    assert {rule["alert"] for rule in rules} == ALERTS


def test_without_a_platform_database_no_backup_alerts(tmp_path):
    path = render_rules(str(tmp_path), slipway_monitor_backup_expected=False)
    names = {rule["alert"] for rule in yaml.safe_load(open(path))["groups"][0]["rules"]}
    assert names == ALERTS - {"SlipwayBackupMissing", "SlipwayWalArchiveStale"}


@pytest.mark.parametrize("case, overrides", [
    ("defaults", {}),
    ("short_windows", {"slipway_monitor_backup_window": 60, "slipway_monitor_wal_window": 120}),
])
def test_each_alert_fires_when_it_should_and_only_then(tmp_path, case, overrides):
    render_rules(str(tmp_path), **overrides)
    shutil.copy(os.path.join(HERE, "rules", f"{case}.test.yml"), tmp_path / "test.yml")
    r = promtool("test", "rules", "test.yml", cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout
    assert "SUCCESS" in r.stdout, r.stdout


def test_every_alert_has_a_firing_case():
    fired = set()
    for name in os.listdir(os.path.join(HERE, "rules")):
        for test in yaml.safe_load(open(os.path.join(HERE, "rules", name)))["tests"]:
            for case in test.get("alert_rule_test", []):
                if case.get("exp_alerts"):
                    fired.add(case["alertname"])
    assert fired == ALERTS
