"""Probes that tenant code runs inside a sandbox (a Dockerfile's RUN step, a buildpack's compile, an app's
one-off run): one TCP connection per (address, port) of the platform host, 32 at a time (within a sandbox's
process limit), each given two seconds; the outside server's answer; the Docker socket and the deploys' warm-start
socket (which forks ansible-playbook as the git user, the uid builds run as); the builder's files. Its output lines: OPEN a:p, OUTSIDE ok|fail, SOCKET
present|absent, FILES present|absent."""
from __future__ import annotations

import re

from tests.e2e.conftest import sh

SCRIPT = r"""
probe() { if timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; then echo "OPEN $1:$2"; fi; }
n=0; for target in __TARGETS__; do probe "${target%:*}" "${target##*:}" & n=$((n+1)); [ $((n % 32)) -ne 0 ] || wait; done; wait
if curl -fsS -m 10 __OUTSIDE__/ping >/dev/null 2>&1 || python3 -c "import urllib.request as u; u.urlopen('__OUTSIDE__/ping', timeout=10)" 2>/dev/null; then echo "OUTSIDE ok"; else echo "OUTSIDE fail"; fi
if [ -e /var/run/docker.sock ] || [ -e /run/docker.sock ] || [ -e /run/slipway-warmstart ]; then echo "SOCKET present"; else echo "SOCKET absent"; fi
if [ -e /etc/slipway ] || [ -e /var/lib/slipway ]; then echo "FILES present"; else echo "FILES absent"; fi
"""


def platform_targets() -> list[str]:
    """Every (address, port) the platform host listens on: each of its IPv4 addresses (the gateways tenant
    containers see among them) times each listening TCP port, loopback-bound ones included (a host-network
    sandbox would reach those)."""
    addresses = sorted(set(sh("hostname -I").stdout.split()) - {"127.0.0.1"})
    addresses = [a for a in addresses if ":" not in a] + ["127.0.0.1"]
    ports = set()
    for line in sh("ss -H -ltn").stdout.splitlines():
        local = line.split()[3]
        ports.add(int(local.rsplit(":", 1)[1]))
    return [f"{a}:{p}" for a in addresses for p in sorted(ports)]


def script(outside: str, targets: list[str] | None = None) -> str:
    return SCRIPT.replace("__TARGETS__", " ".join(targets or platform_targets())).replace("__OUTSIDE__", outside)


def results(output: str) -> dict:
    return {"open": re.findall(r"OPEN (\d{1,3}(?:\.\d{1,3}){3}:\d+)", output),
            "outside": said("OUTSIDE ok", output),
            "socket": said("SOCKET present", output),
            "files": said("FILES present", output)}


def said(line: str, output: str) -> bool:
    """Whether the probe printed this line (as a line of its own: a build's log also echoes the script)."""
    return re.search(rf"^(remote:)?\s*{re.escape(line)}\s*$", output, re.MULTILINE) is not None
