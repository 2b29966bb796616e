"""Upgrade under load: the all-in-one host converged from an earlier commit of this repository (PREVIOUS), an
app pushed to it with config and three releases, then `site.yml` from this tree converged over the running
platform while requests go to the app and to the controller API through the router.

What an operator checks after an upgrade: not one failed request, the database schema at this tree's
migrations (run once), changes only in the roles whose code differs, the app with its releases, config and
answer intact, and the platform's CA and secrets untouched.

The host must be created and prepared (`molecule create`) and not converged; scripts/test.sh runs this first,
then the other suites on the upgraded host.
"""
from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory

from controller_app.migrate import alembic_config

from tests.e2e.conftest import Load, User, get, platform, unique, wait_for
from tests.e2e.ops import hello_source, pushed_app
from tests.upgrade import previous
from tests.upgrade.state import app_state, release_answer, schema, secrets_digest

pytestmark = pytest.mark.timeout(5400)

# The platform as it stood before the autoscale and Deis health check migrations (0008, 0009), the monitor role,
# the router's Lua balancer and the dashboard: an upgrade that adds a component, changes every role and migrates
# stored data.
PREVIOUS = "04f4b381dac8364a88c58b52061303602770bbeb"
LOGS = previous.ROOT / ".cache" / "upgrade"


def test_upgrade_under_load():
    first = LOGS / "previous-converge.log"
    rc = previous.converge_previous(previous.tree(PREVIOUS), first)
    assert rc == 0, f"the converge of {PREVIOUS} failed:\n" + first.read_text()[-6000:]

    aio = platform(converge=False)
    owner = User(aio, unique("upgrade"))
    app = pushed_app(aio, owner, "upgrade-", hello_source("before:"))
    owner.api("POST", f"/v2/apps/{app}/config/", {"values": {"GREETING": "kept", "EMPTY_LOOKING": " "}})
    owner.api("POST", f"/v2/apps/{app}/scale/", {"web": 2})
    _, info = owner.api("GET", f"/v2/apps/{app}/")
    domain = info["url"].split("://")[-1].strip("/")
    wait_for(lambda: get(domain)[0] == 200, 120, message=f"{app} serving before the upgrade")
    before, answer, secrets, old_schema = app_state(owner, app), release_answer(domain), secrets_digest(), schema()

    app_load = Load(domain, "upgrade-app", threads=2, args=("--pause", "0.05", "--max-seconds", "5400"))
    api_load = Load("localhost", "upgrade-api", threads=1,
                    args=("--port", "443", "--tls", "/etc/slipway/tls/ca.crt", "--path", "/readiness",
                          "--pause", "0.1", "--max-seconds", "5400"))
    second = LOGS / "upgrade-converge.log"
    rc = previous.converge_current(second)
    served, answered = app_load.finish(), api_load.finish()
    print(f"\n[upgrade] app: {served}\n[upgrade] controller API: {answered}")
    assert rc == 0, "the upgrade converge failed:\n" + second.read_text()[-6000:]

    assert served["requests"] > 100 and served["failures"] == 0, served
    assert answered["requests"] > 50 and answered["failures"] == 0, answered

    new_schema = schema()
    changed = previous.changed_tasks(second)
    migrations = [t for t in changed if t == ("controller", "Run the database migrations")]
    assert new_schema != old_schema and len(migrations) == 1, (old_schema, new_schema, changed)
    assert [new_schema] == ScriptDirectory.from_config(alembic_config()).get_heads()

    files = previous.changed_files(PREVIOUS)
    unexplained = [(role, task) for role, task in changed
                   if not any(f.startswith(prefix) for prefix in previous.code_of(role) for f in files)]
    assert not unexplained, f"changed although their role's code did not: {unexplained}"

    assert app_state(owner, app) == before
    assert release_answer(domain) == answer
    after = secrets_digest()  # a newer version may add secrets (a new component's), and changes none
    assert {name: after.get(name) for name in secrets} == secrets
