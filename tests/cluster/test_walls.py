"""The walls of the multi-host platform, on nodes that run no other component (molecule/cluster).

Tenant code (a real app task and a one-off run, both on a node) reaches none of the platform's ports on any
platform host: the controller, PostgreSQL, the store's S3 and SeaweedFS ports, the registry and its backend, dockerd's
TLS API, Swarm, sshd; yet the app answers through the router and names resolve. A site host that is not a platform
host (a container of this scenario on the platform's network) reaches the router and the builder's git port, and none
of the platform's own ports (they answer the platform's hosts only). The store's S3 gRPC port answers its own host
alone. Swarm and dockerd's TLS API bind each node's own address. A task's published port answers the routers and
the controllers alone. A node's dockerd takes the controller's client
certificate alone: a host certificate and key are refused. And no service user reads another service's credential.
One TCP connection per (address, port), at this scenario's own containers only.
"""
from __future__ import annotations

import base64
import gzip
import json
import os
import re
import secrets
import shlex
import subprocess

import pytest

from .conftest import PREFIX, ROOT, WORK, api, controller_url, sh, wait_for

HOSTS = ("data", "control", "node1", "node2", "node3")
NODES = ("node1", "node2", "node3")
NETWORK = os.environ.get("SLIPWAY_CLUSTER_NETWORK", "slipway-cl-net")
PLATFORM_PORTS = {
    "controller": [8000], "postgresql": [5432], "store S3 (HTTP, HTTPS, gRPC)": [8333, 8433, 18333],
    "seaweedfs master, volume, filer (HTTP, gRPC)": [9333, 19333, 8080, 18080, 8888, 18888],
    "registry front, former backend port (a unix socket now)": [5000, 5001], "dockerd TLS": [2376],
    "swarm": [2377, 7946], "sshd": [22],
}
PORTS = sorted(p for ports in PLATFORM_PORTS.values() for p in ports)
PROBE = r"""
probe() { if timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; then echo "OPEN $1:$2"; fi; }
for target in __TARGETS__; do probe "${target%:*}" "${target##*:}" & done; wait
if getent hosts deb.debian.org >/dev/null; then echo "RESOLVES ok"; else echo "RESOLVES fail"; fi
echo "PROBED"
"""
CLIENT_CERT = "--cert /etc/slipway/controller/docker-client.crt --key /etc/slipway/controller/docker-client.key"
HOST_CERT = "--cert /etc/slipway/tls/host.crt --key /etc/slipway/tls/host.key"
pytestmark = pytest.mark.timeout(1800)


def addresses() -> dict[str, str]:
    """Each platform host's address on the scenario's network."""
    found = {}
    for host in HOSTS:
        found[host] = subprocess.run(
            ["docker", "inspect", "-f", f'{{{{(index .NetworkSettings.Networks "{NETWORK}").IPAddress}}}}',
             PREFIX + host], text=True, capture_output=True, check=True).stdout.strip()
        assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", found[host]), (host, found[host])
    return found


def script(targets: list[str]) -> str:
    return PROBE.replace("__TARGETS__", " ".join(targets))


def opened(output: str) -> list[str]:
    assert re.search(r"^PROBED\s*$", output, re.MULTILINE), output[-3000:]
    return sorted(set(re.findall(r"^OPEN (\d+\.\d+\.\d+\.\d+:\d+)\s*$", output, re.MULTILINE)))


