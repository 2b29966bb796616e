"""Pure-function checks of the agents (no nginx, no sshd)."""
from __future__ import annotations

import os
import subprocess

import pytest

from conftest import AGENTS, SYSTEM_PYTHON
from slipway_agents import builder, nginxconf, routepush
from slipway_agents.common import load_config


@pytest.mark.parametrize("original, expected", [
    ("git-receive-pack 'myapp.git'", ("receive-pack", "myapp")),
    ("git-receive-pack '/myapp.git'", ("receive-pack", "myapp")),
    ("git-upload-pack 'myapp.git'", ("upload-pack", "myapp")),
    ("git-upload-pack '/my-app-2.git/'", ("upload-pack", "my-app-2")),
    ("git receive-pack 'myapp.git'", ("receive-pack", "myapp")),
    ('git-receive-pack "myapp.git"', ("receive-pack", "myapp")),
    ("git-receive-pack myapp.git", ("receive-pack", "myapp")),
    ("git-receive-pack 'myapp'", ("receive-pack", "myapp")),
])
def test_parse_command_accepts(original, expected):
    assert builder.parse_command(original) == expected


@pytest.mark.parametrize("original, message", [
    (None, "Interactive shells"),
    ("", "Interactive shells"),
    ("bash", "Command refused"),
    ("git-receive-pack", "Command refused"),
    ("scp -t /tmp", "Command refused"),
    ("git-receive-pack '../x.git'", "'..'"),
    ("git-receive-pack '/srv/../../etc.git'", "'..'"),
    ("git-receive-pack 'a/b.git'", "not a Slipway app"),
    ("git-receive-pack 'My_App.git'", "not a Slipway app"),
    ("git-receive-pack '-x.git'", "not a Slipway app"),
    ("git-receive-pack 'app.git'; rm -rf /", "not a Slipway app"),
    ("git-receive-pack '$(id).git'", "not a Slipway app"),
    ("git-receive-pack '" + "a" * 64 + ".git'", "not a Slipway app"),
    ("git-annex-shell 'x.git'", "Command refused"),
])
def test_parse_command_refuses(original, message):
    with pytest.raises(builder.Refused, match=message.replace("(", r"\(").replace("$", r"\$")):
        builder.parse_command(original)


def test_fingerprint_matches_ssh_keygen(tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    kb = (tmp_path / "k.pub").read_text().split()[1]
    fp = subprocess.run(["ssh-keygen", "-lf", str(tmp_path / "k.pub"), "-E", "sha256"], capture_output=True,
                        text=True).stdout.split()[1]
    assert builder.fingerprint_sha256(kb) == fp


def test_authorized_keys_rejects_odd_input_without_asking():
    cfg = dict(builder.DEFAULTS, controller_url="http://127.0.0.1:9", builder_key="k")
    assert builder.authorized_keys(cfg, "git", "SHA256:x", "ssh-ed25519", "not base64!") == ""
    assert builder.authorized_keys(cfg, "git", "SHA256:x", "ssh-dss", "AAAA") == ""
    assert builder.authorized_keys(cfg, "root", "SHA256:x", "ssh-ed25519", "AAAA") == ""


def test_load_config_layers(tmp_path):
    ini = tmp_path / "c.ini"
    secret = tmp_path / "key"
    secret.write_text("from-file\n")
    ini.write_text(f"[routesync]\ncontroller_url = http://ini\nrouter_key_file = {secret}\nwait = 5\n")
    defaults = {"controller_url": "", "router_key": "", "router_key_file": "", "wait": "25"}
    cfg = load_config("routesync", defaults, str(ini), environ={"SLIPWAY_WAIT": "7"})
    assert cfg == {"controller_url": "http://ini", "router_key": "from-file", "router_key_file": str(secret),
                   "wait": "7"}


def test_render_is_deterministic_and_escapes_nothing_unsafe():
    r = nginxconf.Renderer(nginxconf.Settings(http_listen=["8080"], https_listen=[]), "/x")
    routes = {"apps": [
        {"id": "b", "domains": ["b.test"], "endpoints": [{"address": "10.0.0.2", "port": 80}]},
        {"id": "a", "domains": ["a.test", "A.TEST.", "*.wild.test"],
         "endpoints": [{"address": "::1", "port": 81}, {"address": "10.0.0.1", "port": True}]},
        {"id": "c", "domains": ["a.test"], "endpoints": []},  # a domain can only belong to one app
        {"id": "d", "domains": ["slipway-routesync.invalid"], "endpoints": []},  # the sync's own check host
    ]}
    one = r.render(routes, "5")["slipway.conf"][0]
    assert one == r.render(routes, "5")["slipway.conf"][0]
    assert one.index("# app a") < one.index("# app b")
    assert "set $slipway_app a;" in one and "10.0.0" not in one and ":81" not in one  # endpoints: pushed table
    assert routepush.endpoint_table(routes) == {"a": ["[::1]:81"], "b": ["10.0.0.2:80"], "c": [], "d": []}
    assert "server_name a.test *.wild.test;" in one
    assert "# app c" not in one
    assert ".invalid" not in one
    assert "ssl" not in one  # no https listeners: no TLS servers


def test_agents_compile_on_every_supported_python():
    pyenv = os.path.expanduser("~/.pyenv/versions")
    found = 0
    for v in ("3.11", "3.12", "3.13"):
        cands = sorted(d for d in os.listdir(pyenv) if d.startswith(v + ".")) if os.path.isdir(pyenv) else []
        for d in cands[-1:]:
            py = os.path.join(pyenv, d, "bin", "python3")
            r = subprocess.run([py, "-I", "-W", "error", "-c",
                                "import sys; sys.path.insert(0, sys.argv[1]); import slipway_agents.builder, "
                                "slipway_agents.routesync", AGENTS], capture_output=True, text=True)
            assert r.returncode == 0, (py, r.stderr)
            found += 1
    r = subprocess.run([SYSTEM_PYTHON, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                        "import slipway_agents.builder, slipway_agents.routesync", AGENTS],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert found >= 1


@pytest.mark.parametrize("argv", [
    ["--config", "/etc/b.ini", "authorized-keys", "git", "SHA256:abc", "ssh-ed25519", "AAAA"],
    ["authorized-keys", "git", "", "ssh-ed25519", "AAAA"],
    ["--config", "/etc/b.ini", "serve", "alice"],
    ["pre-receive"],
])
def test_builder_arguments_read_as_argparse_reads_them(argv):
    assert vars(builder.parse_args(argv)) == vars(builder._argument_parser().parse_args(argv))


@pytest.mark.parametrize("argv", [[], ["serve"], ["serve", "a", "b"], ["deploy"], ["--config"]])
def test_builder_arguments_out_of_shape_get_argparse_usage(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        builder.parse_args(argv)
    assert exited.value.code == 2 and "usage: slipway-builder" in capsys.readouterr().err
