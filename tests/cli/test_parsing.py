"""Argument parsing and the pure helpers behind it."""
from __future__ import annotations

import pytest

from slipway_cli import gitremote
from slipway_cli.client import normalize_url
from slipway_cli.errors import CLIError, format_detail
from slipway_cli.commands.keys import key_id_for, parse_public_key
from slipway_cli.commands.limits import normalize_cpu, normalize_memory
from slipway_cli.commands.settings import normalize_cidr
from slipway_cli.context import parse_pairs, parse_scale, parse_version
from slipway_cli.main import build_parser, rewrite_argv, subcommands

REQUIRED_COMMANDS = """
register login logout whoami apps:create apps:list apps:info apps:destroy apps:transfer apps:logs apps:run
config:list config:set config:unset config:pull config:push releases:list releases:info releases:rollback
ps:list ps:scale ps:restart domains:list domains:add domains:remove certs:list certs:add certs:remove
certs:attach certs:detach keys:list keys:add keys:remove perms:list perms:create perms:delete limits:list
limits:set limits:unset healthchecks:list healthchecks:set healthchecks:unset tags:list tags:set tags:unset
labels:list labels:set labels:unset builds:list builds:info builds:create registry:list registry:set
registry:unset
maintenance:info maintenance:on maintenance:off routable whitelist:list whitelist:add whitelist:remove
git:remote users:list auth:cancel auth:passwd auth:regenerate
""".split()


def parse(*argv):
    parser, _ = build_parser()
    from slipway_cli.main import parse as _parse
    return _parse(parser, rewrite_argv(list(argv)))


def test_every_required_command_exists():
    parser, _ = build_parser()
    missing = [c for c in REQUIRED_COMMANDS if c not in subcommands(parser)]
    assert missing == []


@pytest.mark.parametrize("command", REQUIRED_COMMANDS)
def test_every_command_has_help(cli, command):
    r = cli(command, "--help")
    assert r.code == 0
    assert f"usage: slipway {command}" in r.out


def test_read_commands_take_json_and_app_commands_take_app():
    parser, reg = build_parser()
    cmds = subcommands(parser)
    reads = [c for c in REQUIRED_COMMANDS if c.endswith((":list", ":info")) or c in ("whoami", "routable")]
    for c in reads:
        opts = {s for a in cmds[c]._actions for s in a.option_strings}
        assert "--json" in opts, c
    for c in ("apps:info", "config:set", "ps:scale", "domains:add", "releases:rollback", "whitelist:add",
              "git:remote", "limits:set", "tags:set", "healthchecks:set", "maintenance:on"):
        opts = {s for a in cmds[c]._actions for s in a.option_strings}
        assert {"-a", "--app"} <= opts, c


def test_app_option_anywhere():
    a = parse("config:set", "FOO=bar", "-a", "myapp", "X=1")
    assert a.app == "myapp" and a.pairs == ["FOO=bar", "X=1"]
    a = parse("config:set", "--app=other", "FOO=bar")
    assert a.app == "other"


def test_group_names_and_shortcuts():
    assert parse("apps").command == "apps:list"
    assert parse("config", "-a", "x").command == "config:list"
    assert parse("ps", "-a", "x").command == "ps:list"
    assert parse("create", "foo").command == "apps:create"
    assert parse("scale", "web=2", "-a", "x").command == "ps:scale"
    assert parse("--profile", "other", "apps").command == "apps:list"
    assert parse("--profile", "other", "apps").profile == "other"
    assert parse("routing:enable", "-a", "x").command == "routable:on"


def test_unknown_command_is_an_error(cli):
    r = cli("apps:frobnicate")
    assert r.code == 1
    assert "Error: unknown command 'apps:frobnicate'" in r.err


def test_no_command_prints_help(cli):
    r = cli()
    assert r.code == 0
    assert "apps:create" in r.out and "git:remote" in r.out


def test_help_topic(cli):
    r = cli("help", "ps:scale")
    assert r.code == 0 and "TYPE=N" in r.out
    assert cli("help", "nope").code == 1


def test_missing_argument_is_usage_error(cli):
    r = cli("config:set")
    assert r.code == 2
    assert "usage:" in r.err


def test_destroy_confirm_and_limits_kind():
    assert parse("apps:destroy", "-a", "x", "--confirm", "x").confirm == "x"
    assert parse("limits:set", "web=1G", "-a", "x").kind == "memory"
    assert parse("limits:set", "--cpu", "web=500m", "-a", "x").kind == "cpu"
    assert parse("limits:unset", "-c", "web", "-a", "x").kind == "cpu"
    assert parse("perms:create", "bob", "--admin").admin is True


def test_run_collects_command_words():
    a = parse("apps:run", "-a", "x", "--", "ls", "-la", "/tmp")
    words = [w for w in a.run_command if w != "--"]
    assert words == ["ls", "-la", "/tmp"]


