"""What an operator compares before and after an upgrade or a reinstall: an app's releases and config, the
platform's secrets and CA, the database schema's revision."""
from __future__ import annotations

import hashlib
import re

from tests.e2e.conftest import User, get, psql, sh
from tests.upgrade import previous


def secrets_digest() -> dict[str, str]:
    """Every file of the control node's secrets folder and the host's platform CA, by content."""
    folder = previous.ephemeral_dir() / "inventory" / ".secrets"
    found = {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(folder.rglob("*")) if p.is_file()}
    ca = sh("cat /etc/slipway/tls/ca.crt").stdout.encode()
    found["host:/etc/slipway/tls/ca.crt"] = hashlib.sha256(ca).hexdigest()
    return found


def app_state(user: User, app: str) -> dict:
    """The app's releases (number, summary) and config values, as its owner reads them."""
    _, releases = user.api("GET", f"/v2/apps/{app}/releases/")
    _, config = user.api("GET", f"/v2/apps/{app}/config/")
    return {"releases": [(r["version"], r["summary"]) for r in releases["results"]], "values": config["values"]}


def schema() -> str:
    return psql("SELECT version_num FROM alembic_version")


def without_container(text: str) -> str:
    """The sample app's answer without the container that gave it ("... (v3 on <container>)"): with two tasks,
    or after a reinstall, the same release answers from another container."""
    return re.sub(r" on \w+\)$", ")", text)


def release_answer(domain: str) -> tuple[int, str]:
    status, text = get(domain)
    return status, without_container(text)
