"""Commands against a stub controller: request bodies, error handling, pagination, TLS and --ca."""
from __future__ import annotations

import datetime
import json
import os
import ssl
import stat

import pytest

from slipway_cli import config
from slipway_cli.client import Client

from tests.cli.conftest import TOKEN, Stub


def test_login_stores_profile_and_never_prints_token(home, stub, cli):
    stub.on("POST", "/v2/auth/login/", 200, {"token": TOKEN})
    r = cli("login", stub.url + "/", "--username", "alice", "--password", "pw")
    assert r.code == 0, r
    assert TOKEN not in r.out + r.err
    assert stub.last("POST", "/v2/auth/login/")["body"] == {"username": "alice", "password": "pw"}
    assert "Authorization" not in stub.last("POST", "/v2/auth/login/")["headers"]
    p = config.load()
    assert (p.url, p.username, p.token) == (stub.url, "alice", TOKEN)
    assert stat.S_IMODE(os.stat(p.path).st_mode) == 0o600


def test_token_header_and_user_agent(logged_in, cli):
    logged_in.on("GET", "/v2/auth/whoami/", 200, {"username": "alice", "is_superuser": False})
    r = cli("whoami")
    assert r.out.strip() == f"You are alice at {logged_in.url}"
    h = logged_in.last("GET", "/v2/auth/whoami/")["headers"]
    assert h["Authorization"] == f"token {TOKEN}"
    assert h["User-Agent"].startswith("slipway-cli/")


def test_server_detail_is_the_error(logged_in, cli):
    logged_in.on("POST", "/v2/apps/", 409, {"detail": "App with this id already exists: x"})
    r = cli("apps:create", "x")
    assert r.code == 1
    assert r.err == "Error: App with this id already exists: x\n"
    assert r.out == ""


@pytest.mark.parametrize("body", [
    {"id": ["String should match pattern"], "detail": "id: String should match pattern"},  # this controller
    {"id": ["String should match pattern"]},  # Deis's controller: the fields alone
])
def test_validation_errors_name_the_field(logged_in, cli, body):
    logged_in.on("POST", "/v2/apps/", 400, body)
    r = cli("apps:create", "x")
    assert r.err == "Error: id: String should match pattern\n"


def test_401_suggests_login(logged_in, cli):
    logged_in.on("GET", "/v2/apps/", 401, {"detail": "Invalid token."})
    r = cli("apps:list")
    assert r.code == 1
    assert r.err == "Error: Invalid token. (run `slipway login` again)\n"
    assert TOKEN not in r.err


def test_non_json_error_body(logged_in, cli):
    logged_in.on("GET", "/v2/apps/", 502, "<html><body>Bad Gateway</body></html>", "text/html")
    r = cli("apps:list")
    assert r.code == 1 and r.err.startswith("Error: 502")
    assert "<html>" not in r.err
    logged_in.on("GET", "/v2/apps/", 500, "Internal Server Error", "text/plain")
    assert cli("apps:list").err == "Error: 500 Internal Server Error\n"


def test_non_json_success_body(logged_in, cli):
    logged_in.on("GET", "/v2/apps/", 200, "<html>a web page</html>", "text/html")
    r = cli("apps:list")
    assert r.code == 1 and "did not answer JSON" in r.err


def test_connection_refused_names_the_url(home, cli):
    from tests.live import free_port
    port = free_port()
    p = config.load()
    p.url, p.token = f"http://127.0.0.1:{port}", TOKEN
    config.save(p)
    r = cli("apps:list")
    assert r.code == 1
    assert r.err.startswith(f"Error: cannot reach the controller at http://127.0.0.1:{port} (GET /v2/apps/)")
    assert "Traceback" not in r.err and TOKEN not in r.err


def test_redirect_is_reported(logged_in, cli):
    logged_in.on("GET", "/v2/apps/", lambda req: (301, None))
    r = cli("apps:list")
    assert r.code == 1 and "redirect" in r.err


def test_pagination_collects_every_page(logged_in):
    items = [{"id": f"app{i}", "owner": "alice"} for i in range(7)]

    def page(req):
        limit = int(req["query"]["limit"][0])
        offset = int(req["query"].get("offset", ["0"])[0])
        limit = min(limit, 3)  # the server caps pages at 3
        chunk = items[offset:offset + limit]
        nxt = "x" if offset + limit < len(items) else None
        return 200, {"count": len(items), "next": nxt, "previous": None, "results": chunk}

    logged_in.on("GET", "/v2/apps/", page)
    body = Client(logged_in.url, TOKEN).apps()
    assert [a["id"] for a in body["results"]] == [f"app{i}" for i in range(7)]
    assert body["count"] == 7 and body["next"] is None
    assert len([r for r in logged_in.requests if r["path"] == "/v2/apps/"]) == 3


