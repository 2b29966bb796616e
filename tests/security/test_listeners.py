"""Every listening port is accounted for: each TCP port the all-in-one host listens on is in the README's table of
listening ports (its "Security model"), where an operator reads who may reach it and what enforces that. The
tasks' published ports (dynamic, held by dockerd) and containerd's loopback streaming port (random) are rows of
their own, named by their owner."""
from __future__ import annotations

import re

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
