"""App containers and one-off runs sit behind walls: from inside a real app task and a one-off run, every port
the platform host listens on (on each of its addresses), another app's task directly and through its published
port are all refused, while the outside server answers, names resolve and the apps still serve through the
router. One connection per (address, port), at the test's own host containers only."""
from __future__ import annotations

import base64
import gzip
import json
import subprocess

import pytest

from tests.e2e.conftest import HOST, get, sh, wait_for

from . import probes
from .tenant import hello, push_tree, stranger

pytestmark = pytest.mark.timeout(1200)


def serving(aio, user_factory, prefix: str) -> dict:
    world = stranger(aio, user_factory, prefix)
    rc, out = push_tree(world, hello(aio["registry"], prefix))
    assert rc == 0, out[-3000:]
    wait_for(lambda: (lambda r: r[0] == 200 and prefix in r[1])(get(world["domain"])), timeout=60,
             message=f"{world['app']} to serve")
    task = sh(f"docker ps -q --filter label=slipway.app={world['app']} | head -1").stdout.strip()
    world["task"] = task
    world["address"] = json.loads(sh(f"docker inspect -f '{{{{json .NetworkSettings.Networks}}}}' {task}").stdout)
    world["published"] = sh(f"docker port {task} | head -1").stdout.strip().rsplit(":", 1)[-1]
    return world


def targets(victim: dict) -> list[str]:
    """The platform host's ports, the other app's task directly, and its published port on every host address."""
    found = probes.platform_targets()
    direct = [f"{net['IPAddress']}:5000" for net in victim["address"].values() if net.get("IPAddress")]
    hosts = sorted({t.rsplit(":", 1)[0] for t in found})
    return found + direct + [f"{h}:{victim['published']}" for h in hosts]


def check(output: str, label: str) -> None:
    found = probes.results(output)
    print(f"\n[{label}] open: {found['open']}, outside: {found['outside']}, resolves: {'RESOLVES ok' in output}")
    # the router, as any client reaches it; and the app itself, on its container's own loopback
    allowed = {t for t in found["open"] if t.rsplit(":", 1)[1] in ("80", "443") or t == "127.0.0.1:5000"}
    assert set(found["open"]) == allowed, output[-4000:]
    assert found["outside"] and "RESOLVES ok" in output, output[-4000:]
    assert not found["socket"] and not found["files"], output[-3000:]


RESOLVE = "\nif getent hosts deb.debian.org >/dev/null; then echo 'RESOLVES ok'; else echo 'RESOLVES fail'; fi\n"


def test_an_app_task_and_a_one_off_run_reach_the_internet_and_nothing_of_the_platform(aio, user_factory, outside):
    victim = serving(aio, user_factory, "wallvic")
    attacker = serving(aio, user_factory, "wallatk")
    script = probes.script(outside.http, targets(victim)) + RESOLVE
    out = sh(f"docker exec -i {attacker['task']} bash -s", input=script, check=False).stdout
    check(out, "app task")
    encoded = base64.b64encode(gzip.compress(script.encode())).decode()  # a command holds at most 4096 characters
    _, answer = attacker["owner"].api("POST", f"/v2/apps/{attacker['app']}/run/",
                                      {"command": f"echo {encoded} | base64 -d | gunzip | bash"})
    check(answer["output"], "one-off run")
    for world in (victim, attacker):
        assert get(world["domain"])[0] == 200


def test_the_store_answers_other_hosts_on_its_s3_api_only(aio):
    """SeaweedFS's master, volume and filer (HTTP and gRPC) listen on loopback: only the S3 API (and its gRPC
    port, which follows the S3 API's address) is on the host's addresses; its unauthenticated filer would list
    every bucket, backups included."""
    listening = {}
    for line in sh("ss -H -ltnp").stdout.splitlines():
        if '"weed"' in line:
            address, port = line.split()[3].rsplit(":", 1)
            listening.setdefault(int(port), set()).add(address)
    public = {port for port, addresses in listening.items() if addresses - {"127.0.0.1", "[::1]"}}
    assert public == {8333, 8433, 18333}, listening
    assert sh("curl -s -m 5 -o /dev/null -w '%{http_code}' http://$(hostname -I | cut -d' ' -f1):8888/buckets/",
              check=False).stdout in ("000", "")


# What a machine that is not a platform host may open on the all-in-one host: the router, the builder's sshd and
# the host's own sshd (operators, with their keys; Ansible reaches hosts through it).
PUBLIC_PORTS = {22, 80, 443, 2222}


