"""Every listening port is accounted for: each TCP port the all-in-one host listens on is in the README's table of
listening ports (its "Security model"), where an operator reads who may reach it and what enforces that. The
tasks' published ports (dynamic, held by dockerd) and containerd's loopback streaming port (random) are rows of
their own, named by their owner."""
from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import ROOT, sh

OWNED_ROWS = {"dockerd": "tasks' published ports", "containerd": "containerd's streaming server"}


def table() -> dict[str, str]:
    """README's rows of listening ports: component -> port column."""
    text = (ROOT / "README.md").read_text()
    start = text.index("| component | port | listens on |")
    rows = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1]
    return rows


def test_every_listening_port_is_in_the_readmes_table(aio):
    rows = table()
    documented = {int(p) for column in rows.values() for p in re.findall(r"\b\d{2,5}\b", column)}
    listening = sh("ss -ltnpH").stdout.splitlines()
    assert listening, "ss listed nothing"
    missing = []
    for line in listening:
        local, owner = line.split()[3], re.search(r'users:\(\("([^"]+)"', line)
        port = int(local.rsplit(":", 1)[1])
        name = owner.group(1) if owner else "?"
        if port in documented or (OWNED_ROWS.get(name) in rows and (
                (name == "dockerd" and port >= 32768) or (name == "containerd" and local.startswith("127.0.0.1:")))):
            continue
        missing.append(f"{local} {name}")
    assert not missing, f"listening, not in README's table of listening ports: {sorted(set(missing))}"


# Ports bound to loopback and the host's own addresses alone (the common role's slipway_common_own_addresses).
OWN_ADDRESS_PORTS = {5432: "PostgreSQL", 5000: "the registry's front"}


@pytest.mark.parametrize("port", sorted(OWN_ADDRESS_PORTS))
def test_a_platform_service_listens_on_no_address_tenant_containers_reach(aio, port):
    """The service binds loopback and the host's own interface addresses, not every address: not the gateway of the
    bridge app tasks sit on (docker0), nor the builds' bridge, whatever the firewall does."""
    bound = {line.split()[3].rsplit(":", 1)[0].strip("[]")
             for line in sh(f"ss -ltnH 'sport = :{port}'").stdout.splitlines()}
    assert bound, f"{OWN_ADDRESS_PORTS[port]} listens on nothing"
    bridges = set(sh("ip -4 -o addr show | awk '$2 ~ /^(docker0|docker_gwbridge|slipway-build|br-)/ "
                     "{split($4, a, \"/\"); print a[1]}'").stdout.split())
    assert bridges, "no container bridge found on the host"
    assert not bound & ({"0.0.0.0", "*", "::"} | bridges), bound
    assert {"127.0.0.1"} <= bound, bound