@pytest.mark.parametrize("items,expected", [
    (["A=1"], {"A": "1"}),
    (["A="], {"A": ""}),
    (["URL=postgres://u:p@h/db?x=1"], {"URL": "postgres://u:p@h/db?x=1"}),
    (["_X=a b", "B2=c"], {"_X": "a b", "B2": "c"}),
])
def test_parse_pairs(items, expected):
    assert parse_pairs(items, "KEY") == expected


@pytest.mark.parametrize("item", ["A", "1A=x", "A-B=x", "=x", "A B=x"])
def test_parse_pairs_rejects(item):
    with pytest.raises(CLIError):
        parse_pairs([item], "KEY")


def test_parse_scale():
    assert parse_scale(["web=3", "worker=1"]) == {"web": 3, "worker": 1}
    assert parse_scale(["web=0"]) == {"web": 0}
    for bad in (["web=-1"], ["web=x"], ["Web=1"], ["web"], ["web=1.5"], ["-web=1"]):
        with pytest.raises(CLIError):
            parse_scale(bad)


def test_parse_version():
    assert parse_version("v3") == 3
    assert parse_version("3") == 3
    assert parse_version("V12") == 12
    for bad in ("v0", "x", "v", "-1", "v1.2"):
        with pytest.raises(CLIError):
            parse_version(bad)


@pytest.mark.parametrize("given,expected", [
    ("https://slipway.example.com/", "https://slipway.example.com"),
    ("slipway.example.com", "https://slipway.example.com"),
    ("127.0.0.1:8000", "http://127.0.0.1:8000"),
    ("localhost:8000/v2/", "http://localhost:8000"),
    ("http://10.1.2.3:8000/v2", "http://10.1.2.3:8000"),
])
def test_normalize_url(given, expected):
    assert normalize_url(given) == expected


@pytest.mark.parametrize("bad", ["", "ftp://x", "http://"])
def test_normalize_url_rejects(bad):
    with pytest.raises(CLIError):
        normalize_url(bad)


def test_format_detail():
    assert format_detail("App not found") == "App not found"
    assert format_detail([{"loc": ["body", "id"], "msg": "bad id", "type": "x"}]) == "id: bad id"
    assert format_detail([{"loc": ["body"], "msg": "m1"}, {"msg": "m2"}]) == "m1; m2"
    assert format_detail({"values": "bad"}) == "values: bad"


def test_limits_normalization():
    assert normalize_memory("512m") == "512M"
    assert normalize_memory("1GB") == "1G"
    assert normalize_memory("64 K") == "64K"
    assert normalize_cpu("500m") == "500m"
    assert normalize_cpu("1.5") == "1.5"
    for bad in ("512", "M", "1.5G", "x"):
        with pytest.raises(CLIError):
            normalize_memory(bad)
    for bad in ("1.5m", "half", "-1"):
        with pytest.raises(CLIError):
            normalize_cpu(bad)


def test_cidr_normalization():
    assert normalize_cidr("10.0.0.1") == "10.0.0.1/32"
    assert normalize_cidr("10.0.0.5/24") == "10.0.0.0/24"
    assert normalize_cidr("2001:db8::1/64") == "2001:db8::/64"
    with pytest.raises(CLIError):
        normalize_cidr("10.0.0.300")


def test_public_key_parsing():
    line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHqTl5f8kW5rJjwq3rsnnnJrR1N0hS8u0vH4FzFcqQcJ alice@laptop"
    public, comment = parse_public_key(line + "\n", "k.pub")
    assert public == line and comment == "alice@laptop"
    assert key_id_for(comment, "/h/.ssh/id_ed25519.pub") == "alice@laptop"
    assert key_id_for(None, "/h/.ssh/id_ed25519.pub") == "id_ed25519"
    assert key_id_for("two words", "/h/.ssh/id_rsa.pub") == "id_rsa"
    for bad in ("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n",
                "not a key", "ssh-ed25519 !!!! c", line + "\n" + line + "\n"):
        with pytest.raises(CLIError):
            parse_public_key(bad, "k")


def test_builder_host_parsing():
    assert gitremote.split_host_port("builder.example.com") == ("builder.example.com", 2222)
    assert gitremote.split_host_port("b:2200") == ("b", 2200)
    assert gitremote.split_host_port("[::1]:22") == ("::1", 22)
    with pytest.raises(ValueError):
        gitremote.split_host_port("b:xx")


def test_run_takes_everything_after_the_command_word():
    a = parse("apps:run", "-a", "x", "ls", "-la", "-a", "/tmp")
    assert a.app == "x" and a.run_command == ["ls", "-la", "-a", "/tmp"]
    a = parse("run", "--json", "-a", "x", "echo", "hi")
    assert a.json and a.run_command == ["echo", "hi"]
