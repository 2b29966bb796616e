"""`git push` to a serving app, end to end on the converged all-in-one host (issue 5).

The tests run in order on one app: first push, config change, new version, rollback, scale, failed builds
and unhealthy releases (rejected, the old release still serving), refusals, a collaborator's push, a branch
other than main. Deploys, config changes, rollbacks and scaling run under load through the router and must
not fail a single request; the counts are printed (pytest -s).
"""
from __future__ import annotations

import re

import pytest

from .conftest import WORK, Load, get, git_repo, push, sh, unique, wait_for
from .ops import HELLO, hello_source

pytestmark = pytest.mark.timeout(3600)  # the first one may converge the host


def dockerfile(registry: str, extra: str = "", cmd: str = '["python3", "-u", "/app/app.py"]') -> str:
    return (f"FROM {registry}/slipway/stack:trixie\n{extra}COPY app.py /app/app.py\nCMD {cmd}\n")


@pytest.fixture(scope="module")
def world(aio, user_factory):
    alice = user_factory("alice")
    app = unique("hello-")
    alice.api("POST", "/v2/apps/", {"id": app})
    _, info = alice.api("GET", f"/v2/apps/{app}/")
    domain = info["url"].split("://")[-1].strip("/")
    return {"aio": aio, "alice": alice, "app": app, "domain": domain, "src": f"{WORK}/src-{app}",
            "loads": {}}


def serving(world) -> str:
    status, body = get(world["domain"])
    return body if status == 200 else ""


def report(world, name: str, result: dict) -> None:
    world["loads"][name] = result
    print(f"\n[load during {name}] requests={result['requests']} failures={result['failures']} "
          f"seconds={result['seconds']} bodies={result['bodies']} errors={result['errors']}")


def releases(world) -> list[dict]:
    return world["alice"].api("GET", f"/v2/apps/{world['app']}/releases/")[1]["results"]


def test_first_push_serves(world):
    git_repo(world["src"], {"Dockerfile": dockerfile(world["aio"]["registry"]), "app.py": hello_source(),
                            "Procfile": HELLO.joinpath("Procfile").read_text()})
    rc, out, seconds = push(world["alice"], world["app"], world["src"])
    print(out)
    assert rc == 0, out
    assert "remote: -----> Deploying " + world["app"] in out
    assert "remote: -----> Building" in out and "Step 1/" in out  # a Dockerfile build
    assert "remote: -----> Releasing" in out
    assert re.search(r"remote: +" + re.escape(world["app"]) + r" v\d+ is serving at", out), out
    assert "PLAY RECAP" not in out and '"changed"' not in out  # push output, not Ansible's
    assert "buildpacks" not in out, out  # skipped steps show no headline
    body = wait_for(lambda: serving(world), 20, message="the app through the router")
    assert body.startswith("Hello from Slipway"), body
    print(f"first push: {seconds:.1f} s; serves {body!r}")


def test_config_set_zero_downtime(world):
    load = Load(world["domain"], "config")
    status, _ = world["alice"].api("POST", f"/v2/apps/{world['app']}/config/",
                                   {"values": {"GREETING": "Bonjour"}})
    result = load.finish()
    report(world, "config:set", result)
    assert status == 201
    assert serving(world).startswith("Bonjour"), serving(world)
    assert result["failures"] == 0, result
    assert any(b.startswith("Bonjour") for b in result["bodies"]), result


def test_push_new_version_zero_downtime(world):
    git_repo(world["src"], {"app.py": hello_source("v2:")}, "second")
    load = Load(world["domain"], "deploy")
    rc, out, seconds = push(world["alice"], world["app"], world["src"])
    result = load.finish()
    report(world, "deploy", result)
    assert rc == 0, out
    assert serving(world).startswith("v2: Bonjour"), serving(world)
    assert result["failures"] == 0, result
    print(f"second push: {seconds:.1f} s")


def test_rollback_zero_downtime(world):
    current = releases(world)[0]["version"]
    load = Load(world["domain"], "rollback")
    status, answer = world["alice"].api("POST", f"/v2/apps/{world['app']}/releases/rollback/", {})
    result = load.finish()
    report(world, "rollback", result)
    assert status == 201 and answer["version"] == current + 1, answer
    body = serving(world)
    assert body.startswith("Bonjour") and not body.startswith("v2:"), body  # the first push's code
    assert result["failures"] == 0, result


def test_scale_web_3_zero_downtime(world):
    load = Load(world["domain"], "scale")
    world["alice"].api("POST", f"/v2/apps/{world['app']}/scale/", {"web": 3})
    result = load.finish()
    report(world, "scale web=3", result)
    assert result["failures"] == 0, result

    def tasks():
        seen = {re.sub(r"^.* on (\S+)\)$", r"\1", serving(world)) for _ in range(24)}
        return seen if len(seen) >= 3 else None
    seen = wait_for(tasks, 30, 0.5, "three tasks answering")
    print(f"tasks answering: {sorted(seen)}")
    assert len(seen) == 3, seen
    _, pods = world["alice"].api("GET", f"/v2/apps/{world['app']}/pods/")
    assert len([p for p in pods["results"] if p["type"] == "web"]) == 3, pods


