"""End-to-end: the real CLI (a `python -m slipway_cli` subprocess) against a live controller.

tests/live.py starts uvicorn on a fresh PostgreSQL database (scripts/dev-services.sh must have run).
Every run also checks that no token ever shows up in the CLI's output.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys

import pytest

from tests.live import ROOT, free_port, live_controller

CLI_DIR = os.path.join(ROOT, "cli")

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def ctl():
    with live_controller(admin=("admin", "pw-admin-123")) as c:  # the admin the bootstrap command makes
        yield c


class Session:
    """One user's shell: its own HOME and SLIPWAY_HOME, running the CLI as a subprocess."""

    def __init__(self, ctl, home):
        self.ctl = ctl
        self.home = str(home)
        self.work = os.path.join(self.home, "work")
        os.makedirs(self.work, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SLIPWAY_")}
        self.env.update({
            "HOME": self.home, "SLIPWAY_HOME": os.path.join(self.home, ".slipway"), "PYTHONPATH": CLI_DIR,
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
        })

    @property
    def profile_path(self):
        return os.path.join(self.home, ".slipway", "client.json")

    def profile(self):
        try:
            with open(self.profile_path) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def run(self, *args, input=None, cwd=None, env=None):
        before = self.profile().get("token")
        r = subprocess.run([sys.executable, "-m", "slipway_cli", *args], env=dict(self.env, **(env or {})),
                           cwd=cwd or self.work, input=input, capture_output=True, text=True, timeout=240)
        after = self.profile().get("token")
        for token in {before, after} - {None}:
            assert token not in r.stdout and token not in r.stderr, f"token printed by {args}"
        return r

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        assert r.returncode == 0, f"slipway {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r.stdout

    def fails(self, *args, match=None, **kw):
        r = self.run(*args, **kw)
        assert r.returncode == 1, f"slipway {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}"
        assert r.stderr.startswith("Error: "), r.stderr
        assert "Traceback" not in r.stderr
        if match:
            assert re.search(match, r.stderr), r.stderr
        return r.stderr

    def json(self, *args, **kw):
        return json.loads(self.ok(*args, "--json", **kw))


@pytest.fixture(scope="module")
def admin(ctl, tmp_path_factory):
    """The platform's admin (made by the bootstrap command), logged in; registration is admin_only."""
    s = Session(ctl, tmp_path_factory.mktemp("admin"))
    err = s.fails("register", ctl.url, "--username", "walk-in", "--password", "pw-walk-in-123")
    assert "Authentication credentials were not provided" in err
    assert "Logged in as admin" in s.ok("login", ctl.url, "--username", "admin", "--password", "pw-admin-123")
    return s


def new_user(admin, tmp_path_factory, name):
    """Register NAME through the admin's session (which stays logged in as admin), then log NAME in."""
    out = admin.ok("register", admin.ctl.url, "--username", name, "--password", f"pw-{name}-123")
    assert f"Registered {name}" in out and "Logged in" not in out
    assert admin.profile()["username"] == "admin"
    s = Session(admin.ctl, tmp_path_factory.mktemp(name))
    # the password on stdin, as scripts do it
    assert f"Logged in as {name}" in s.ok("login", admin.ctl.url, "--username", name, input=f"pw-{name}-123\n")
    return s


def test_register_login_whoami_logout(admin, ctl):
    prof = admin.profile()
    assert prof["url"] == ctl.url and prof["username"] == "admin" and prof["token"]
    assert stat.S_IMODE(os.stat(admin.profile_path).st_mode) == 0o600
    assert admin.ok("whoami").strip() == f"You are admin (admin) at {ctl.url}"
    me = admin.json("whoami")
    assert me["username"] == "admin" and me["is_superuser"] is True

    # a second profile of the same user, chosen by SLIPWAY_PROFILE
    other = {"SLIPWAY_PROFILE": "second"}
    admin.ok("login", ctl.url, "-u", "admin", "-p", "pw-admin-123", env=other)
    assert os.path.exists(os.path.join(admin.home, ".slipway", "second.json"))
    assert "admin" in admin.ok("whoami", env=other)
    assert "Logged out" in admin.ok("logout", env=other)
    admin.fails("whoami", env=other, match="not logged in")
    # logging in again needs no URL: the profile kept it
    admin.ok("login", "-u", "admin", "-p", "pw-admin-123", env=other)
    assert "admin" in admin.ok("whoami", "--profile", "second")
    assert admin.profile()["token"] == prof["token"]  # the default profile is untouched


def test_login_errors(admin, ctl, tmp_path_factory):
    s = Session(ctl, tmp_path_factory.mktemp("nobody"))
    s.fails("login", ctl.url, "-u", "admin", "-p", "wrong-password", match=r"^Error: \S")
    assert s.profile() == {}
    s.fails("whoami", match="not logged in")
    port = free_port()
    err = s.fails("login", f"http://127.0.0.1:{port}", "-u", "admin", "-p", "x")
    assert f"cannot reach the controller at http://127.0.0.1:{port}" in err
    s.fails("apps:list", match="not logged in")


def test_bad_token(admin, ctl, tmp_path_factory):
    s = Session(ctl, tmp_path_factory.mktemp("badtoken"))
    os.makedirs(os.path.dirname(s.profile_path))
    with open(s.profile_path, "w") as f:
        json.dump({"url": ctl.url, "username": "admin", "token": "0" * 40}, f)
    err = s.fails("apps:list")
    assert "run `slipway login` again" in err
    s.fails("whoami", "--json")


def test_apps(admin, ctl):
    out = admin.ok("apps:create", "e2e-app")
    assert "Created e2e-app" in out
    assert "Git remote" not in out  # not in a git repo
    lst = admin.json("apps:list")
    assert "e2e-app" in [a["id"] for a in lst["results"]]
    assert re.search(r"^e2e-app\s+admin\s+", admin.ok("apps:list"), re.M)
    info = admin.json("apps:info", "-a", "e2e-app")
    assert info["id"] == "e2e-app" and info["owner"] == "admin"
    text = admin.ok("apps:info", "-a", "e2e-app")
    assert "=== e2e-app Application" in text and "e2e-app.slipway.test" in text

    # a random name when none is given
    out = admin.ok("apps:create", "--no-remote")
    random_id = re.search(r"Created (\S+)", out).group(1)
    assert random_id in [a["id"] for a in admin.json("apps:list")["results"]]

    admin.fails("apps:create", "e2e-app", match="already exists")
    admin.fails("apps:create", "Bad_Name", match=r"^Error: id: ")
    admin.fails("apps:create", "slipway")  # reserved
    admin.fails("apps:info", "-a", "no-such-app")

    # destroy asks for confirmation (no terminal here: refuses), a wrong --confirm is refused
    admin.fails("apps:destroy", "-a", random_id, match="--confirm")
    admin.fails("apps:destroy", "-a", random_id, "--confirm", "other", match="does not match")
    assert random_id in [a["id"] for a in admin.json("apps:list")["results"]]
    admin.ok("apps:destroy", "-a", random_id, "--confirm", random_id)
    assert random_id not in [a["id"] for a in admin.json("apps:list")["results"]]


def test_apps_create_adds_git_remote_and_commands_find_the_app(admin):
    repo = os.path.join(admin.home, "repo")
    os.makedirs(repo)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=admin.env)
    out = admin.ok("apps:create", "remote-app", cwd=repo)
    host = admin.ctl.url.split("//")[1].rsplit(":", 1)[0]
    url = f"ssh://git@{host}:2222/remote-app.git"
    assert f"Git remote slipway added: {url}" in out
    got = subprocess.run(["git", "remote", "get-url", "slipway"], cwd=repo, capture_output=True, text=True,
                         env=admin.env).stdout.strip()
    assert got == url
    # no -a: the app is the one the remote points at
    assert admin.json("apps:info", cwd=repo)["id"] == "remote-app"
    admin.ok("config:set", "FROM_REMOTE=1", cwd=repo)
    assert admin.json("config:list", cwd=repo)["values"] == {"FROM_REMOTE": "1"}
    # outside the repo, without -a: a clear error
    admin.fails("config:list", match="no app given")
    # git:remote re-adds it after removal; destroy removes it
    admin.ok("git:remove", cwd=repo)
    assert "added" in admin.ok("git:remote", "-a", "remote-app", cwd=repo)
    admin.ok("apps:destroy", "--confirm", "remote-app", cwd=repo)
    r = subprocess.run(["git", "remote"], cwd=repo, capture_output=True, text=True, env=admin.env)
    assert "slipway" not in r.stdout.split()


