"""A stranger's input to the builder is data: config values, BUILDPACK_URL, file names, symbolic links, Procfile
lines and branch names never run as shell or template on the platform host, and never make the push print a
file of the host. Each attack fails with a clear message, and the stranger's own app still deploys."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import get, push, sh, wait_for

from .tenant import Marker, hello, leaks_nothing, push_tree, still_deploys, stranger

pytestmark = pytest.mark.timeout(1800)
STATIC = {"public/index.html": "<h1>static ok</h1>"}


@pytest.fixture
def world(aio, user_factory):
    return {**stranger(aio, user_factory, "inj"), "aio": aio}


def config(world, values: dict) -> None:
    world["owner"].api("POST", f"/v2/apps/{world['app']}/config/", {"values": values})


def serves(world, text: str) -> None:
    wait_for(lambda: (lambda r: r[0] == 200 and text in r[1])(get(world["domain"])), timeout=60,
             message=f"{world['app']} to serve {text!r}")


def test_buildpack_url_with_shell_syntax_is_refused_and_never_runs(world):
    marker = Marker()
    for url in (f"https://example.test/x$({marker.command}).git", f"https://example.test/`{marker.command}`",
                f'https://example.test/"; {marker.command}; echo "'):
        config(world, {"BUILDPACK_URL": url})
        rc, out = push_tree(world, STATIC)
        assert rc != 0 and "BUILDPACK_URL must be an https URL" in out, out[-3000:]
        assert not marker.made(), f"{url!r} ran on the builder"
    config(world, {"BUILDPACK_URL": None})
    still_deploys(world["aio"], world)


@pytest.mark.parametrize("url", ["file:///var/lib/slipway/repos/other.git", "/var/lib/slipway/repos/other.git",
                                 "ssh://git@example.test/x.git", "--upload-pack=touch /tmp/x", "http://example.test/x",
                                 "https://-oProxyCommand=x/y"])
def test_buildpack_url_must_be_https(world, url):
    config(world, {"BUILDPACK_URL": url})
    rc, out = push_tree(world, STATIC)
    assert rc != 0 and "BUILDPACK_URL must be an https URL" in out, out[-3000:]
    config(world, {"BUILDPACK_URL": None})
    still_deploys(world["aio"], world)


def test_config_values_with_shell_and_template_syntax_stay_data(world):
    marker = Marker()
    values = {"A": f"$({marker.command})", "B": f"`{marker.command}`", "C": f"'; {marker.command}; '",
              "D": f"\"; {marker.command}; \"", "E": "{{ lookup('ansible.builtin.pipe', '%s') }}" % marker.command,
              "F": "line one\nline two $HOME"}
    config(world, values)
    rc, out = push_tree(world, {**STATIC, "public/index.html": "<h1>data ok</h1>"})
    assert rc == 0, out[-3000:]
    serves(world, "data ok")
    assert not marker.made()
    _, answer = world["owner"].api("POST", f"/v2/apps/{world['app']}/run/", {"command": "printenv E; printenv A"})
    assert answer["output"].splitlines()[:2] == [values["E"], values["A"]], answer
    task = sh(f"docker ps -q --filter label=slipway.app={world['app']} | head -1").stdout.strip()
    assert sh(f"docker exec {task} printenv E").stdout.strip() == values["E"]  # the service's env, not a template


def test_a_procfile_linked_to_a_host_file_is_refused_without_printing_it(aio, world):
    rc, out = push_tree(world, hello(aio["registry"]), {"Procfile": "/etc/slipway/builder/controller.curl"})
    assert rc != 0 and "Procfile is a symbolic link that points outside the repository" in out, out[-3000:]
    assert leaks_nothing(out, aio["builder_key"]), out[-3000:]
    still_deploys(aio, world)


@pytest.mark.parametrize("links", [
    {"Dockerfile": "/etc/slipway/builder/controller.curl"},
    {"conf": "/etc/slipway/builder"},
    {"deep/er/key": "../../../../../../../etc/slipway/builder/buildcache.curl"},
    {"{{ lookup('ansible.builtin.pipe', 'id') }}": "/etc/passwd"},
])
def test_links_that_leave_the_tree_are_refused(aio, world, links):
    marker = Marker()
    links = {name.replace("'id'", repr(marker.command)): target for name, target in links.items()}
    files = {name: text for name, text in {**hello(aio["registry"]), "Procfile": "web: python3 -u /app/app.py\n"}.items()
             if name not in links}
    rc, out = push_tree(world, files, links)
    name = next(iter(links))
    assert rc != 0 and f"{name} is a symbolic link that points outside the repository" in out, out[-3000:]
    assert leaks_nothing(out, aio["builder_key"]) and "root:x:0:0" not in out, out[-3000:]
    assert not marker.made()
    still_deploys(aio, world)


def test_links_inside_the_tree_and_odd_names_still_deploy(aio, world):
    marker = Marker()
    files = {**hello(aio["registry"], "odd"), "Procfile": "web: python3 -u /app/app.py\n",
             f"$({marker.command}).txt": "x", "docs/a b;c'd\".txt": "x"}
    rc, out = push_tree(world, files, {"app-link.py": "app.py", "docs/up": "../docs"})
    assert rc == 0, out[-3000:]
    serves(world, "odd")
    assert not marker.made()


def test_procfile_lines_with_template_syntax_stay_data(aio, world):
    marker = Marker()
    line = "{{ lookup('ansible.builtin.pipe', '%s') }}" % marker.command
    procfile = f"web: python3 -u /app/app.py\nworker: echo {line}; sleep 600\n"
    rc, out = push_tree(world, {**hello(aio["registry"], "proc"), "Procfile": procfile})
    assert rc == 0, out[-3000:]
    assert not marker.made()
    _, build = world["owner"].api("GET", f"/v2/apps/{world['app']}/builds/")
    assert build["results"][0]["procfile"]["worker"] == f"echo {line}; sleep 600", build["results"][0]


def test_branch_names_with_shell_syntax_are_refused(aio, world):
    marker = Marker()
    push_tree(world, hello(aio["registry"]))
    # quoted for the pusher's own shell, and without spaces (git refuses them in a ref): these very bytes reach
    # the builder
    ref = "refs/heads/x$(" + marker.command.replace(" ", "${IFS}") + ")"
    rc, out, _ = push(world["owner"], world["app"], world["src"], ref=f"'{ref}'")
    assert rc != 0 and "Only main (or master) deploys" in out, out[-3000:]
    assert not marker.made()
    assert sh(f"ls /tmp | grep -c {marker.path[5:]} || true").stdout.strip() == "0"
    still_deploys(aio, world)