@pytest.fixture(scope="module")
def tenant(world):
    """examples/hello pushed over SSH to a new app of the admin's, serving one web task on a node."""
    app = f"walls-{secrets.token_hex(3)}"
    api("POST", "/v2/apps/", {"id": app}, token=world["admin"])
    _, info = api("GET", f"/v2/apps/{app}/", token=world["admin"])
    src, hello = f"{WORK}/{app}", ROOT / "examples" / "hello"
    files = {"Dockerfile": hello.joinpath("Dockerfile").read_text().replace("slipway-aio:5000", world["registry"]),
             "app.py": hello.joinpath("app.py").read_text(), "Procfile": hello.joinpath("Procfile").read_text()}
    steps = [f"mkdir -p {src} && cd {src} && git init -q -b main && git config user.email t@example.test"
             " && git config user.name t"]
    steps += [f"cat > {name} <<'EOF_WALLS'\n{body}\nEOF_WALLS" for name, body in files.items()]
    steps.append("git add -A && git commit -q -m walls")
    sh("control", "\n".join(steps))
    ssh = f"ssh -i {WORK}/key -p 2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes"
    p = sh("control", f"cd {src} && GIT_SSH_COMMAND={shlex.quote(ssh)} git push git@127.0.0.1:{app}.git HEAD:main 2>&1")
    assert re.search(rf"{app} v\d+ is serving at", p.stdout), p.stdout[-3000:]
    domain = info["url"].split("://")[-1].strip("/")
    pods = wait_for(lambda: [p for p in api("GET", f"/v2/apps/{app}/pods/", token=world["admin"])[1]["results"]
                             if p["type"] == "web" and p["state"] == "running"], 120, 1, f"{app}'s web task")
    node = pods[0]["node"]
    assert node in NODES, pods
    task = sh(node, f"docker ps -q --filter label=slipway.app={app} | head -1").stdout.strip()
    assert task, (node, app)
    yield {"app": app, "domain": domain, "node": node, "task": task, "admin": world["admin"]}
    api("DELETE", f"/v2/apps/{app}/", token=world["admin"], expect=(204, 404))


def through_router(domain: str, host: str = "control") -> str:
    return sh(host, f"curl -sS -m 10 -H 'Host: {domain}' http://127.0.0.1/", check=False).stdout


def test_tenant_code_on_a_node_reaches_no_platform_port(tenant):
    where = addresses()
    targets = [f"{address}:{port}" for address in where.values() for port in PORTS]
    # the router as any client reaches it, from inside the app's own container: the walls let that through
    check = (f"\ncurl -sS -m 10 -H 'Host: {tenant['domain']}' http://{where['control']}/ >/dev/null"
             " && echo 'ROUTER ok' || echo 'ROUTER fail'\n")
    body = script(targets) + check
    out = sh(tenant["node"], f"docker exec -i {tenant['task']} bash -s", input=body, check=False).stdout
    found = opened(out)
    print(f"\n[app task on {tenant['node']}] {len(targets)} probes, open: {found}, "
          f"resolves: {'RESOLVES ok' in out}, router: {'ROUTER ok' in out}")
    assert found == [], out[-3000:]
    assert "RESOLVES ok" in out and "ROUTER ok" in out, out[-3000:]

    encoded = base64.b64encode(gzip.compress(body.encode())).decode()  # a command holds at most 4096 characters
    command = f"echo {encoded} | base64 -d | gunzip | bash"
    _, answer = api("POST", f"/v2/apps/{tenant['app']}/run/", {"command": command}, token=tenant["admin"])
    out = answer["output"]
    found = opened(out)
    print(f"[one-off run] open: {found}, resolves: {'RESOLVES ok' in out}, router: {'ROUTER ok' in out}")
    assert found == [], out[-3000:]
    assert "RESOLVES ok" in out and "ROUTER ok" in out, out[-3000:]
    assert re.search(r" on [0-9a-f]{12}\)", through_router(tenant["domain"]))  # still serving


def test_a_site_host_that_is_not_a_platform_host_reaches_only_the_public_ports(tenant):
    """A container of this scenario beside the hosts on their network (the site's other machines, an intruder
    there): the router and the builder's git port answer it, none of the platform's own ports do (sshd on 22 is
    the operator's to wall)."""
    where = addresses()
    # sshd (22) is the operator's to wall: not the platform's own
    targets = [f"{address}:{port}" for address in where.values() for port in PORTS if port != 22]
    public = [f"{where['control']}:80", f"{where['control']}:2222"]
    image = subprocess.run(["docker", "inspect", "-f", "{{.Config.Image}}", PREFIX + "control"], text=True,
                           capture_output=True, check=True).stdout.strip()
    name = PREFIX + "outsider"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    try:
        p = subprocess.run(["docker", "run", "--rm", "-i", "--name", name, "--network", NETWORK, "--entrypoint", "bash",
                            image, "-s"], input=script(targets + public), text=True, capture_output=True, timeout=300)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    found = opened(p.stdout)
    print(f"\n[a site host, not the platform's] {len(targets)} probes, open: {found}")
    assert found == sorted(public), p.stdout[-3000:] + p.stderr[-1000:]
    assert re.search(r" on [0-9a-f]{12}\)", through_router(tenant["domain"]))


