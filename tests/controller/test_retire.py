"""Replaced deployments retire after the deploy has answered: drained, then removed, even across a
controller restart (SIGKILL) in the middle of the drain."""
from __future__ import annotations

import subprocess
import time

from tests.live import live_controller

from .conftest import register
from .deployhelp import build, endpoints, fetch, services, settle

DRAIN = 6.0


def deployments(ctl, app_id: str) -> list[tuple[int, str]]:
    out = subprocess.run(["psql", ctl.database_url, "-Atc",
                          "SELECT d.id, d.status FROM deployments d JOIN apps a ON a.uuid = d.app_uuid "
                          f"WHERE a.id = '{app_id}' ORDER BY d.id"], capture_output=True, text=True, check=True)
    return [(int(i), status) for i, status in (line.split("|") for line in out.stdout.split())]


def statuses(ctl, app_id: str, expected: list[str], timeout: float = 10) -> None:
    """Wait until the app's deployments have these statuses (oldest first): a retired deployment's row
    is updated once its containers are gone, a moment after its service."""
    deadline = time.monotonic() + timeout
    while (found := [status for _, status in deployments(ctl, app_id)]) != expected:
        assert time.monotonic() < deadline, found
        time.sleep(0.2)


def test_old_services_drain_after_the_answer_and_a_restart_still_removes_them():
    subprocess.run(["scripts/build-test-image.sh"], check=True)
    with live_controller(SLIPWAY_DRAIN_SECONDS=str(DRAIN), SLIPWAY_ROUTER_ACK_TIMEOUT="1",
                         SLIPWAY_MONITOR_INTERVAL="1", SLIPWAY_HEALTH_TIMEOUT="30") as ctl:
        user = register(ctl, "drainer")
        app_id = user.post("/v2/apps/", {}).json()["id"]
        assert build(user, app_id).status_code == 201

        # the answer comes before the drain is over: the new release serves, the old one still drains (the
        # drain's clock starts as the deploy answers, so how long the deploy took does not matter)
        r = user.post(f"/v2/apps/{app_id}/config/", {"values": {"MESSAGE": "drained"}})
        assert r.status_code == 201, r.text
        assert fetch(endpoints(ctl, app_id)[0]).startswith("drained release=v3")
        assert len(services(app_id)) == 2
        assert [status for _, status in deployments(ctl, app_id)] == ["draining", "succeeded"]
        settle(app_id, 1, timeout=DRAIN + 20)
        statuses(ctl, app_id, ["retired", "succeeded"])

        # killed while the drain runs: the restarted controller removes the old service all the same (however
        # long the restart takes: a drain that ended while the controller was down is finished at its start)
        r = user.post(f"/v2/apps/{app_id}/config/", {"values": {"MESSAGE": "killed"}})
        assert r.status_code == 201, r.text
        assert len(services(app_id)) == 2
        assert [status for _, status in deployments(ctl, app_id)] == ["retired", "draining", "succeeded"]
        ctl.restart(kill=True)
        settle(app_id, 1, timeout=DRAIN + 20)
        statuses(ctl, app_id, ["retired", "retired", "succeeded"])
        assert fetch(endpoints(ctl, app_id)[0]).startswith("killed release=v4")
        assert user.delete(f"/v2/apps/{app_id}/").status_code == 204
        assert services(app_id) == []
