"""The multi-host platform end to end (molecule/cluster): one app pushed, spread, constrained by tags, through
a node's loss and a node's drain, under load through the router. Tests run in order on one app; the figures
(spread, failed requests, recovery time) are printed and written to .cache/cluster-figures.json.
"""
from __future__ import annotations

import collections
import json
import os
import re
import shlex
import subprocess
import time

import pytest

from .conftest import PREFIX, ROOT, WORK, Load, api, routed_api, sh, wait_for

HELLO = ROOT / "examples" / "hello"
CLOCK = ("import itertools, socket, time\n"
         "for i in itertools.count():\n"
         "    print('tick', socket.gethostname(), i, flush=True)\n"
         "    time.sleep(0.5)\n")
NODES = ("node1", "node2", "node3")
pytestmark = pytest.mark.timeout(3600)


# ---- what a user sees ------------------------------------------------------------------------------------
def nodes(world) -> dict[str, dict]:
    return {n["hostname"]: n for n in api("GET", "/v2/nodes/", token=world["admin"])[1]["results"]}


def web_pods(world) -> list[dict]:
    pods = api("GET", f"/v2/apps/{world['app']}/pods/", token=world["admin"])[1]["results"]
    return [p for p in pods if p["type"] == "web"]


def spread(world) -> dict[str, int]:
    return dict(sorted(collections.Counter(p["node"] for p in web_pods(world) if p["state"] == "running").items()))


def endpoints(world, applied: bool = False) -> list[str]:
    """The app's upstreams as the controller hands them to the routers; with `applied`, [] until the router
    (nginx on control) serves that routing generation."""
    _, routes = api("GET", "/v2/routes", headers={"X-Slipway-Router-Auth": world["router_key"]}, platform=True)
    app = next(a for a in routes["apps"] if a["id"] == world["app"])
    if applied:
        served = sh("control", "curl -sS -H 'Host: status.invalid' http://127.0.0.1/__slipway/generation").stdout
        if int(served.strip() or 0) < routes["generation"]:
            return []
    return sorted(f"{e['address']}:{e['port']}" for e in app["endpoints"])


def answers(world, count: int = 80) -> collections.Counter:
    """Who answers through the router: task container hostname -> number of answers."""
    out = sh("control", f"for i in $(seq {count}); do curl -sS -m 10 -H 'Host: {world['domain']}' "
                        "http://127.0.0.1/; done", check=False).stdout
    return collections.Counter(re.findall(r" on ([0-9a-f]{12})\)", out))


def containers_by_node(hosts=NODES) -> dict[str, str]:
    found = {}
    for node in hosts:
        p = sh(node, "docker ps --format '{{.ID}}'", check=False)
        found.update({cid: node for cid in p.stdout.split()})
    return found


def answering_nodes(world, count: int = 80, hosts=NODES) -> dict[str, int]:
    where, counts = containers_by_node(hosts), collections.Counter()
    for host, n in answers(world, count).items():
        counts[where.get(host, "?")] += n
    return dict(sorted(counts.items()))


def record(world, name: str, value) -> None:
    world["figures"][name] = value
    print(f"\n[{name}] {json.dumps(value)}")