def test_a_tasks_published_port_answers_the_routers_and_controllers_only(tenant):
    """The host that routes and probes (control) opens the task's published port; the database's host and the
    other nodes, platform hosts all, do not (they have no business with a task)."""
    where = addresses()
    port = sh(tenant["node"], f"docker port {tenant['task']} | head -1").stdout.strip().rsplit(":", 1)[-1]
    assert port.isdigit(), port
    target = [f"{where[tenant['node']]}:{port}"]
    found = {host: opened(sh(host, "bash -s", input=script(target), check=False).stdout)
             for host in HOSTS if host != tenant["node"]}
    print(f"\n[published port {target[0]}] opened from: {sorted(h for h, f in found.items() if f)}")
    assert {host for host, f in found.items() if f} == {"control"}, found


def test_the_stores_s3_grpc_port_answers_its_own_host_only(world):
    """The S3 API (8433) answers every platform host; its gRPC port (18333), which can reconfigure the S3 identities
    without any key, answers none of them: only the store's own host, over loopback."""
    where = addresses()
    found = {host: opened(sh(host, "bash -s", input=script([f"{where['data']}:8433", f"{where['data']}:18333"]),
                             check=False).stdout)
             for host in HOSTS if host != "data"}
    assert all(f == [f"{where['data']}:8433"] for f in found.values()), found
    assert "OPEN" in sh("data", "bash -s", input=script(["127.0.0.1:18333"]), check=False).stdout


def test_swarm_and_dockerd_listen_on_each_nodes_own_address_alone(world):
    """Swarm's manager port (2377), its gossip port (7946) and dockerd's TLS API (2376) bind the node's own address
    on the platform's network, not every address: not the bridges its tasks sit on."""
    where = addresses()
    bound = {}
    ports = "( sport = :2376 or sport = :2377 or sport = :7946 )"
    for host in HOSTS:
        for line in sh(host, f"ss -ltnH '{ports}'", check=False).stdout.splitlines():
            address, port = line.split()[3].rsplit(":", 1)
            bound.setdefault(host, set()).add((address.strip("[]"), int(port)))
    assert {host for host, found in bound.items() if {(where[host], 7946), (where[host], 2376)} <= found} \
        >= set(NODES), bound
    assert all(address == where[host] for host, found in bound.items() for address, _ in found), bound


def test_a_nodes_dockerd_takes_the_controllers_client_certificate_alone(world):
    """Every node's TLS API: the controller's certificate of Docker's client CA opens it; a host's certificate and
    key of the platform CA (readable by its TLS group's service users) and no certificate at all are refused."""
    api_version = '"ApiVersion"'
    for node in NODES:
        url = f"--cacert /etc/slipway/tls/ca.crt https://{node}:2376/version"
        refused = sh("control", f"curl -sS -m 10 {HOST_CERT} {url}", check=False)
        assert refused.returncode != 0 and api_version not in refused.stdout, (node, refused.stdout)
        assert sh("control", f"curl -sS -m 10 {url}", check=False).returncode != 0, node
        assert api_version in sh("control", f"curl -sS -m 10 {CLIENT_CERT} {url}").stdout, node
    other = sh("node2", f"curl -sS -m 10 {HOST_CERT} --cacert /etc/slipway/tls/ca.crt https://node1:2376/version",
               check=False)
    assert other.returncode != 0 and api_version not in other.stdout, other.stdout
    # the controller's client key: on the controller host alone, for its user alone
    assert sh("control", "stat -c '%U:%G %a' /etc/slipway/controller/docker-client.key").stdout.split() == \
        ["slipway:slipway", "600"]
    for host in ("data", *NODES):
        assert sh(host, "find /etc /root /opt /var/lib/slipway -name 'docker-client*' 2>/dev/null",
                  check=False).stdout.strip() == "", host


