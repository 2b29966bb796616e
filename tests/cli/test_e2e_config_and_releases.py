"""End-to-end CLI, config and releases: config:*, releases:*, limits:*, tags:*, healthchecks:*.

The real CLI (a `python -m slipway_cli` subprocess) against a live controller: tests/live.py starts uvicorn
on a fresh PostgreSQL database (scripts/dev-services.sh must have run); the `ctl` and `admin` fixtures
(conftest.py) give each module its own controller. Every run also checks that no token ever shows up in the
CLI's output (e2e_session.py).
"""
from __future__ import annotations

import os
import re
import stat
import subprocess

import pytest

pytestmark = pytest.mark.timeout(300)


def test_config_and_releases(admin):
    admin.ok("apps:create", "cfg-app")
    out = admin.ok("config:set", "FOO=bar", "SPACED=a b c", "URL=postgres://u:p@h/db?x=1", "-a", "cfg-app")
    assert "FOO" in out
    cfg = admin.json("config:list", "-a", "cfg-app")
    assert cfg["values"] == {"FOO": "bar", "SPACED": "a b c", "URL": "postgres://u:p@h/db?x=1"}
    text = admin.ok("config:list", "-a", "cfg-app")
    assert re.search(r"^FOO\s+bar$", text, re.M) and re.search(r"^SPACED\s+a b c$", text, re.M)
    assert "FOO=bar" in admin.ok("config:list", "--oneline", "-a", "cfg-app")

    admin.fails("config:set", "FOO=bar", "-a", "cfg-app")  # nothing changes: 409
    admin.fails("config:set", "1BAD=x", "-a", "cfg-app", match="invalid KEY")
    admin.fails("config:set", "NOEQUALS", "-a", "cfg-app", match="KEY=VALUE")
    admin.fails("config:set", "PORT=70000", "-a", "cfg-app", match="PORT")
    admin.fails("config:unset", "MISSING", "-a", "cfg-app")
    admin.ok("config:unset", "FOO", "-a", "cfg-app")
    assert "FOO" not in admin.json("config:list", "-a", "cfg-app")["values"]

    rels = admin.json("releases:list", "-a", "cfg-app")
    versions = [r["version"] for r in rels["results"]]
    assert versions == [3, 2, 1]
    text = admin.ok("releases:list", "-a", "cfg-app")
    assert re.search(r"^v3\s", text, re.M) and re.search(r"^v1\s", text, re.M)
    assert admin.json("releases:info", "v2", "-a", "cfg-app")["version"] == 2
    assert "=== cfg-app Release v1" in admin.ok("releases:info", "1", "-a", "cfg-app")
    admin.fails("releases:info", "v99", "-a", "cfg-app")
    admin.fails("releases:info", "vX", "-a", "cfg-app", match="invalid release version")

    # .env round trip
    envfile = os.path.join(admin.work, ".env")
    admin.ok("config:pull", "-a", "cfg-app")
    with open(envfile) as f:
        pulled = f.read()
    assert "SPACED='a b c'" in pulled and stat.S_IMODE(os.stat(envfile).st_mode) == 0o600
    with open(envfile, "a") as f:
        f.write("# added locally\nNEW_ONE=\"multi\\nline\"\n")
    admin.ok("config:push", "-a", "cfg-app")
    assert admin.json("config:list", "-a", "cfg-app")["values"]["NEW_ONE"] == "multi\nline"
    assert "Nothing to push" in admin.ok("config:push", "-a", "cfg-app")

    # rollback to v2 makes a new release with v2's config
    out = admin.ok("releases:rollback", "v2", "-a", "cfg-app")
    new = admin.json("releases:list", "-a", "cfg-app")["results"][0]["version"]
    assert f"now v{new}" in out
    assert admin.json("config:list", "-a", "cfg-app")["values"]["FOO"] == "bar"