def drain_playbook(world, node: str, availability: str = "drain") -> float:
    """playbooks/node-drain.yml from this machine, against the scenario's inventory."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".cache" / "collections"), ANSIBLE_FORCE_COLOR="0",
               PATH=f"{ROOT}/.venv/bin:{os.environ.get('PATH', '')}")
    started = time.monotonic()
    p = subprocess.run(["ansible-playbook", "-i", str(world["inventory"]), str(ROOT / "playbooks" / "node-drain.yml"),
                        "-e", f"slipway_drain_node={node}", "-e", f"slipway_node_availability={availability}"],
                       env=env, cwd=ROOT, text=True, capture_output=True, timeout=1800)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
    return round(time.monotonic() - started, 1)


# ---- the tests -------------------------------------------------------------------------------------------
def test_cluster_shape(world):
    found = nodes(world)
    assert sorted(found) == list(NODES), found
    assert all(n["state"] == "ready" and n["availability"] == "active" for n in found.values()), found
    assert [h for h, n in found.items() if n["role"] == "manager"] == ["node1"] and found["node1"]["leader"]
    assert {h: n["labels"].get("slipway.zone") for h, n in found.items()} == {"node1": "a", "node2": "b", "node3": "c"}
    assert api("GET", "/v2/nodes/", expect=(401,))[0] == 401
    # the builder's engine is its own, not a Swarm member; the controller reaches node1's dockerd over TLS
    assert sh("control", "docker info --format '{{.Swarm.LocalNodeState}}'").stdout.strip() == "inactive"
    env = sh("control", "cat /etc/slipway/controller.env").stdout
    client = "/etc/slipway/controller/docker-client"  # its own certificate of Docker's client CA (test_walls.py)
    assert "SLIPWAY_DOCKER_URL=tcp://node1:2376" in env and f"SLIPWAY_DOCKER_TLS_CERT={client}.crt" in env
    tls = "--cacert /etc/slipway/tls/ca.crt https://node1:2376/version"
    assert '"ApiVersion"' in sh("control", f"curl -sS --cert {client}.crt --key {client}.key {tls}").stdout
    assert sh("control", f"curl -sS -m 5 {tls}", check=False).returncode != 0  # no client certificate: refused


def scrape_targets() -> dict[tuple[str, str], str]:
    """(job, instance) -> health of every target Prometheus (the monitor, on control) scrapes."""
    out = sh("control", "curl -sS -m 10 http://127.0.0.1:9090/api/v1/targets?state=active").stdout
    return {(t["labels"]["job"], t["labels"]["instance"]): t["health"] for t in json.loads(out)["data"]["activeTargets"]}


def test_the_monitor_scrapes_every_host_and_component(world):
    """Every platform host's node exporter, each node's agent, the router's mtail and the controller answer the
    monitor across hosts, through the firewall's walls."""
    want = {("node", h) for h in ("data", "control", *NODES)} | {("node_agent", n) for n in NODES} \
        | {("router", "control"), ("prometheus", "control")}

    def down() -> list:
        found = scrape_targets()
        missing = [t for t in sorted(want) if found.get(t) != "up"]
        return missing + ([] if "up" in {h for (job, _), h in found.items() if job == "controller"} else ["controller"])
    try:
        wait_for(lambda: not down(), 180, 5)
    except AssertionError:
        raise AssertionError(f"not scraped: {down()}; every target: {scrape_targets()}") from None


def test_push_scale_and_spread(world):
    src = f"{WORK}/src"
    dockerfile = HELLO.joinpath("Dockerfile").read_text().replace("slipway-aio:5000", world["registry"])
    assert "COPY app.py /app/app.py" in dockerfile
    # a second process type that writes a line every half second, for `logs -f` across nodes
    files = {"Dockerfile": dockerfile.replace("COPY app.py /app/app.py", "COPY app.py clock.py /app/"),
             "app.py": HELLO.joinpath("app.py").read_text(), "clock.py": CLOCK,
             "Procfile": HELLO.joinpath("Procfile").read_text().strip() + "\nclock: python3 -u /app/clock.py\n"}
    script = [f"mkdir -p {src} && cd {src} && git init -q -b main && git config user.email t@example.test"
              " && git config user.name t"]
    script += [f"cat > {name} <<'EOF_CLUSTER'\n{body}\nEOF_CLUSTER" for name, body in files.items()]
    script.append("git add -A && git commit -q -m first")
    sh("control", "\n".join(script))
    ssh = f"ssh -i {WORK}/key -p 2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes"
    started = time.monotonic()
    p = sh("control", f"cd {src} && GIT_SSH_COMMAND={shlex.quote(ssh)} git push git@127.0.0.1:{world['app']}.git "
                      "HEAD:main 2>&1", timeout=1800)
    assert re.search(rf"{world['app']} v\d+ is serving at", p.stdout), p.stdout
    record(world, "push_seconds", round(time.monotonic() - started, 1))
    wait_for(lambda: answers(world, 3), 30, message="the app through the router")

    started = time.monotonic()
    api("POST", f"/v2/apps/{world['app']}/scale/", {"web": 4}, token=world["admin"])
    record(world, "scale_to_4_seconds", round(time.monotonic() - started, 1))
    placed = spread(world)
    assert sum(placed.values()) == 4 and len(placed) >= 2, placed
    record(world, "spread_after_scale", placed)
    who = answers(world, 80)
    assert len(who) == 4, who  # every task answers through the router
    by_node = answering_nodes(world)
    assert set(by_node) == set(placed), (by_node, placed)
    record(world, "answers_by_node", by_node)
    # built on the builder host (control), pulled by the nodes: no build ever ran on a node
    assert sh("control", f"docker image ls -q {world['registry']}/{world['app']}").stdout.strip()
    for node in NODES:
        df = sh(node, "docker system df --format '{{.Type}} {{.TotalCount}}'").stdout
        assert "Build Cache 0" in df, (node, df)


