"""The controller client against a tiny real HTTP server (no mocks of open_url)."""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.slipway.paas.plugins.module_utils.api import (
    ControllerClient,
    ControllerError,
    controller_argument_spec,
    format_detail,
    wait_for_serving,
)

TOKEN = "t0ken"
KEYS = [{"id": "key%d" % i} for i in range(5)]


class Handler(BaseHTTPRequestHandler):
    """A few routes that answer like the controller does (Deis v2 shapes, FastAPI errors)."""

    requests: list = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status, body=None, raw=None, ctype="application/json", headers=None):
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _record(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        entry = {"method": self.command, "path": self.path, "headers": dict(self.headers),
                 "body": json.loads(body) if body else None}
        Handler.requests.append(entry)
        return entry

    def _route(self):
        req = self._record()
        url = urlsplit(self.path)
        if self.headers.get("Authorization") != "token " + TOKEN and not url.path.startswith("/open/"):
            return self._send(401, {"detail": "Invalid token."})
        if url.path == "/v2/apps/shop/":
            return self._send(200, {"id": "shop", "owner": "alice"})
        if url.path == "/v2/apps/" and self.command == "POST":
            if req["body"].get("id") == "Bad_Name":
                return self._send(400, {"id": ["string does not match"]})  # Deis's shape: no "detail"
            return self._send(201, dict(req["body"], owner="alice"))
        if url.path == "/v2/apps/shop/" and self.command == "DELETE":
            return self._send(204)
        if url.path == "/v2/keys/":
            q = parse_qs(url.query)
            limit, offset = int(q["limit"][0]), int(q["offset"][0])
            page = KEYS[offset:offset + limit]
            more = offset + limit < len(KEYS)
            return self._send(200, {"count": len(KEYS), "previous": None, "results": page,
                                    "next": ("/v2/keys/?limit=%d&offset=%d" % (limit, offset + limit)) if more
                                    else None})
        if url.path == "/v2/conflict/":
            return self._send(409, {"detail": "Nothing changed."})
        if url.path == "/v2/boom/":
            return self._send(500, raw=b"Internal Server Error", ctype="text/plain")
        if url.path == "/v2/moved":
            return self._send(307, headers={"Location": "/v2/moved/"})
        if url.path == "/v2/slow/":
            time.sleep(2)
            return self._send(200, {})
        if url.path == "/open/flaky":
            Handler.flaky += 1
            return self._send(200 if Handler.flaky >= 3 else 503, {})
        if url.path == "/open/down":
            return self._send(503, {"detail": "maintenance"})
        return self._send(404, {"detail": "Not found."})

    do_GET = do_POST = do_DELETE = _route


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def client(server):
    Handler.requests = []
    return ControllerClient(server, TOKEN, timeout=5)


def test_get_sends_token_and_decodes_json(client):
    assert client.get("/v2/apps/shop/") == {"id": "shop", "owner": "alice"}
    sent = Handler.requests[-1]
    assert sent["headers"]["Authorization"] == "token " + TOKEN
    assert sent["headers"]["Accept"] == "application/json"
    assert sent["headers"]["User-Agent"].startswith("slipway.paas")


def test_404_means_absent(client):
    assert client.get("/v2/apps/missing/") is None
    assert client.delete("/v2/apps/missing/") is False
    assert client.list("/v2/nothing/") is None


def test_must_get_turns_404_into_an_error(client):
    with pytest.raises(ControllerError) as err:
        client.must_get("/v2/apps/missing/")
    assert err.value.status == 404
    assert err.value.detail == "Not found."
    assert err.value.as_dict()["msg"] == "GET /v2/apps/missing/: HTTP 404: Not found."


def test_post_sends_json(client):
    assert client.post("/v2/apps/", {"id": "new"}) == {"id": "new", "owner": "alice"}
    sent = Handler.requests[-1]
    assert sent["body"] == {"id": "new"}
    assert sent["headers"]["Content-Type"] == "application/json"


def test_delete_answers_true_on_204(client):
    assert client.delete("/v2/apps/shop/") is True


def test_http_error_carries_method_path_status_and_detail(client):
    with pytest.raises(ControllerError) as err:
        client.post("/v2/apps/", {"id": "Bad_Name"})
    e = err.value
    assert (e.method, e.path, e.status) == ("POST", "/v2/apps/", 400)
    assert e.detail == "id: string does not match"
    assert e.as_dict() == {"msg": "POST /v2/apps/: HTTP 400: id: string does not match", "method": "POST",
                           "path": "/v2/apps/", "status": 400, "detail": "id: string does not match"}


def test_wrong_token_is_401(server):
    with pytest.raises(ControllerError) as err:
        ControllerClient(server, "wrong").get("/v2/apps/shop/")
    assert err.value.status == 401
    assert err.value.detail == "Invalid token."


def test_no_token_sends_no_authorization(server):
    Handler.requests = []
    with pytest.raises(ControllerError):
        ControllerClient(server).get("/v2/apps/shop/")
    assert "Authorization" not in Handler.requests[-1]["headers"]


def test_conflict_and_server_error(client):
    with pytest.raises(ControllerError) as err:
        client.post("/v2/conflict/", {})
    assert err.value.status == 409 and err.value.detail == "Nothing changed."
    with pytest.raises(ControllerError) as err:
        client.get("/v2/boom/")
    assert err.value.status == 500 and err.value.detail == "Internal Server Error"


def test_redirects_are_not_followed(client):
    with pytest.raises(ControllerError) as err:
        client.post("/v2/moved", {})
    assert err.value.status == 307


def test_list_follows_pagination(client):
    items = client.list("/v2/keys/", page_size=2)
    assert [k["id"] for k in items] == ["key0", "key1", "key2", "key3", "key4"]
    assert len([r for r in Handler.requests if r["path"].startswith("/v2/keys/")]) == 3


def test_query_and_trailing_slash_of_base(server):
    Handler.requests = []
    c = ControllerClient(server + "/", TOKEN)
    c.get("/v2/apps/shop/", query={"a": "b c"})
    assert Handler.requests[-1]["path"] == "/v2/apps/shop/?a=b+c"


def test_unreachable_controller():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ControllerError) as err:
        ControllerClient("http://127.0.0.1:%d" % port, TOKEN, timeout=2).get("/v2/apps/")
    assert err.value.status is None
    assert "unreachable" in err.value.msg and "refused" in err.value.msg.lower()


