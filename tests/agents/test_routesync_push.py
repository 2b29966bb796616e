"""Endpoint changes go live without an nginx reload: the route sync pushes the endpoint table to nginx's Lua
balancer (a real nginx with Debian's lua module, a stand-in `/v2/routes`, local backends)."""
from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time

import pytest

from conftest import http_request, wait_for
from test_routesync import upstreams  # noqa: F401 - the local backends fixture
from slipway_agents import routepush
from test_routesync import app, served

DEAD = {"address": "127.0.0.1", "port": 1}  # nothing listens: connection refused


def workers(nginx) -> set[int]:
    """The nginx master's children (its workers)."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if int(fh.read().rsplit(")", 1)[1].split()[1]) == nginx.proc.pid:
                    found.add(int(pid))
        except (OSError, IndexError, ValueError):
            pass
    return found


def acked(fc, gen) -> bool:
    return any(a["generation"] == gen for a in fc.acks)


def put_table(nginx, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("localhost", timeout=10)
    conn.sock = socket.socket(socket.AF_UNIX)
    conn.sock.connect(nginx.endpoints_socket)
    try:
        conn.request("PUT", "/endpoints", body=body)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def generation_served(nginx) -> str:
    return http_request(nginx.http_port, "status.invalid", "/__slipway/generation")[2].decode().strip()


def start(nginx, fc, routesync, apps, **extra):
    gen = fc.set_apps(apps)
    sync = routesync(fc.url, fc.router_key, **extra)
    wait_for(lambda: acked(fc, gen), what="first ack")
    return sync


def test_an_endpoint_change_is_served_without_a_reload(nginx, fake_controller, routesync, upstreams):
    fc = fake_controller
    sync = start(nginx, fc, routesync, [app("web", ["web.example.test"], [upstreams["blue"].endpoint]),
                                        app("other", ["other.example.test"], [upstreams["green"].endpoint])])
    assert served(nginx, "web.example.test", "blue")
    before, live = workers(nginx), os.readlink(os.path.join(nginx.config_dir, "live"))
    gen = fc.set_apps([app("web", ["web.example.test"], [upstreams["red"].endpoint]),
                       app("other", ["other.example.test"], [])])
    wait_for(lambda: acked(fc, gen), timeout=5, what="ack of the pushed generation")
    assert served(nginx, "web.example.test", "red")  # acknowledged: served at once
    status, _, body = http_request(nginx.http_port, "other.example.test")
    assert status == 503 and b"no running processes" in body
    assert generation_served(nginx) == str(gen)
    assert workers(nginx) == before and os.readlink(os.path.join(nginx.config_dir, "live")) == live
    with open(os.path.join(nginx.config_dir, "endpoints.json")) as fh:
        assert json.load(fh)["apps"] == {"web": [f"127.0.0.1:{upstreams['red'].port}"], "other": []}
    assert f"generation {gen} live (2 apps, endpoints only)" in sync.output()

    # anything else (a domain) renders and reloads, with the endpoints in step
    gen = fc.set_apps([app("web", ["web.example.test", "www.web.example.test"], [upstreams["green"].endpoint])])
    wait_for(lambda: acked(fc, gen), timeout=5, what="ack of the rendered generation")
    assert served(nginx, "www.web.example.test", "green") and generation_served(nginx) == str(gen)
    assert workers(nginx) != before


def test_no_failed_request_during_endpoint_changes_under_load(nginx, fake_controller, routesync, upstreams):
    fc = fake_controller
    names = ["blue", "green", "red"]
    start(nginx, fc, routesync, [app("web", ["web.example.test"], [upstreams["blue"].endpoint])])
    before = workers(nginx)
    stop, results, lock = threading.Event(), [], threading.Lock()

    def load():
        conn = http.client.HTTPConnection("127.0.0.1", nginx.http_port, timeout=10)
        while not stop.is_set():
            try:
                conn.request("GET", "/", headers={"Host": "web.example.test"})
                r = conn.getresponse()
                out = (r.status, json.loads(r.read())["name"] if r.status == 200 else None)
            except (OSError, http.client.HTTPException, ValueError) as e:
                out = (0, repr(e))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", nginx.http_port, timeout=10)
            with lock:
                results.append(out)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(1, 31):
            eps = [upstreams[n].endpoint for n in names[i % 3:] + names[:i % 3]][: 1 + i % 3]
            gen = fc.set_apps([app("web", ["web.example.test"], eps)])
            wait_for(lambda: acked(fc, gen), timeout=5, interval=0.01, what=f"ack {gen}")
            seen = len(results)
            wait_for(lambda: len(results) >= seen + 8, timeout=5, interval=0.005, what="requests in between")
    finally:
        stop.set()
        for t in threads:
            t.join(15)
    assert len(results) >= 240
    assert [r for r in results if r[0] != 200] == [], open(f"{nginx.dir}/error.log").read()[-3000:]
    assert {r[1] for r in results} == set(names)
    assert workers(nginx) == before


def test_a_refused_peer_is_retried_on_another(nginx, fake_controller, routesync, upstreams):
    fc = fake_controller
    start(nginx, fc, routesync, [app("web", ["web.example.test"], [upstreams["blue"].endpoint])])
    gen = fc.set_apps([app("web", ["web.example.test"], [DEAD, upstreams["green"].endpoint, DEAD])])
    wait_for(lambda: acked(fc, gen), timeout=5, what="ack")
    for _ in range(12):
        assert served(nginx, "web.example.test", "green")


def test_upstream_connections_are_kept_alive(nginx, fake_controller, routesync, upstreams):
    accepted = []
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    def answer(conn):
        body = b'{"name": "counted"}'
        with conn, conn.makefile("rb") as rf:
            while True:
                line = rf.readline()
                if not line:
                    return
                while line not in (b"\r\n", b""):
                    line = rf.readline()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    threading.Thread(target=serve, daemon=True).start()
    try:
        fc = fake_controller
        start(nginx, fc, routesync, [app("web", ["web.example.test"], [upstreams["blue"].endpoint])])
        gen = fc.set_apps([app("web", ["web.example.test"],
                               [{"address": "127.0.0.1", "port": server.getsockname()[1]}])])
        wait_for(lambda: acked(fc, gen), timeout=5, what="ack")
        for _ in range(30):
            assert served(nginx, "web.example.test", "counted")
        assert len(accepted) == 1  # one worker, requests one after another: one connection
    finally:
        server.close()


def test_a_restarted_nginx_serves_the_table_from_its_file(nginx, fake_controller, routesync, upstreams):
    fc = fake_controller
    sync = start(nginx, fc, routesync, [app("web", ["web.example.test"], [upstreams["blue"].endpoint])])
    gen = fc.set_apps([app("web", ["web.example.test"], [upstreams["red"].endpoint])])
    wait_for(lambda: acked(fc, gen), timeout=5, what="ack")
    sync.stop()  # nothing pushes any more: only the file can tell the new nginx
    nginx.stop()
    nginx.start()
    wait_for(lambda: served(nginx, "web.example.test", "red"), timeout=5, what="red after the restart")
    assert generation_served(nginx) == str(gen)


def test_a_failed_push_falls_back_to_a_reload(nginx, fake_controller, routesync, upstreams):
    fc = fake_controller
    sync = start(nginx, fc, routesync, [app("web", ["web.example.test"], [upstreams["blue"].endpoint])],
                 SLIPWAY_ENDPOINTS_SOCKET=os.path.join(nginx.dir, "nothing-here.sock"))
    before = workers(nginx)
    gen = fc.set_apps([app("web", ["web.example.test"], [upstreams["red"].endpoint])])
    wait_for(lambda: acked(fc, gen), timeout=5, what="ack")
    assert served(nginx, "web.example.test", "red") and generation_served(nginx) == str(gen)
    assert workers(nginx) != before
    assert f"generation {gen}: endpoint push failed" in sync.output()
    assert "rendering and reloading instead" in sync.output()


def test_hostile_endpoint_data_is_refused(nginx, fake_controller, routesync, upstreams):
    fc = fake_controller
    blue = upstreams["blue"].endpoint
    sync = start(nginx, fc, routesync, [app("web", ["web.example.test"], [blue])])
    gen = fc.set_apps([app("web", ["web.example.test"], [
        blue, {"address": "evil.example", "port": 80}, {"address": "1.2.3.4; deny all", "port": 80},
        {"address": "127.0.0.1", "port": "80"}, {"address": '127.0.0.1") os.exit() --', "port": 80},
        {"address": "fe80::1%eth0", "port": 80}])])
    wait_for(lambda: acked(fc, gen), timeout=5, what="ack")
    with open(os.path.join(nginx.config_dir, "endpoints.json")) as fh:
        assert json.load(fh)["apps"] == {"web": [f"127.0.0.1:{blue['port']}"]}
    assert sync.output().count("skipping invalid endpoint") >= 5

    # straight to the socket: the whole table is refused and the one nginx has keeps serving
    for bad in ({"web": ["evil.example:80"]}, {"web": ["1.2.3.4:80; deny all"]}, {"web": ["256.1.1.1:80"]},
                {"web": ["127.0.0.1:0"]}, {"web": ["127.0.0.1:65536"]}, {"web": [80]}, {"web": "127.0.0.1:80"},
                {"Web": ["127.0.0.1:80"]}, {"we\"b": ["127.0.0.1:80"]}, {"web": {"x": "127.0.0.1:80"}},
                {"web": ["[::1%lo]:80"]}, {"web": ["[1:2:3:4:5:6:7:8:9]:80"]}):
        status, answer = put_table(nginx, routepush.table_body(bad, gen + 1, gen))
        assert status == 400, (bad, answer)
    assert put_table(nginx, b'{"generation": 1, "base": "1;", "apps": {}}')[0] == 400
    assert put_table(nginx, b"not json")[0] == 400
    huge = {f"app{i}": [f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}:8000"] * 20 for i in range(30000)}
    assert put_table(nginx, routepush.table_body(huge, gen + 1, gen))[0] == 413
    too_many = {f"app{i}": [] for i in range(100001)}
    assert put_table(nginx, routepush.table_body(too_many, gen + 1, gen))[0] == 400
    assert served(nginx, "web.example.test", "blue") and generation_served(nginx) == str(gen)


@pytest.mark.parametrize("ep", [{"address": "localhost", "port": 80}, {"address": "10.0.0.1", "port": True},
                                {"address": "10.0.0.1", "port": 0}, {"address": "::ffff:10.0.0.1", "port": 80},
                                {"address": "fe80::1%eth0", "port": 80}, {"address": ["10.0.0.1"], "port": 80},
                                "10.0.0.1:80"])
def test_only_ip_literals_and_ports_make_a_peer(ep):
    assert routepush.valid_endpoint(ep) is None


def test_a_peer_is_an_ip_literal_and_a_port():
    assert routepush.valid_endpoint({"address": "10.0.0.1", "port": 80}) == "10.0.0.1:80"
    assert routepush.valid_endpoint({"address": "fd00::0:1", "port": 8080}) == "[fd00::1]:8080"