def test_config_and_releases(admin):
    admin.ok("apps:create", "cfg-app")
    out = admin.ok("config:set", "FOO=bar", "SPACED=a b c", "URL=postgres://u:p@h/db?x=1", "-a", "cfg-app")
    assert "FOO" in out
    cfg = admin.json("config:list", "-a", "cfg-app")
    assert cfg["values"] == {"FOO": "bar", "SPACED": "a b c", "URL": "postgres://u:p@h/db?x=1"}
    text = admin.ok("config:list", "-a", "cfg-app")
    assert re.search(r"^FOO\s+bar$", text, re.M) and re.search(r"^SPACED\s+a b c$", text, re.M)
    assert "FOO=bar" in admin.ok("config:list", "--oneline", "-a", "cfg-app")

    admin.fails("config:set", "FOO=bar", "-a", "cfg-app")  # nothing changes: 409
    admin.fails("config:set", "1BAD=x", "-a", "cfg-app", match="invalid KEY")
    admin.fails("config:set", "NOEQUALS", "-a", "cfg-app", match="KEY=VALUE")
    admin.fails("config:set", "PORT=70000", "-a", "cfg-app", match="PORT")
    admin.fails("config:unset", "MISSING", "-a", "cfg-app")
    admin.ok("config:unset", "FOO", "-a", "cfg-app")
    assert "FOO" not in admin.json("config:list", "-a", "cfg-app")["values"]

    rels = admin.json("releases:list", "-a", "cfg-app")
    versions = [r["version"] for r in rels["results"]]
    assert versions == [3, 2, 1]
    text = admin.ok("releases:list", "-a", "cfg-app")
    assert re.search(r"^v3\s", text, re.M) and re.search(r"^v1\s", text, re.M)
    assert admin.json("releases:info", "v2", "-a", "cfg-app")["version"] == 2
    assert "=== cfg-app Release v1" in admin.ok("releases:info", "1", "-a", "cfg-app")
    admin.fails("releases:info", "v99", "-a", "cfg-app")
    admin.fails("releases:info", "vX", "-a", "cfg-app", match="invalid release version")

    # .env round trip
    envfile = os.path.join(admin.work, ".env")
    admin.ok("config:pull", "-a", "cfg-app")
    with open(envfile) as f:
        pulled = f.read()
    assert "SPACED='a b c'" in pulled and stat.S_IMODE(os.stat(envfile).st_mode) == 0o600
    with open(envfile, "a") as f:
        f.write("# added locally\nNEW_ONE=\"multi\\nline\"\n")
    admin.ok("config:push", "-a", "cfg-app")
    assert admin.json("config:list", "-a", "cfg-app")["values"]["NEW_ONE"] == "multi\nline"
    assert "Nothing to push" in admin.ok("config:push", "-a", "cfg-app")

    # rollback to v2 makes a new release with v2's config
    out = admin.ok("releases:rollback", "v2", "-a", "cfg-app")
    new = admin.json("releases:list", "-a", "cfg-app")["results"][0]["version"]
    assert f"now v{new}" in out
    assert admin.json("config:list", "-a", "cfg-app")["values"]["FOO"] == "bar"


