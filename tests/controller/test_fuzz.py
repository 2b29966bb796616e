"""Schemathesis against the controller's own /openapi.json, authenticated, every operation:
no server error, every answer documented and matching its schema."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.live import live_controller

from .conftest import register

ST = os.path.join(os.path.dirname(sys.executable), "st")
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"


def schemathesis(url: str, header: str, *extra: str) -> subprocess.CompletedProcess:
    cmd = [ST, "run", url + "/openapi.json", "--checks", CHECKS, "-H", header, "-n", "25",
           "--phases", "examples,coverage,fuzzing", "--request-timeout", "30", "--seed", "1", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def fuzz_ctl():
    with live_controller(SLIPWAY_HEALTH_TIMEOUT="3", SLIPWAY_DEPLOY_TIMEOUT="5",
                         SLIPWAY_LOGIN_ATTEMPTS_PER_MINUTE="100000") as ctl:
        user = register(ctl, "fuzzer")
        user.post("/v2/apps/", {"id": "fuzzapp"})
        yield ctl, user


@pytest.mark.parametrize("who", ["user", "builder", "router"])
def test_no_server_errors_and_answers_match_the_schema(fuzz_ctl, who):
    ctl, user = fuzz_ctl
    if who == "user":  # a token-revoking or self-deleting call would log the fuzzer out mid-run
        r = schemathesis(ctl.url, f"Authorization: token {user.token}",
                         "--exclude-path-regex", "^/v2/(auth/(tokens|cancel)|hooks|routes)")
    elif who == "builder":
        r = schemathesis(ctl.url, f"X-Deis-Builder-Auth: {ctl.builder_key}", "--include-path-regex", "^/v2/hooks/")
    else:
        r = schemathesis(ctl.url, f"X-Slipway-Router-Auth: {ctl.router_key}", "--include-path-regex", "^/v2/routes")
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert " passed" in r.stdout
