"""A controller killed in the middle of a deploy: the deploy fails cleanly, nothing stays locked."""
from __future__ import annotations

import subprocess
import threading
import time

from tests.live import live_controller

from .conftest import register
from .deployhelp import BROKEN, build, endpoints, fetch


def test_controller_killed_mid_deploy_fails_it_cleanly_and_next_push_works():
    subprocess.run(["scripts/build-test-image.sh"], check=True)
    with live_controller(SLIPWAY_HEALTH_TIMEOUT="30", SLIPWAY_DRAIN_SECONDS="0") as ctl:
        user = register(ctl, "alice")
        app_id = user.post("/v2/apps/", {}).json()["id"]
        assert build(user, app_id).status_code == 201
        serving = endpoints(ctl, app_id)

        def doomed_build():
            try:
                build(user, app_id, image=BROKEN)
            except OSError:
                pass  # the controller dies under this request: that is the point

        pending = threading.Thread(target=doomed_build, daemon=True)
        pending.start()
        deadline = time.monotonic() + 20
        while not [s for s in subprocess.run(
                ["docker", "service", "ls", "--format", "{{.Name}}", "--filter", f"label=slipway.app={app_id}"],
                capture_output=True, text=True).stdout.split() if s.endswith("_2") or s.endswith("_3")]:
            assert time.monotonic() < deadline, "the second deploy never started"
            time.sleep(0.2)
        ctl.restart(kill=True)

        v3 = user.get(f"/v2/apps/{app_id}/releases/v3/").json()
        assert v3["failed"] is True and "restarted" in v3["exception"]
        assert endpoints(ctl, app_id) == serving and fetch(serving[0]).startswith("hello release=v2")
        names = subprocess.run(["docker", "service", "ls", "--format", "{{.Name}}", "--filter",
                                f"label=slipway.app={app_id}"], capture_output=True, text=True).stdout.split()
        assert len(names) == 1  # the interrupted deployment's service is gone
        r = user.post(f"/v2/apps/{app_id}/config/", {"values": {"MESSAGE": "after"}})
        assert r.status_code == 201, r.text
        assert fetch(endpoints(ctl, app_id)[0]).startswith("after release=v4")
        assert user.delete(f"/v2/apps/{app_id}/").status_code == 204