def test_limits_tags_healthchecks(admin):
    admin.ok("apps:create", "lim-app")
    admin.ok("limits:set", "web=512m", "-a", "lim-app")
    admin.ok("limits:set", "--cpu", "web=500m", "-a", "lim-app")
    assert admin.json("limits:list", "-a", "lim-app") == {"memory": {"web": "512M"}, "cpu": {"web": "500m"}}
    admin.fails("limits:set", "web=lots", "-a", "lim-app", match="invalid memory limit")
    admin.ok("limits:unset", "web", "-a", "lim-app")
    assert admin.json("limits:list", "-a", "lim-app")["memory"] == {}

    admin.ok("tags:set", "zone=eu", "-a", "lim-app")
    assert admin.json("tags:list", "-a", "lim-app") == {"zone": "eu"}
    admin.ok("tags:unset", "zone", "-a", "lim-app")
    assert admin.json("tags:list", "-a", "lim-app") == {}

    admin.ok("healthchecks:set", "--path", "/health", "--timeout", "3", "-a", "lim-app")
    admin.ok("healthchecks:set", "--interval", "2", "-a", "lim-app")  # keeps the path
    hc = admin.json("healthchecks:list", "-a", "lim-app")["web"]
    assert hc["path"] == "/health" and hc["timeout"] == 3 and hc["interval"] == 2
    admin.fails("healthchecks:set", "-a", "lim-app", match="nothing to set")
    admin.ok("healthchecks:unset", "-a", "lim-app")
    assert admin.json("healthchecks:list", "-a", "lim-app") == {}