def test_json_prints_the_servers_json(logged_in, cli):
    body = {"count": 1, "next": None, "previous": None,
            "results": [{"id": "a", "owner": "alice", "url": "a.example.com", "extra": [1, 2]}]}
    logged_in.on("GET", "/v2/apps/", 200, body)
    r = cli("apps:list", "--json")
    assert json.loads(r.out) == body
    r = cli("apps:list")
    assert r.out.splitlines() == ["ID  OWNER  URL", "a   alice  a.example.com"]


def test_config_set_unset_bodies(logged_in, cli):
    logged_in.on("POST", "/v2/apps/a/config/", 201, {"values": {"A": "1=2", "E": ""}})
    r = cli("config:set", "A=1=2", "E=", "-a", "a")
    assert r.code == 0, r
    assert logged_in.last("POST")["body"] == {"values": {"A": "1=2", "E": ""}}
    assert "A  1=2" in r.out
    cli("config:unset", "A", "E", "-a", "a")
    assert logged_in.last("POST")["body"] == {"values": {"A": None, "E": None}}


def test_scale_and_restart(logged_in, cli):
    logged_in.on("POST", "/v2/apps/a/scale/", 204, None)
    r = cli("ps:scale", "web=3", "worker=0", "-a", "a")
    assert r.code == 0 and "web=3 worker=0" in r.out
    assert logged_in.last("POST")["body"] == {"web": 3, "worker": 0}
    pods = [{"name": "a-web-1", "type": "web", "release": "v2", "state": "up", "node": "n1",
             "started": "2026-11-26T00:00:00Z"}]
    logged_in.on("POST", "/v2/apps/a/pods/restart/", 200, pods)
    logged_in.on("POST", "/v2/apps/a/pods/web/restart/", 200, pods)
    logged_in.on("POST", "/v2/apps/a/pods/web/a-web-1/restart/", 200, pods)
    assert "a-web-1" in cli("ps:restart", "-a", "a").out
    assert cli("ps:restart", "web", "-a", "a").code == 0
    assert cli("ps:restart", "web", "a-web-1", "-a", "a").code == 0
    assert [r["path"] for r in logged_in.requests if "restart" in r["path"]] == [
        "/v2/apps/a/pods/restart/", "/v2/apps/a/pods/web/restart/", "/v2/apps/a/pods/web/a-web-1/restart/"]


def test_run_exit_code_and_output(logged_in, cli):
    logged_in.on("POST", "/v2/apps/a/run/", 200, {"exit_code": 3, "output": "oops"})
    r = cli("apps:run", "-a", "a", "sh", "-c", "exit 3")
    assert r.code == 3 and r.out == "oops\n"
    assert logged_in.last("POST")["body"] == {"command": "sh -c exit 3"}
    cli("run", "-a", "a", "echo 'a b'")
    assert logged_in.last("POST")["body"] == {"command": "echo 'a b'"}
    assert cli("apps:run", "-a", "a").code == 1


def test_logs_params_and_text(logged_in, cli):
    logged_in.on("GET", "/v2/apps/a/logs/", 200, "line1\nline2", "text/plain")
    r = cli("apps:logs", "-a", "a", "-n", "50", "--type", "web")
    assert r.out == "line1\nline2\n"
    assert logged_in.last("GET")["query"] == {"log_lines": ["50"], "type": ["web"]}


def test_destroy_prompt_refused_without_tty(logged_in, cli):
    r = cli("apps:destroy", "-a", "a")
    assert r.code == 1 and "--confirm a" in r.err
    assert not [q for q in logged_in.requests if q["method"] == "DELETE"]
    logged_in.on("DELETE", "/v2/apps/a/", 204, None)
    assert cli("apps:destroy", "-a", "a", "--confirm", "a").code == 0