def test_logs_follow_across_nodes(world):
    """`logs -f` (the endpoint the CLI follows) interleaves the lines of tasks that run on different nodes, each
    prefixed with its process type and task, as they are produced."""
    app, admin = world["app"], world["admin"]
    api("POST", f"/v2/apps/{app}/scale/", {"clock": 3}, token=admin)
    try:
        def clock_pods():
            found = [p for p in api("GET", f"/v2/apps/{app}/pods/", token=admin)[1]["results"]
                     if p["type"] == "clock" and p["state"] == "running"]
            return found if len(found) == 3 else None

        pods = wait_for(clock_pods, 120, 1, "three clock tasks running")
        assert len(pods) == 3 and len({p["node"] for p in pods}) >= 2, pods
        started = time.monotonic()
        *options, base = routed_api()
        out = sh("control", f"timeout 8 curl -sS -N {shlex.join(options)} -H 'Authorization: token {admin}' "
                            f"'{base}/v2/apps/{app}/logs/?follow=true&type=clock&log_lines=1'",
                 check=False).stdout
        followed = time.monotonic() - started
        lines = [line for line in out.splitlines() if line.strip()]
        ticks = collections.defaultdict(list)  # task -> the numbers it printed, in the order they arrived
        for line in lines:
            m = re.match(r"^clock\.(\d+): tick ([0-9a-f]{12}) (\d+)$", line)
            assert m, (line, lines[:10])
            ticks[m.group(1)].append(int(m.group(3)))
        by_node = collections.Counter()
        where = containers_by_node()
        for line in lines:
            by_node[where.get(line.split()[2], "?")] += 1
        record(world, "logs_follow", {"seconds": round(followed, 1), "lines": len(lines),
                                      "lines_by_task": {k: len(v) for k, v in sorted(ticks.items())},
                                      "lines_by_node": dict(sorted(by_node.items()))})
        assert sorted(ticks) == ["1", "2", "3"], ticks
        assert len([n for n in by_node if n != "?"]) >= 2, by_node
        # followed live: each task's lines keep coming (about two a second) and in its own order
        assert all(len(v) >= 6 and v == sorted(v) for v in ticks.values()), ticks
    finally:
        api("POST", f"/v2/apps/{app}/scale/", {"clock": 0}, token=admin)


def test_tags_constrain_placement(world):
    load = Load(world["domain"], "tags")
    api("POST", f"/v2/apps/{world['app']}/config/", {"tags": {"slipway.disk": "ssd"}}, token=world["admin"])
    assert spread(world) == {"node3": 4}
    api("POST", f"/v2/apps/{world['app']}/config/", {"tags": {"slipway.disk": None}}, token=world["admin"])
    result = load.finish()
    placed = spread(world)
    assert len(placed) >= 2 and sum(placed.values()) == 4, placed
    record(world, "tags_load", {k: result[k] for k in ("requests", "failures", "errors")})
    assert result["failures"] == 0, result