def test_settings(admin):
    admin.ok("apps:create", "set-app")
    assert "off" in admin.ok("maintenance:info", "-a", "set-app")
    admin.ok("maintenance:on", "-a", "set-app")
    assert admin.json("maintenance:info", "-a", "set-app")["maintenance"] is True
    admin.ok("maintenance:off", "-a", "set-app")
    admin.ok("routable", "off", "-a", "set-app")
    assert "not routable" in admin.ok("routable", "-a", "set-app")
    admin.ok("routable:on", "-a", "set-app")
    assert admin.json("routable", "-a", "set-app")["routable"] is True
    admin.ok("whitelist:add", "10.1.2.3", "192.168.0.0/16", "-a", "set-app")
    assert admin.json("whitelist:list", "-a", "set-app") == ["10.1.2.3/32", "192.168.0.0/16"]
    admin.fails("whitelist:add", "300.1.1.1", "-a", "set-app", match="invalid address")
    admin.ok("whitelist:remove", "10.1.2.3", "-a", "set-app")
    assert admin.json("whitelist:list", "-a", "set-app") == ["192.168.0.0/16"]
    admin.fails("whitelist:remove", "10.9.9.9", "-a", "set-app", match="not in the whitelist")


def test_domains(admin):
    admin.ok("apps:create", "dom-app")
    admin.ok("domains:add", "www.example.com", "-a", "dom-app")
    doms = [d["domain"] for d in admin.json("domains:list", "-a", "dom-app")["results"]]
    assert "www.example.com" in doms and "dom-app.slipway.test" in doms
    assert "www.example.com" in admin.ok("domains:list", "-a", "dom-app")
    admin.fails("domains:add", "www.example.com", "-a", "dom-app")  # taken
    admin.fails("domains:add", "not a domain!", "-a", "dom-app")
    admin.ok("domains:remove", "www.example.com", "-a", "dom-app")
    assert "www.example.com" not in admin.ok("domains:list", "-a", "dom-app")
    admin.fails("domains:remove", "www.example.com", "-a", "dom-app")


def test_keys(admin, ctl, tmp_path_factory):
    assert shutil.which("ssh-keygen"), "ssh-keygen is missing (scripts/install.sh installs openssh-client)"
    s = new_user(admin, tmp_path_factory, "keyuser")
    ssh = os.path.join(s.home, ".ssh")
    os.makedirs(ssh, mode=0o700)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "keyuser@laptop", "-f",
                    os.path.join(ssh, "id_ed25519")], check=True)
    fp = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", os.path.join(ssh, "id_ed25519.pub")],
                        capture_output=True, text=True, check=True).stdout.split()[1]
    assert "No SSH keys" in s.ok("keys:list")
    out = s.ok("keys:add")  # the only ~/.ssh/id_*.pub
    assert "Added SSH key keyuser@laptop" in out
    keys = s.json("keys:list")["results"]
    assert [k["id"] for k in keys] == ["keyuser@laptop"]
    assert keys[0]["fingerprint_sha256"] == fp
    assert fp in s.ok("keys:list")
    s.fails("keys:add")  # the same key again
    s.fails("keys:add", os.path.join(ssh, "id_ed25519"), match="private key")
    # a second key file: the default is ambiguous now, a path and --id work
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "", "-f",
                    os.path.join(ssh, "id_rsa")], check=True)
    s.fails("keys:add", match="several keys")
    s.ok("keys:add", os.path.join(ssh, "id_rsa.pub"), "--id", "work-rsa")
    assert sorted(k["id"] for k in s.json("keys:list")["results"]) == ["keyuser@laptop", "work-rsa"]
    s.ok("keys:remove", "keyuser@laptop")
    assert [k["id"] for k in s.json("keys:list")["results"]] == ["work-rsa"]
    s.fails("keys:remove", "keyuser@laptop")


def test_perms_and_transfer(admin, tmp_path_factory):
    bob = new_user(admin, tmp_path_factory, "bob")
    bob.ok("apps:create", "bob-app")
    admin_reach = admin.json("apps:list")["results"]
    assert "bob-app" in [a["id"] for a in admin_reach]  # admins see every app

    carol = new_user(admin, tmp_path_factory, "carol")
    carol.fails("apps:info", "-a", "bob-app")  # 403
    assert "bob-app" not in [a["id"] for a in carol.json("apps:list")["results"]]
    bob.ok("perms:create", "carol", "-a", "bob-app")
    assert bob.json("perms:list", "-a", "bob-app")["users"] == ["carol"]
    assert "carol" in bob.ok("perms:list", "-a", "bob-app")
    assert carol.json("apps:info", "-a", "bob-app")["owner"] == "bob"
    carol.ok("config:set", "BY_CAROL=1", "-a", "bob-app")
    carol.fails("apps:destroy", "-a", "bob-app", "--confirm", "bob-app")  # collaborators cannot destroy
    bob.fails("perms:create", "nobody-such", "-a", "bob-app")
    bob.ok("perms:delete", "carol", "-a", "bob-app")
    carol.fails("apps:info", "-a", "bob-app")

    # admin permissions
    assert [u["username"] for u in admin.json("perms:list", "--admin")["results"]] == ["admin"]
    bob.fails("perms:create", "carol", "--admin")  # bob is no admin
    admin.ok("perms:create", "bob", "--admin")
    assert "bob" in admin.ok("perms:list", "--admin")
    assert "(admin)" in bob.ok("whoami")
    admin.ok("perms:delete", "bob", "--admin")
    assert "(admin)" not in bob.ok("whoami")

    # users:list is for admins
    names = [u["username"] for u in admin.json("users:list")["results"]]
    assert {"admin", "bob", "carol"} <= set(names)
    carol.fails("users:list")

    # transfer
    bob.ok("apps:transfer", "carol", "-a", "bob-app")
    assert carol.json("apps:info", "-a", "bob-app")["owner"] == "carol"
    bob.fails("apps:info", "-a", "bob-app")


