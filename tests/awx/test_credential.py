"""The "Slipway controller" credential type (awx/credential_type.yml) as AWX renders it, and the jobs it serves:
its CA file is what makes the controller's certificate trusted."""
from __future__ import annotations

import os
import stat

from .awxjob import CREDENTIAL_TYPE, render_credential

SCALE = "Slipway - scale"
TASK = "Scale (the job waits until the processes run)"


def test_the_credential_type_is_in_awx_shape():
    assert CREDENTIAL_TYPE["kind"] == "cloud"
    fields = {f["id"]: f for f in CREDENTIAL_TYPE["inputs"]["fields"]}
    assert set(fields) == {"url", "token", "ca_cert", "skip_tls_verify"}
    assert all(f["type"] in ("string", "boolean") and f.get("label") for f in fields.values())
    assert fields["token"].get("secret") is True and fields["ca_cert"].get("multiline") is True
    assert CREDENTIAL_TYPE["inputs"]["required"] == ["url", "token"]
    assert set(CREDENTIAL_TYPE["injectors"]) == {"env", "file"}


def test_injection_sets_what_the_modules_read(tmp_path):
    env, safe = render_credential(CREDENTIAL_TYPE, {"url": "https://slipway.example.com", "token": "tok-123",
                                                    "ca_cert": "-----BEGIN CERTIFICATE-----\nMII\n"}, str(tmp_path))
    assert env["SLIPWAY_URL"] == "https://slipway.example.com" and env["SLIPWAY_TOKEN"] == "tok-123"
    assert env["SLIPWAY_VALIDATE_CERTS"] == "true"
    path = env["SLIPWAY_CA_PATH"]
    assert os.path.dirname(path) == str(tmp_path / "env")
    assert open(path).read() == "-----BEGIN CERTIFICATE-----\nMII\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert safe["SLIPWAY_TOKEN"] == "**********" and safe["SLIPWAY_URL"] == env["SLIPWAY_URL"]


def test_without_a_ca_no_ca_path_and_skip_verify_turns_verification_off(tmp_path):
    env, _ = render_credential(CREDENTIAL_TYPE, {"url": "https://s.example.com", "token": "t", "ca_cert": ""},
                               str(tmp_path))
    assert env["SLIPWAY_CA_PATH"] == "" and env["SLIPWAY_VALIDATE_CERTS"] == "true"
    env, _ = render_credential(CREDENTIAL_TYPE, {"url": "https://s.example.com", "token": "t",
                                                 "skip_tls_verify": True}, str(tmp_path))
    assert env["SLIPWAY_VALIDATE_CERTS"] == "false" and env["SLIPWAY_CA_PATH"] == ""


def test_a_job_trusts_the_controller_through_the_credentials_ca(run, credential, user):
    app = user.post("/v2/apps/", {"id": f"awx-ca-{user.username[-6:]}"}).json()["id"]
    job = run(SCALE, {"slipway_app": app, "slipway_process_type": "web", "slipway_process_count": 0},
              credentials={"slipway": credential})
    assert job.status == "successful", job.stdout[-3000:]
    assert job.env["SLIPWAY_CA_PATH"] and job.env["SLIPWAY_URL"].startswith("https://")
    assert job.result(TASK)["structure"] == {}


def test_without_the_ca_the_controller_is_not_trusted(run, credential, user):
    app = user.post("/v2/apps/", {"id": f"awx-noca-{user.username[-6:]}"}).json()["id"]
    job = run(SCALE, {"slipway_app": app, "slipway_process_count": 0},
              credentials={"slipway": dict(credential, ca_cert="")})
    assert job.status == "failed"
    assert "CERTIFICATE_VERIFY_FAILED" in job.result(TASK)["msg"], job.result(TASK)
    job = run(SCALE, {"slipway_app": app, "slipway_process_count": 0},
              credentials={"slipway": dict(credential, ca_cert="", skip_tls_verify=True)})
    assert job.status == "successful", job.stdout[-3000:]


def test_a_wrong_token_fails_with_the_controllers_answer(run, credential, user):
    app = user.post("/v2/apps/", {"id": f"awx-tok-{user.username[-6:]}"}).json()["id"]
    job = run(SCALE, {"slipway_app": app, "slipway_process_count": 0},
              credentials={"slipway": dict(credential, token="not-a-token")})
    assert job.status == "failed"
    assert "HTTP 401" in job.result(TASK)["msg"], job.result(TASK)