def test_destroy_prompt_with_tty(logged_in, cli, monkeypatch):
    monkeypatch.setattr("slipway_cli.context.stdin_is_tty", lambda: True)
    answers = iter(["wrong"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    r = cli("apps:destroy", "-a", "a")
    assert r.code == 1 and "does not match" in r.err
    logged_in.on("DELETE", "/v2/apps/a/", 204, None)
    monkeypatch.setattr("builtins.input", lambda prompt="": "a")
    assert cli("apps:destroy", "-a", "a").code == 0


def test_config_pull_merges_and_push_sends_delta(logged_in, cli, home):
    logged_in.on("GET", "/v2/apps/a/config/", 200, {"values": {"A": "server", "B": "two words", "C": "new"}})
    with open(".env", "w") as f:
        f.write("A=local\nLOCAL_ONLY=1\n")
    r = cli("config:pull", "-a", "a")
    assert r.code == 0 and "Kept local values for A" in r.out
    with open(".env") as f:
        assert f.read() == "A=local\nLOCAL_ONLY=1\nB='two words'\nC=new\n"
    cli("config:pull", "-a", "a", "--overwrite")
    with open(".env") as f:
        assert f.read().startswith("A=server\n")
    assert cli("config:pull", "-a", "a", "--path", "-").out == "A=server\nB='two words'\nC=new\n"

    logged_in.on("POST", "/v2/apps/a/config/", 201, {"values": {}})
    r = cli("config:push", "-a", "a")
    assert r.code == 0, r
    assert logged_in.last("POST")["body"] == {"values": {"LOCAL_ONLY": "1"}}
    with open("bad.env", "w") as f:
        f.write("A=1\nthis is not\n")
    r = cli("config:push", "-a", "a", "--path", "bad.env")
    assert r.code == 1 and "line 2" in r.err
    assert cli("config:push", "-a", "a", "--path", "missing.env").err == "Error: missing.env not found\n"


def test_settings_commands_send_what_the_controller_merges(logged_in, cli):
    logged_in.on("POST", "/v2/apps/a/whitelist/", 201, {"addresses": ["1.2.3.4/32", "10.0.0.0/8"]})
    logged_in.on("POST", "/v2/apps/a/settings/", 200, {})
    r = cli("whitelist:add", "10.0.0.0/8", "1.2.3.4", "1.2.3.4/32", "-a", "a")
    assert logged_in.last("POST")["body"] == {"addresses": ["10.0.0.0/8", "1.2.3.4/32"]}
    assert r.out == "Added to the whitelist of a: 10.0.0.0/8 1.2.3.4/32 (now 2)\n"
    cli("labels:set", "team=shop", "example.com/tier=", "-a", "a")
    assert logged_in.last("POST")["body"] == {"label": {"team": "shop", "example.com/tier": ""}}
    cli("labels:unset", "team", "-a", "a")
    assert logged_in.last("POST")["body"] == {"label": {"team": None}}
    assert cli("labels:set", "bad key=x", "-a", "a").code == 1
    logged_in.on("POST", "/v2/apps/a/config/", 201, {})
    r = cli("registry:set", "username=team", "password=p=w", "-a", "a")
    assert logged_in.last("POST")["body"] == {"registry": {"username": "team", "password": "p=w"}}
    assert "p=w" not in r.out and r.out == "Registry settings of a set: username password (a new release)\n"
    cli("registry:unset", "username", "password", "-a", "a")
    assert logged_in.last("POST")["body"] == {"registry": {"username": None, "password": None}}
    assert cli("registry:set", "email=x", "-a", "a").code == 1
    logged_in.on("POST", "/v2/apps/a/builds/", 201, {"image": "r.example.com/t/shop:1"})
    logged_in.on("GET", "/v2/apps/a/releases/", 200, {"count": 1, "next": None, "results": [{"version": 3}]})
    r = cli("pull", "r.example.com/t/shop:1", "--procfile", "web: ./serve", "--procfile", "worker: ./work", "-a", "a")
    assert logged_in.last("POST")["body"] == {"image": "r.example.com/t/shop:1",
                                              "procfile": {"web": "./serve", "worker": "./work"}}
    assert r.out.endswith("a is serving v3: r.example.com/t/shop:1\n"), r.out
    cli("maintenance:on", "-a", "a")
    assert logged_in.last("POST")["body"] == {"maintenance": True}
    cli("routable:off", "-a", "a")
    assert logged_in.last("POST")["body"] == {"routable": False}
    cli("tls:enable", "-a", "a")
    assert logged_in.last("POST")["body"] == {"enforce_https": True}


def test_perms_paths(logged_in, cli):
    logged_in.on("POST", "/v2/apps/a/perms/", 201, {})
    logged_in.on("DELETE", "/v2/apps/a/perms/bob", 204, None)
    logged_in.on("POST", "/v2/admin/perms/", 201, {})
    logged_in.on("DELETE", "/v2/admin/perms/bob", 204, None)
    assert cli("perms:create", "bob", "-a", "a").code == 0
    assert cli("perms:delete", "bob", "-a", "a").code == 0
    assert cli("perms:create", "bob", "--admin").code == 0
    assert cli("perms:delete", "bob", "--admin").code == 0
    assert [(r["method"], r["path"], r["body"]) for r in logged_in.requests] == [
        ("POST", "/v2/apps/a/perms/", {"username": "bob"}), ("DELETE", "/v2/apps/a/perms/bob", None),
        ("POST", "/v2/admin/perms/", {"username": "bob"}), ("DELETE", "/v2/admin/perms/bob", None)]


def test_path_segments_are_quoted(logged_in, cli):
    logged_in.on("DELETE", "/v2/keys/alice@laptop", 204, None)
    assert cli("keys:remove", "alice@laptop").code == 0
    cli("keys:remove", "a/b")
    assert logged_in.requests[-1]["path"] == "/v2/keys/a%2Fb"


def test_keys_add_default_file(logged_in, cli, home):
    line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHqTl5f8kW5rJjwq3rsnnnJrR1N0hS8u0vH4FzFcqQcJ me@box"
    r = cli("keys:add")
    assert r.code == 1 and "no ~/.ssh/id_*.pub" in r.err
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_ed25519.pub").write_text(line + "\n")
    (home / ".ssh" / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nx\n")
    logged_in.on("POST", "/v2/keys/", 201, {"id": "me@box", "fingerprint_sha256": "SHA256:abc"})
    r = cli("keys:add")
    assert r.code == 0 and "SHA256:abc" in r.out
    assert logged_in.last("POST")["body"] == {"id": "me@box", "public": line}


def test_register_admin_only_sends_token_and_keeps_profile(logged_in, cli):
    logged_in.on("POST", "/v2/auth/register/", 201, {"username": "bob"})
    r = cli("register", logged_in.url, "-u", "bob", "-p", "pw")
    assert r.code == 0 and "Logged in" not in r.out
    assert logged_in.last("POST")["headers"]["Authorization"] == f"token {TOKEN}"
    assert config.load().username == "alice"


def test_regenerate_saves_new_token(logged_in, cli):
    logged_in.on("POST", "/v2/auth/tokens/", 200, {"token": "new-token-xyz"})
    r = cli("auth:regenerate")
    assert r.code == 0 and "new-token-xyz" not in r.out + r.err
    assert config.load().token == "new-token-xyz"
    r = cli("auth:regenerate", "--username", "bob")
    assert r.code == 0 and "new-token-xyz" not in r.out
    assert logged_in.last("POST")["body"] == {"username": "bob"}
    assert config.load().token == "new-token-xyz"


# --- TLS: a stub controller behind a certificate from a private CA -------------------------------------

def _make_ca_and_cert(tmp_path):
    crypto = pytest.importorskip("cryptography")  # noqa: F841
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Slipway test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=10))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False),
                         critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=5))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "srv.pem", tmp_path / "srv.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_file, cert_file, key_file