def test_auth_token_and_password_and_cancel(admin, tmp_path_factory):
    dave = new_user(admin, tmp_path_factory, "dave")
    old = dave.profile()["token"]
    # another shell still holding the old token
    stale = Session(admin.ctl, tmp_path_factory.mktemp("dave-stale"))
    shutil.copytree(os.path.join(dave.home, ".slipway"), os.path.join(stale.home, ".slipway"))
    assert "Token regenerated" in dave.ok("auth:regenerate")
    assert dave.profile()["token"] != old
    dave.ok("whoami")
    stale.fails("whoami", match="login")

    dave.fails("auth:passwd", "--password", "wrong", "--new-password", "pw-dave-456")
    dave.ok("auth:passwd", "--password", "pw-dave-123", "--new-password", "pw-dave-456")
    dave.fails("login", "-u", "dave", "-p", "pw-dave-123")
    dave.ok("login", "-u", "dave", "-p", "pw-dave-456")
    admin.ok("auth:passwd", "--username", "dave", "--new-password", "pw-dave-789")
    dave.ok("login", "-u", "dave", "-p", "pw-dave-789")

    # cancel: refused while dave owns an app, and without confirmation
    dave.ok("apps:create", "dave-app")
    dave.fails("auth:cancel", match="--confirm dave")
    dave.fails("auth:cancel", "--confirm", "dave")  # 409: owns apps
    dave.ok("apps:destroy", "-a", "dave-app", "--confirm", "dave-app")
    assert "deleted" in dave.ok("auth:cancel", "--confirm", "dave")
    assert "token" not in dave.profile()
    dave.fails("login", "-u", "dave", "-p", "pw-dave-789")


def test_ps_and_logs_without_a_build(admin):
    admin.ok("apps:create", "ps-app")
    assert admin.json("ps:list", "-a", "ps-app")["results"] == []
    assert "No processes running" in admin.ok("ps:list", "-a", "ps-app")
    admin.fails("ps:scale", "web=1", "-a", "ps-app")  # no build yet: no web type
    admin.fails("ps:scale", "web=-1", "-a", "ps-app", match="invalid count")
    admin.fails("apps:run", "-a", "ps-app", "echo", "hi")
    r = admin.run("apps:logs", "-a", "ps-app")
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr


def test_certs_errors(admin):
    assert isinstance(admin.json("certs:list")["results"], list)
    admin.fails("certs:info", "no-such-cert")
    admin.fails("certs:add", "c1", "/nonexistent.pem", "/nonexistent.key", match="cannot read")


def test_certs(admin, tmp_path):
    """A self-signed certificate: add, attach to an app domain, detach, remove."""
    pytest.importorskip("cryptography")
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cert.example.com")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("cert.example.com")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "c.pem", tmp_path / "k.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    admin.fails("certs:add", "swapped", str(key_file), str(cert_file))
    admin.ok("certs:add", "example", str(cert_file), str(key_file))
    c = admin.json("certs:info", "example")
    assert c["common_name"] == "cert.example.com" and "key" not in c
    assert "example" in admin.ok("certs:list")
    admin.ok("apps:create", "cert-app")
    admin.ok("domains:add", "cert.example.com", "-a", "cert-app")
    admin.ok("certs:attach", "example", "cert.example.com")
    assert "cert.example.com" in admin.json("certs:info", "example")["domains"]
    admin.ok("certs:detach", "example", "cert.example.com")
    assert "cert.example.com" not in (admin.json("certs:info", "example")["domains"] or [])
    admin.ok("certs:remove", "example")
    admin.fails("certs:info", "example")