def test_timeout(server):
    with pytest.raises(ControllerError) as err:
        ControllerClient(server, TOKEN, timeout=0.5).get("/v2/slow/")
    assert err.value.status is None
    assert "timed out" in err.value.msg


def test_from_params_and_argument_spec(server):
    spec = controller_argument_spec()
    assert spec["token"]["no_log"] is True
    assert spec["url"]["fallback"][1] == ["SLIPWAY_URL"]
    assert spec["token"]["fallback"][1] == ["SLIPWAY_TOKEN"]
    c = ControllerClient.from_params({"url": server, "token": TOKEN, "validate_certs": False, "ca_path": None,
                                      "timeout": 7})
    assert (c.token, c.validate_certs, c.timeout) == (TOKEN, False, 7)


def test_format_detail():
    assert format_detail("plain") == "plain"
    assert format_detail([{"loc": ["body", "values", "A"], "msg": "bad"}, "other"]) == "values.A: bad; other"
    assert format_detail({"whitelist": ["'x' is not an IP address"], "id": ["too long", "bad"]}) == \
        "id: too long; bad; whitelist: 'x' is not an IP address"


def test_wait_for_serving_retries_until_2xx(server):
    Handler.flaky = 0
    ok, status, seconds = wait_for_serving(server + "/open/flaky", timeout=10, interval=0.1)
    assert ok and status == 200
    assert Handler.flaky == 3


def test_wait_for_serving_times_out_with_the_reason(server):
    ok, reason, seconds = wait_for_serving(server + "/open/down", timeout=1, interval=0.2)
    assert not ok
    assert "503" in reason
    assert 0.8 <= seconds < 5


def test_url_without_scheme_is_a_clear_error():
    with pytest.raises(ControllerError) as err:
        ControllerClient("slipway.example.com", TOKEN).get("/v2/apps/")
    assert err.value.status is None
    assert "slipway.example.com" in err.value.msg


# ---- TLS: validate_certs and ca_path against a real HTTPS server ---------------------------------

@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "slipway test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    tmp = tmp_path_factory.mktemp("tls")
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert_path), str(key_path))
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "https://127.0.0.1:%d" % httpd.server_address[1], str(cert_path)
    httpd.shutdown()
    httpd.server_close()


def test_tls_unknown_ca_fails_by_default(tls_server):
    url = tls_server[0]
    with pytest.raises(ControllerError) as err:
        ControllerClient(url, TOKEN, timeout=5).get("/v2/apps/shop/")
    assert err.value.status is None
    assert "certificate" in err.value.msg.lower()


def test_tls_with_ca_path(tls_server):
    url, ca = tls_server
    assert ControllerClient(url, TOKEN, ca_path=ca, timeout=5).get("/v2/apps/shop/")["id"] == "shop"


def test_tls_without_validation(tls_server):
    url = tls_server[0]
    assert ControllerClient(url, TOKEN, validate_certs=False, timeout=5).get("/v2/apps/shop/")["id"] == "shop"