def test_the_controller_listens_where_its_callers_reach_it(world):
    """Every caller on the control host uses one URL (the slipway.paas.controller_url rule): with the router, builder
    and registry beside the controller (this layout), plain HTTP on 127.0.0.1 alone; when converged with an https URL
    (slipway_controller_url), TLS on the host's platform address alone, verified with the platform CA."""
    urls = {path: sh("control", f"sed -n 's/^controller_url *= *//p' {path}").stdout.strip()
            for path in ("/etc/slipway/router/routesync.ini", "/etc/slipway/builder/builder.ini",
                         "/etc/slipway/registry-gc.ini")}
    assert len(set(urls.values())) == 1, urls
    url = controller_url()
    assert set(urls.values()) == {url}
    upstream = f"proxy_pass {url}/v2/hooks/registry/;"
    assert upstream in sh("control", "cat /etc/nginx/conf.d/slipway-registry.conf").stdout
    listening = [w for w in sh("control", "ss -H -ltn 'sport = :8000'").stdout.split() if w.endswith(":8000")]
    if url == "http://127.0.0.1:8000":
        assert listening == ["127.0.0.1:8000"], listening
        return
    assert url == "https://control:8000", url
    assert listening == [f"{addresses()['control']}:8000"], listening
    ok = sh("control", f"curl -sS -m 10 --cacert /etc/slipway/tls/ca.crt {url}/readiness", check=False)
    assert ok.returncode == 0, ok.stdout
    # nothing on loopback, nothing in plain HTTP, and a client that does not know the platform CA does not trust it
    assert sh("control", "curl -sS -m 5 http://127.0.0.1:8000/readiness", check=False).returncode != 0
    assert sh("control", "curl -sS -m 5 http://control:8000/readiness", check=False).returncode != 0
    stranger = ("import ssl, urllib.request as u; u.urlopen('" + url + "/readiness', timeout=5, "
                "context=ssl.create_default_context(cafile='/etc/ssl/certs/ISRG_Root_X1.pem'))")
    out = sh("control", f"python3 -c {shlex.quote(stranger)}", check=False).stdout
    assert "CERTIFICATE_VERIFY_FAILED" in out, out


# Files holding a credential, by host: the service users (besides root) that may read each. Every other service
# user of the host must not.
CREDENTIALS = {
    "control": {
        "/etc/slipway/tls/host.key": {"slipway"},  # the controller's TLS (nginx's master reads it as root)
        "/etc/slipway/controller/docker-client.key": {"slipway"},
        "/etc/slipway/controller.env": set(),
        "/etc/slipway/controller-docker/config.json": {"slipway"},
        "/etc/slipway/builder/builder.ini": {"git"},
        "/etc/slipway/builder/buildcache.curl": set(),
        "/etc/slipway/router/routesync.ini": set(),
        "/etc/slipway/router/controller.key": set(),
        "/etc/slipway/registry-gc.ini": set(),
        "/etc/nginx/conf.d/slipway-registry.conf": set(),
        "/etc/docker/registry/config.yml": {"docker-registry"},
        "/var/lib/slipway/deploy/env/extravars": {"git"},
        "/root/.docker/config.json": set(),
    },
    "data": {
        "/etc/slipway/tls/host.key": {"postgres", "seaweedfs"},  # their TLS servers' own
        "/etc/seaweedfs/s3.json": {"seaweedfs"},
        "/etc/pgbackrest/pgbackrest.conf": {"postgres"},
    },
    "node1": {"/root/.docker/config.json": set(), "/etc/slipway/tls/host.key": set()},
}
SERVICE_USERS = ("postgres", "www-data", "seaweedfs", "slipway", "git", "docker-registry", "nobody")


def test_no_service_user_reads_another_services_credential(world):
    found = {}
    for host, files in CREDENTIALS.items():
        users = [u for u in SERVICE_USERS if sh(host, f"id -u {u}", check=False).returncode == 0]
        for path, allowed in files.items():
            assert sh(host, f"test -e {path}", check=False).returncode == 0, (host, path)
            readers = {u for u in users if sh(host, f"runuser -u {u} -- test -r {path}", check=False).returncode == 0}
            found[f"{host}:{path}"] = sorted(readers)
            assert readers <= allowed, (host, path, readers)
    print("\n" + json.dumps(found, indent=1))