def test_task_killed_on_a_worker_leaves_the_router_by_its_node_agent(world):
    """A web task's container killed by hand on node2 (another worker if node2 holds none): node2's agent sees it
    die and reports; its endpoint leaves the router with no failed request, and Swarm's replacement joins."""
    assert all((n["agent"] or {}).get("reporting") for n in nodes(world).values()), nodes(world)
    placed = spread(world)
    victim = "node2" if placed.get("node2") else next(n for n in ("node3", "node1") if placed.get(n))
    address = nodes(world)[victim]["address"]
    ids = sh(victim, f"docker ps -q --filter label=slipway.app={world['app']} --filter label=slipway.type=web").stdout
    container, before = ids.split()[0], set(endpoints(world))
    assert len(before) == 4, before
    load = Load(world["domain"], "task-kill", threads=4)
    started = time.monotonic()
    sh(victim, f"docker kill {container}")
    left = wait_for(lambda: len(set(endpoints(world, applied=True)) & before) == 3
                    and max(time.monotonic() - started, 0.01), 60, 0.05, "the killed task's endpoint to leave")
    gone = before - set(endpoints(world))
    assert len(gone) == 1 and next(iter(gone)).startswith(address + ":"), (gone, address)
    back = wait_for(lambda: len(endpoints(world, applied=True)) == 4 and max(time.monotonic() - started, 0.01),
                    120, 0.25, "the replacement task routed")
    result = load.finish()
    record(world, "task_killed", {"node": victim, "out_of_router_after_s": round(left, 2),
                                  "replacement_routed_after_s": round(back, 1), "requests": result["requests"],
                                  "failed": result["failures"], "errors": result["errors"]})
    assert result["failures"] == 0, result
    assert len(answers(world, 60)) == 4


def test_node_loss(world):
    placed = spread(world)
    victim = "node3" if placed.get("node3") else "node2"
    address = nodes(world)[victim]["address"]
    load = Load(world["domain"], "loss", threads=4)
    started = time.monotonic()
    subprocess.run(["docker", "kill", PREFIX + victim], check=True, capture_output=True)
    def dropped():
        routed = endpoints(world, applied=True)
        return routed and not any(e.startswith(address + ":") for e in routed) and max(time.monotonic() - started, 0.01)

    dropped = wait_for(dropped, 120, 0.25, f"the router to drop {victim}'s endpoints")

    def recovered():
        now = spread(world)
        routed = endpoints(world, applied=True)
        ok = victim not in now and sum(now.values()) == 4 and len(routed) == 4
        return ok and max(time.monotonic() - started, 0.01)

    recovery = wait_for(recovered, 300, 0.5, f"{victim}'s tasks to run and serve elsewhere")
    result = load.finish()
    record(world, "node_loss", {"node": victim, "tasks_lost": placed.get(victim, 0),
                                "endpoints_dropped_after_s": round(dropped, 1), "recovered_after_s": round(recovery, 1),
                                "requests": result["requests"], "failed": result["failures"],
                                "errors": result["errors"], "spread_after": spread(world)})
    assert len(answers(world, 60)) == 4
    subprocess.run(["docker", "start", PREFIX + victim], check=True, capture_output=True)
    wait_for(lambda: nodes(world)[victim]["state"] == "ready", 300, 2, f"{victim} to rejoin")


def test_drain_under_load(world):
    placed = spread(world)
    target = max((n for n in placed if n != "node1"), key=lambda n: placed[n], default="node1")
    load = Load(world["domain"], "drain", threads=4)
    seconds = drain_playbook(world, target)
    result = load.finish()
    after = spread(world)
    record(world, "drain", {"node": target, "tasks_moved": placed.get(target, 0), "seconds": seconds,
                            "requests": result["requests"], "failed": result["failures"], "errors": result["errors"],
                            "spread_before": placed, "spread_after": after})
    assert result["failures"] == 0, result
    assert nodes(world)[target]["availability"] == "drain"
    assert target not in after and sum(after.values()) == 4, after
    assert len(answers(world, 60)) == 4
    drain_playbook(world, target, "active")
    assert nodes(world)[target]["availability"] == "active"
