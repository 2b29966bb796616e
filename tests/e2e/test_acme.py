"""Automatic TLS on the converged all-in-one host (issue 9), against a real ACME CA: Debian's Pebble, started
inside the host with pebble-challtestsrv as its DNS (every name resolves to 127.0.0.1), so its HTTP-01
validation reaches the router on port 80, which hands /.well-known/acme-challenge/ to the controller.

`certs:auto` for an app domain → the router serves HTTPS for it with the issued certificate (verified against
Pebble's root) → a forced renewal swaps a new certificate in while a load generator makes HTTPS requests
through the router: no request fails, and answers come with both serials.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
import time

import pytest

from tests.controller.test_acme import make_ca_and_server

from .conftest import HOST, WORK, Load, git_repo, push, sh, unique, wait_for
from .ops import hello_source
from .test_push import dockerfile

pytestmark = pytest.mark.timeout(1200)
ACME = "/etc/slipway/e2e-acme"
DROPIN = "/etc/systemd/system/slipway-controller.service.d/60-e2e-acme.conf"
PEBBLE, PEBBLE_MGMT, DNS = 14000, 15000 + 17, 8053


def controller_ready() -> bool:
    return sh("curl -fsS http://127.0.0.1:8000/readiness", check=False).returncode == 0


@pytest.fixture(scope="module")
def pebble(aio):
    """Pebble and its DNS in the host; the controller pointed at it (a drop-in), undone afterwards."""
    sh("command -v pebble >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q pebble >/dev/null "
       "|| { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q pebble >/dev/null; }",
       timeout=600)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_ca_and_server(tmp)
        sh(f"rm -rf {ACME} && mkdir -p {ACME}")
        for path in paths:
            subprocess.run(["docker", "cp", path, f"{HOST}:{ACME}/"], check=True)
    config = {"pebble": {"listenAddress": f"127.0.0.1:{PEBBLE}", "managementListenAddress": f"127.0.0.1:{PEBBLE_MGMT}",
                         "certificate": f"{ACME}/pebble.pem", "privateKey": f"{ACME}/pebble.key",
                         "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": False}}
    sh(f"cat > {ACME}/pebble.json && chmod -R a+rX {ACME}", input=json.dumps(config))
    sh("pkill -x pebble; pkill -f '^pebble-challtestsrv'; true")
    sh(f"cd {ACME} && (setsid pebble-challtestsrv -dns01 127.0.0.1:{DNS} -http01 '' -https01 '' -tlsalpn01 '' "
       f"-defaultIPv6 '' -management 127.0.0.1:{DNS + 1} > challtestsrv.log 2>&1 &) && "
       f"(PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 setsid pebble -config pebble.json "
       f"-dnsserver 127.0.0.1:{DNS} > pebble.log 2>&1 &)")
    wait_for(lambda: sh(f"curl -fsS --cacert {ACME}/ca.pem https://127.0.0.1:{PEBBLE}/dir", check=False).returncode == 0,
             message="pebble")
    sh(f"mkdir -p $(dirname {DROPIN}) && printf '%s\\n' '[Service]' "
       f"'Environment=SLIPWAY_ACME_DIRECTORY=https://127.0.0.1:{PEBBLE}/dir' "
       f"'Environment=SLIPWAY_ACME_CA_FILE={ACME}/ca.pem' 'Environment=SLIPWAY_ACME_TIMEOUT=60' > {DROPIN} && "
       "systemctl daemon-reload && systemctl restart slipway-controller")
    wait_for(controller_ready, timeout=90, message="the controller after its restart")
    try:
        yield
    finally:
        sh(f"rm -f {DROPIN} && systemctl daemon-reload && systemctl restart slipway-controller; "
           "pkill -x pebble; pkill -f '^pebble-challtestsrv'; true", check=False)
        wait_for(controller_ready, timeout=90, message="the controller after its restart")


def status(user, domain: str, wanted=("valid", "failed"), timeout: float = 120) -> dict:
    return wait_for(lambda: (lambda b: b if b["status"] in wanted else None)(
        user.api("GET", f"/v2/certs/auto/{domain}")[1]), timeout=timeout, message=f"the certificate of {domain}")


def https(domain: str, cafile: str) -> subprocess.CompletedProcess:
    return sh(f"curl -sS -m 10 --cacert {cafile} --resolve {domain}:443:127.0.0.1 https://{domain}/ "
              f"-w '\\n%{{http_code}}'", check=False)


def test_certs_auto_served_by_the_router_and_renewed_under_load(aio, pebble, user_factory):
    user = user_factory("tls")
    app = unique("tls-")
    user.api("POST", "/v2/apps/", {"id": app})
    src = f"{WORK}/src-{app}"
    git_repo(src, {"Dockerfile": dockerfile(aio["registry"]), "app.py": hello_source("tls")})
    rc, out, _ = push(user, app, src)
    assert rc == 0, out[-3000:]
    domain = f"www.{app}.test"
    user.api("POST", f"/v2/apps/{app}/domains/", {"domain": domain})

    user.api("POST", "/v2/certs/auto/", {"domain": domain}, expect=(202,))
    issued = status(user, domain)
    assert issued["status"] == "valid", issued
    # Pebble's issuing root, to verify what the router serves
    roots = f"{ACME}/issuer-root.pem"
    sh(f"curl -fsS --cacert {ACME}/ca.pem https://127.0.0.1:{PEBBLE_MGMT}/roots/0 > {roots}")
    answer = wait_for(lambda: (lambda p: p if p.stdout.endswith("\n200") else None)(https(domain, roots)),
                      timeout=30, message=f"https://{domain} through the router")
    assert answer.stdout.startswith("tls Hello from Slipway"), answer.stdout
    first = sh(f"echo | openssl s_client -connect 127.0.0.1:443 -servername {domain} 2>/dev/null "
               "| openssl x509 -noout -serial -issuer").stdout
    assert "Pebble" in first, first

    load = Load(domain, f"tls-{app}", args=("--port", "443", "--tls", roots))
    user.api("POST", f"/v2/certs/auto/{domain}/renew/", expect=(202,))
    renewed = status(user, domain)
    assert renewed["status"] == "valid" and renewed["issued"] > issued["issued"], renewed
    second = wait_for(lambda: (lambda s: s if s != first else None)(
        sh(f"echo | openssl s_client -connect 127.0.0.1:443 -servername {domain} 2>/dev/null "
           "| openssl x509 -noout -serial -issuer").stdout), timeout=30, message="the renewed certificate served")
    time.sleep(1)
    result = load.finish()
    print(f"\n[https load during renewal] requests={result['requests']} failures={result['failures']} "
          f"serials={result['serials']} errors={result['errors']}\nbefore: {first.strip()}\nafter: {second.strip()}")
    assert result["failures"] == 0, result
    assert result["requests"] > 20 and len(result["serials"]) == 2, result