@pytest.fixture
def tls_stub(tmp_path):
    ca_file, cert_file, key_file = _make_ca_and_cert(tmp_path)
    s = Stub()
    s.server.shutdown()  # restart it wrapped in TLS
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert_file), str(key_file))
    s.server.socket = ctx.wrap_socket(s.server.socket, server_side=True)
    import threading
    s.thread = threading.Thread(target=s.server.serve_forever, args=(0.05,), daemon=True)
    s.thread.start()
    s.url = s.url.replace("http://", "https://")
    yield s, ca_file
    s.close()


def test_login_with_private_ca(home, cli, tls_stub, tmp_path):
    stub, ca_file = tls_stub
    stub.on("POST", "/v2/auth/login/", 200, {"token": TOKEN})
    stub.on("GET", "/v2/auth/whoami/", 200, {"username": "alice"})
    r = cli("login", stub.url, "-u", "alice", "-p", "pw")
    assert r.code == 1
    assert f"TLS error talking to {stub.url}" in r.err and "--ca" in r.err
    r = cli("login", stub.url, "-u", "alice", "-p", "pw", "--ca", str(ca_file))
    assert r.code == 0, r
    p = config.load()
    assert p.ca == str(home / ".slipway" / "client.ca.pem")
    assert open(p.ca).read() == ca_file.read_text()
    os.unlink(ca_file)  # the profile keeps its own copy
    assert cli("whoami").code == 0
    # logging in again to the same controller keeps the CA
    assert cli("login", "-u", "alice", "-p", "pw").code == 0
    assert config.load().ca == p.ca


def test_login_ca_file_missing(home, cli, stub):
    stub.on("POST", "/v2/auth/login/", 200, {"token": TOKEN})
    r = cli("login", stub.url, "-u", "a", "-p", "b", "--ca", "/nonexistent/ca.pem")
    assert r.code == 1 and "cannot read CA file" in r.err
