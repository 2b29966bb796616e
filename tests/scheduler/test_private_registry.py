"""An app's image in a private registry (Deis's `registry:set`): this machine's Swarm pulls it only with the
credentials the service is created with, handed to the Engine by the scheduler (X-Registry-Auth), and a one-off
container pulls it with them too. The registry is a real docker-registry with htpasswd accounts on 127.0.0.1."""
from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request

import pytest

from controller_app.scheduler.base import SchedulerError
from tests.live import free_port
from tests.scheduler.swarm_helpers import WEB, get, running, spec, wait_for

pytestmark = pytest.mark.timeout(180)
USER, PASSWORD = "team", "Private-Registry-pw-1"


@pytest.fixture(scope="module")
def private_registry(tmp_path_factory, docker_client):
    root = tmp_path_factory.mktemp("private-registry")
    hashed = subprocess.run(
        ["python3", "-W", "ignore", "-c",
         "import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))", PASSWORD],
        check=True, capture_output=True, text=True).stdout.strip()
    (root / "htpasswd").write_text(f"{USER}:{hashed}\n")
    port = free_port()
    (root / "config.yml").write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root / 'data'}\nhttp:\n"
        f"  addr: 127.0.0.1:{port}\n  secret: test-only-secret\n"
        f"auth:\n  htpasswd:\n    realm: private\n    path: {root / 'htpasswd'}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(["docker-registry", "serve", str(root / "config.yml")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def asks_for_credentials():
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
        except urllib.error.HTTPError as e:
            return e.code == 401
        except OSError:
            return False
        return False

    wait_for("the private registry", asks_for_credentials, timeout=20)
    host = f"127.0.0.1:{port}"
    image = f"{host}/team/web:1"
    docker_client.images.get(WEB).tag(image)
    out = docker_client.images.push(image, auth_config={"username": USER, "password": PASSWORD})
    assert '"error"' not in out, out
    docker_client.images.remove(image)  # only the registry has it now: Swarm must pull
    yield {"host": host, "image": image}
    proc.terminate()
    proc.wait(10)


def test_without_credentials_the_task_cannot_pull(sched, app, private_registry):
    sched.create(spec(app, image=private_registry["image"]))

    def refused():
        tasks = sched.tasks(app)
        return [t for t in tasks if t.error and t.state in ("rejected", "failed")]

    failed = wait_for("the task's pull to be refused", refused, timeout=150)  # the Engine retries a pull a while
    assert "no basic auth credentials" in failed[0].error or "No such image" in failed[0].error, failed[0].error
    assert not [t for t in sched.tasks(app) if t.state == "running"]


def test_with_the_apps_credentials_the_task_pulls_and_serves(sched, app, private_registry, docker_client):
    registry = {"username": USER, "password": PASSWORD}
    sched.create(spec(app, image=private_registry["image"], registry=registry))
    task = running(sched, app, 1)[0]
    assert get(task.endpoint)[0] == 200
    docker_client.images.remove(private_registry["image"], force=True)  # the one-off pulls it again
    result = sched.run(app, private_registry["image"], "echo pulled", {"PORT": "5000"}, registry=registry)
    assert (result.exit_code, result.output.strip()) == (0, "pulled")


def test_wrong_credentials_are_a_clear_error_naming_no_password(sched, app, private_registry):
    bad = {"username": USER, "password": "not-" + PASSWORD}
    with pytest.raises(SchedulerError) as err:
        sched.create(spec(app, image=private_registry["image"], deployment=2, registry=bad))
    assert f"the registry {private_registry['host']} refused the app's credentials" in str(err.value)
    assert bad["password"] not in str(err.value)
    assert not sched.tasks(app, 2)