def test_a_machine_outside_the_platform_reaches_the_router_and_sshd_only(aio, user_factory, outside):
    """From the outside container (any machine of the internet, or of the site, that is not a platform host),
    one connection to every port the host listens on, at the host's address on this machine's Docker bridge:
    only the router and the two sshds answer, not an app task's published port either (the router's whitelist,
    maintenance page and HTTPS redirect stand before every app). The controller API is reached through the
    router alone."""
    served = serving(aio, user_factory, "outpub")
    address = subprocess.run(["docker", "inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", HOST],
                             capture_output=True, text=True, check=True).stdout.strip()
    ports = sorted({int(line.split()[3].rsplit(":", 1)[1]) for line in sh("ss -H -ltn").stdout.splitlines()})
    assert int(served["published"]) in ports, (served["published"], ports)
    script = probes.script(outside.http, [f"{address}:{port}" for port in ports])
    out = subprocess.run(["docker", "exec", "-i", outside.name, "bash", "-s"], input=script, text=True,
                         capture_output=True).stdout
    opened = {int(t.rsplit(":", 1)[1]) for t in probes.results(out)["open"]}
    print(f"\n[from outside] listening: {ports}, open: {sorted(opened)}")
    assert opened == PUBLIC_PORTS, out
    ca = sh("cat /etc/slipway/tls/ca.crt").stdout
    subprocess.run(["docker", "exec", "-i", outside.name, "sh", "-c", "cat > /srv/platform-ca.crt"], input=ca,
                   text=True, check=True)
    readiness = subprocess.run(["docker", "exec", outside.name, "curl", "-sS", "-m", "10", "--cacert",
                                "/srv/platform-ca.crt", "--resolve", f"localhost:443:{address}",
                                "https://localhost/readiness"], capture_output=True, text=True)
    assert readiness.returncode == 0, readiness.stderr


def dropped(chain: str, proto: str, among: str = "@platform") -> int:
    """Packets the IPv4 drop rule for `proto` (whose match names `among`) of the firewall's chain `chain` counted so
    far."""
    rules = json.loads(sh(f"nft -j list chain inet slipway {chain}").stdout)["nftables"]
    for item in rules:
        expr = item.get("rule", {}).get("expr", [])
        text = json.dumps(expr)
        if f'"protocol": "{proto}"' in text and among in text and '"drop"' in text:
            return next(e["counter"]["packets"] for e in expr if "counter" in e)
    raise AssertionError(f"no {proto} drop rule with a counter in {chain}: {rules}")


def test_swarm_udp_ports_drop_what_a_machine_outside_the_platform_sends(aio, outside):
    """Swarm's gossip (7946) and its overlay networks' VXLAN (4789) are UDP: nothing answers either way, so the
    wall's own count shows that datagrams from outside the platform were dropped before dockerd saw them, and
    that the host's own datagrams to the same ports were not."""
    address = subprocess.run(["docker", "inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", HOST],
                             capture_output=True, text=True, check=True).stdout.strip()
    before = dropped("platform_nodes_input", "udp")
    send = "for port in 7946 4789; do for i in 1 2 3 4 5; do printf probe > /dev/udp/%s/$port; done; done"
    subprocess.run(["docker", "exec", outside.name, "bash", "-c", send % address], check=True)
    sh(send % address)  # the host itself is a platform host
    wait_for(lambda: dropped("platform_nodes_input", "udp") - before >= 10, timeout=10,
             message="the wall to count the outside's 10 datagrams")
    assert dropped("platform_nodes_input", "udp") - before == 10


def test_the_stores_grpc_port_answers_the_host_itself_only(aio, outside):
    """The store's S3 gRPC port takes a new S3 identity configuration without any key. Its own wall (local_store)
    drops what comes from elsewhere, platform hosts included; the host itself reaches it over loopback."""
    address = subprocess.run(["docker", "inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", HOST],
                             capture_output=True, text=True, check=True).stdout.strip()
    connect = "timeout 3 bash -c 'exec 3<>/dev/tcp/%s/18333'"
    before = dropped("local_store_input", "tcp", among="")
    outsider = subprocess.run(["docker", "exec", outside.name, "bash", "-c", connect % address], check=False)
    assert outsider.returncode != 0
    assert dropped("local_store_input", "tcp", among="") > before
    assert sh(connect % "127.0.0.1", check=False).returncode == 0