def test_broken_dockerfile_rejected(world):
    before, versions = serving(world), len(releases(world))
    git_repo(world["src"], {"Dockerfile": dockerfile(world["aio"]["registry"],
                                                      "RUN echo slipway-e2e-build-error && no-such-command\n")},
             "broken")
    rc, out, _ = push(world["alice"], world["app"], world["src"])
    print(out)
    assert rc != 0, out
    assert "slipway-e2e-build-error" in out and "no-such-command" in out, out  # the build's own error
    assert "remote:  !     " in out and "[remote rejected]" in out, out
    assert serving(world).split(" (")[0] == before.split(" (")[0], serving(world)
    assert len(releases(world)) == versions


def test_unhealthy_release_rejected(world):
    before = serving(world)
    git_repo(world["src"], {"Dockerfile": dockerfile(world["aio"]["registry"]),
                            "Procfile": "web: sleep infinity\n"}, "never healthy")
    load = Load(world["domain"], "unhealthy")
    rc, out, seconds = push(world["alice"], world["app"], world["src"])
    result = load.finish()
    report(world, "unhealthy deploy", result)
    print(out)
    assert rc != 0, out
    assert "[remote rejected]" in out
    assert releases(world)[0]["failed"], releases(world)[0]
    assert serving(world).split(" (")[0] == before.split(" (")[0], serving(world)
    assert result["failures"] == 0, result
    print(f"unhealthy push rejected after {seconds:.1f} s")


def test_refusals(world, user_factory):
    alice, app = world["alice"], world["app"]
    bob = user_factory("bob")
    bobs = unique("bobs-")
    bob.api("POST", "/v2/apps/", {"id": bobs})
    world["bob"], world["bobs"] = bob, bobs

    # a key the controller does not know
    sh(f"rm -f {WORK}/keys/stranger {WORK}/keys/stranger.pub && ssh-keygen -q -t ed25519 -N '' -f {WORK}/keys/stranger")
    stranger = alice.ssh.replace(alice.key, f"{WORK}/keys/stranger")
    p = sh(f"{stranger} git@127.0.0.1 git-receive-pack \\'{app}.git\\' </dev/null 2>&1", check=False)
    assert p.returncode != 0 and "Permission denied (publickey)" in p.stdout, p.stdout
    # another user's app
    rc, out, _ = push(alice, bobs, world["src"])
    assert rc != 0 and f"You may not push to {bobs}" in out, out
    # a shell, and another command
    p = sh(f"{alice.ssh} git@127.0.0.1 </dev/null 2>&1", check=False)
    assert p.returncode != 0 and "Interactive shells are not available" in p.stdout, p.stdout
    p = sh(f"{alice.ssh} git@127.0.0.1 cat /etc/passwd </dev/null 2>&1", check=False)
    assert p.returncode != 0 and "Command refused" in p.stdout and "root:" not in p.stdout, p.stdout
    # ../ in the repository path
    rc, out, _ = push(alice, app, world["src"], repo=f"../{app}.git")
    assert rc != 0 and "Paths with '..' are refused" in out, out
    rc, out, _ = push(alice, app, world["src"], repo=f"{app}/../../etc.git")
    assert rc != 0 and "Paths with '..' are refused" in out, out


def test_collaborator_push(world):
    alice, bob, app = world["alice"], world["bob"], world["app"]
    alice.api("POST", f"/v2/apps/{app}/perms/", {"username": bob.name})
    git_repo(world["src"], {"Dockerfile": dockerfile(world["aio"]["registry"]), "app.py": hello_source("v3:"),
                            "Procfile": HELLO.joinpath("Procfile").read_text()}, "by a collaborator")
    rc, out, _ = push(bob, app, world["src"])
    assert rc == 0, out
    assert serving(world).startswith("v3: Bonjour"), serving(world)
    assert releases(world)[0]["owner"] == bob.name, releases(world)[0]


def test_non_main_branch_refused(world):
    before = serving(world)
    git_repo(world["src"], {"app.py": hello_source("feature:")}, "a feature")
    rc, out, _ = push(world["alice"], world["app"], world["src"], ref="refs/heads/feature")
    assert rc != 0, out
    assert "Only main (or master) deploys" in out and "git push slipway HEAD:main" in out, out
    assert serving(world).split(" (")[0] == before.split(" (")[0], serving(world)


def test_no_secrets_in_images_or_artifacts(world):
    """The builder key and config values appear neither in the runner artifacts nor in the images."""
    key = world["aio"]["builder_key"]
    p = sh(f"grep -rlF -e {key} -e Bonjour /var/lib/slipway/deploy/artifacts/ || true")
    assert p.stdout.strip() == "", p.stdout
    images = sh(f"docker images --format '{{{{.Repository}}}}:{{{{.Tag}}}}' | grep '/{world['app']}:' || true")
    assert images.stdout.strip(), "no image of the app on the builder"
    for image in images.stdout.split():
        inspect = sh(f"docker image inspect {image}; docker history --no-trunc {image}").stdout
        assert "Bonjour" not in inspect and "GREETING" not in inspect and key not in inspect, image


def test_zero_downtime_summary(world):
    print("\nzero-downtime: " + ", ".join(f"{name}: {r['failures']} failed of {r['requests']}"
                                          for name, r in world["loads"].items()))
    assert all(r["failures"] == 0 for r in world["loads"].values())