def test_limits_tags_healthchecks(admin):
    admin.ok("apps:create", "lim-app")
    admin.ok("limits:set", "web=512m", "-a", "lim-app")
    admin.ok("limits:set", "--cpu", "web=500m", "-a", "lim-app")
    assert admin.json("limits:list", "-a", "lim-app") == {"memory": {"web": "512M"}, "cpu": {"web": "500m"}}
    admin.fails("limits:set", "web=lots", "-a", "lim-app", match="invalid memory limit")
    admin.ok("limits:unset", "web", "-a", "lim-app")
    assert admin.json("limits:list", "-a", "lim-app")["memory"] == {}

    admin.ok("tags:set", "zone=eu", "-a", "lim-app")
    assert admin.json("tags:list", "-a", "lim-app") == {"zone": "eu"}
    admin.ok("tags:unset", "zone", "-a", "lim-app")
    assert admin.json("tags:list", "-a", "lim-app") == {}

    admin.ok("healthchecks:set", "--path", "/health", "--timeout", "3", "-a", "lim-app")
    admin.ok("healthchecks:set", "--interval", "2", "-a", "lim-app")  # keeps the path
    ready = admin.json("healthchecks:list", "-a", "lim-app")["web"]["readinessProbe"]
    assert ready["httpGet"]["path"] == "/health" and ready["timeoutSeconds"] == 3 and ready["periodSeconds"] == 2
    admin.fails("healthchecks:set", "-a", "lim-app", match="nothing to set")
    admin.ok("healthchecks:set", "liveness", "exec", "-a", "lim-app", "--", "cat", "/tmp/healthy")
    hc = admin.json("healthchecks:list", "-a", "lim-app")["web"]
    assert hc["readinessProbe"] == ready and hc["livenessProbe"]["exec"] == {"command": ["cat", "/tmp/healthy"]}
    admin.fails("healthchecks:set", "liveness", "tcpSocket", "--success-threshold", "2", "-a", "lim-app",
                match="successThreshold must be 1")
    out = admin.ok("healthchecks:list", "-a", "lim-app")
    assert "Liveness: exec cat /tmp/healthy;" in out and "Readiness: httpGet /health on $PORT;" in out, out
    admin.ok("healthchecks:unset", "readiness", "-a", "lim-app")
    assert set(admin.json("healthchecks:list", "-a", "lim-app")["web"]) == {"livenessProbe"}
    admin.ok("healthchecks:unset", "-a", "lim-app")
    assert admin.json("healthchecks:list", "-a", "lim-app") == {}


def test_registry_and_image_builds(admin):
    """registry:* keep the password out of every answer; pull (builds:create) deploys an image built elsewhere
    (the scheduler tests' image, on this machine's Swarm) and builds:list/info show it."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run([os.path.join(root, "scripts", "build-test-image.sh")], check=True, capture_output=True)
    admin.ok("apps:create", "img-app")
    admin.ok("registry:set", "username=team", "password=Never-Shown-1", "-a", "img-app")
    assert admin.json("registry:list", "-a", "img-app") == {"username": "team", "password": "********"}
    assert "Never-Shown-1" not in admin.ok("registry:list", "-a", "img-app")
    admin.fails("registry:set", "password=", "-a", "img-app", match="registry")
    admin.ok("registry:unset", "username", "password", "-a", "img-app")
    assert admin.json("registry:list", "-a", "img-app") == {}

    out = admin.ok("pull", "slipway-test/web:1", "-a", "img-app")
    assert "img-app is serving v" in out and "slipway-test/web:1" in out
    builds = admin.json("builds:list", "-a", "img-app")["results"]
    assert [b["image"] for b in builds] == ["slipway-test/web:1"]
    assert "slipway-test/web:1" in admin.ok("builds:info", builds[0]["uuid"], "-a", "img-app")
    admin.fails("builds:create", "NOT A REFERENCE", "-a", "img-app")
    admin.ok("apps:destroy", "-a", "img-app", "--confirm", "img-app")
