"""Drills on the converged all-in-one host: a shared component fails, the platform copes, the figures are
printed (pytest -s). Each drill puts the component back in a finally block (other suites share the host).

1. PostgreSQL restarts while the controller serves: the controller answers again within RECOVERY_SECONDS
   of PostgreSQL accepting connections, without a restart of its own.
2. The store is unreachable during a push: the push fails with a message naming the failed image push, the
   running release keeps serving (no failed request), and a push after the store is back works.
3. nginx is handed a configuration that fails `nginx -t`, the way an operator would break it: a broken
   snippet in /etc/nginx/conf.d/ (which the router's nginx.conf includes), then a routing change (a new
   domain for the app). The route sync refuses that generation and the old configuration keeps serving
   (same nginx, same live folder, no failed request; the new domain is not served yet). Once the snippet is
   gone the route sync applies the refused generation by itself (it tries it again every heartbeat, 20 s by
   default), with no further change at the controller, within 60 s. The drill also checks that the
   controller refuses a certificate OpenSSL would refuse (a 1024-bit RSA key): it used to accept one, and
   every router's `nginx -t` then failed, freezing routing changes for every app.
"""
from __future__ import annotations

import threading
import time

import pytest

from .conftest import WORK, Load, get, git_repo, push, sh, unique, wait_for
from .ops import HELLO, ensure_active, hello_source, new_app, serving

PG_UNIT = "postgresql@17-main.service"
RECOVERY_SECONDS = 15
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def world(aio, user_factory):
    world = new_app(aio, user_factory, "drill")
    owner, app = world["owner"], world["app"]
    git_repo(world["src"], {"Dockerfile": f"FROM {aio['registry']}/slipway/stack:trixie\nCOPY app.py /app/app.py\n"
                                          'CMD ["python3", "-u", "/app/app.py"]\n',
                            "app.py": hello_source("drill-v1:"), "Procfile": HELLO.joinpath("Procfile").read_text()})
    rc, out, _ = push(owner, app, world["src"])
    assert rc == 0, out
    wait_for(lambda: serving(world).startswith("drill-v1:"), 30, message="the first version serving")
    return world


def unit_state(unit: str) -> tuple[str, str]:
    out = sh(f"systemctl show -p MainPID -p NRestarts --value {unit}").stdout.split()
    return out[0], out[1]


def test_postgresql_restart_controller_recovers(world):
    api = world["owner"].api
    controller_before = unit_state("slipway-controller")
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            try:
                status, _ = api("GET", f"/v2/apps/{world['app']}/releases/", expect=None, timeout=5)
            except OSError:
                status = 0
            samples.append((time.monotonic(), status))
            time.sleep(0.1)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        time.sleep(2)
        t_restart = time.monotonic()
        sh(f"systemctl restart {PG_UNIT}", timeout=300)
        wait_for(lambda: sh("pg_isready -q -h 127.0.0.1 -p 5432", check=False).returncode == 0, 120, 0.2,
                 "PostgreSQL accepting connections")
        t_pg_up = time.monotonic()
        wait_for(lambda: any(t > t_pg_up and s == 200 for t, s in samples), 60, 0.1, "the API answering")
        time.sleep(2)
    finally:
        stop.set()
        poller.join(10)
        ensure_active(PG_UNIT, "pg_isready -q -h 127.0.0.1 -p 5432")
    recovered = min(t for t, s in samples if t > t_pg_up and s == 200)
    failed = [(t, s) for t, s in samples if s != 200]
    after = [s for t, s in samples if t >= recovered]
    print(f"\n[drill postgresql restart] restart took {t_pg_up - t_restart:.1f} s; API answered 200 again "
          f"{recovered - t_pg_up:.2f} s after PostgreSQL accepted connections; {len(failed)} of {len(samples)} "
          f"requests failed (statuses {sorted({s for _, s in failed})}), "
          f"unavailable {(max(t for t, _ in failed) - min(t for t, _ in failed)) if failed else 0:.1f} s")
    assert recovered - t_pg_up <= RECOVERY_SECONDS
    assert all(s == 200 for s in after), after  # recovered for good, not one lucky answer
    assert unit_state("slipway-controller") == controller_before, "the controller restarted"
    assert {s for _, s in failed} <= {503, 0}, failed  # "database unavailable", never a 500


def test_store_unreachable_during_push(world):
    before = serving(world)
    assert before.startswith("drill-v1:"), before
    git_repo(world["src"], {"app.py": hello_source("drill-v2:")}, "v2 while the store is down")
    sh(f"head -c 2000000 /dev/urandom > {world['src']}/payload.bin && cd {world['src']} && "
       "printf 'COPY payload.bin /payload.bin\\n' >> Dockerfile && git add -A && git commit -q --amend --no-edit")
    load = Load(world["domain"], "store-drill")
    stopped = time.monotonic()
    try:
        sh("systemctl stop slipway-store", timeout=180)
        stop_seconds = time.monotonic() - stopped
        rc, out, seconds = push(world["owner"], world["app"], world["src"])
        still = serving(world)
    finally:
        result = load.finish()
        t_start = time.monotonic()
        ensure_active("slipway-store", "curl -sk -o /dev/null -w '%{http_code}' https://localhost:8433/ | grep -q 403",
                      timeout=180)
        back_seconds = time.monotonic() - t_start
    print(out)
    print(f"\n[drill store down] store stopped in {stop_seconds:.1f} s; push rejected after {seconds:.1f} s; "
          f"load during the drill: {result['failures']} failed of {result['requests']}; "
          f"store answering again {back_seconds:.1f} s after its start")
    assert rc != 0 and "[remote rejected]" in out, out
    assert "-----> Building" in out, out
    # the registry, whose storage is the store, fails the build's pull of its base image (or its image's push)
    failure = out[out.index("-----> Building"):]
    assert "remote:  !     " in failure and any(word in failure.lower() for word in ("push", "upload", "500")), failure
    assert still.startswith("drill-v1:"), still
    assert result["failures"] == 0, result
    _, releases = world["owner"].api("GET", f"/v2/apps/{world['app']}/releases/")
    assert all("drill-v2" not in (r["summary"] or "") for r in releases["results"])

    # the store is back: the same push goes through (the registry retries its storage by itself)
    def pushed():
        rc, out, seconds = push(world["owner"], world["app"], world["src"])
        return (rc, out, seconds) if rc == 0 else None
    started = time.monotonic()
    rc, out, seconds = wait_for(pushed, 300, 5, "a push after the store came back")
    print(f"push after the store came back: {seconds:.1f} s (first success {time.monotonic() - started:.1f} s "
          "after the store answered)")
    assert wait_for(lambda: serving(world).startswith("drill-v2:"), 30, message="v2 serving")


BAD_CERT = ("cd {d} && openssl req -x509 -newkey rsa:1024 -nodes -days 30 -subj /CN={domain} "
            "-addext subjectAltName=DNS:{domain} -keyout key.pem -out cert.pem 2>/dev/null && cat cert.pem && "
            "echo ===== && cat key.pem")
SNIPPET = "/etc/nginx/conf.d/zz-slipway-drill.conf"


def routesync_log(since: str) -> str:
    return sh(f"journalctl -q -o cat -u slipway-routesync --since '{since}'").stdout


def test_nginx_refuses_a_broken_config_old_one_keeps_serving(world):
    api, app = world["owner"].api, world["app"]

    # a certificate OpenSSL's security level 2 refuses is refused at upload, and nothing is stored
    name = unique("weak-")
    d = f"{WORK}/{name}"
    sh(f"mkdir -p {d}")
    cert, key = sh(BAD_CERT.format(d=d, domain=f"{name}.example.test")).stdout.split("=====\n")
    status, answer = api("POST", "/v2/certs/", {"name": name, "certificate": cert, "key": key}, expect=None)
    print(f"\n[drill broken nginx config] a 1024-bit RSA certificate upload: {status} {answer}")
    assert 400 <= status < 500 and "1024" in str(answer), (status, answer)
    assert api("GET", f"/v2/certs/{name}", expect=None)[0] == 404

    # an operator's broken snippet: every `nginx -t` fails until it is gone
    domain = f"{unique('broken-')}.example.test"
    since = sh("date '+%Y-%m-%d %H:%M:%S'").stdout.strip()
    nginx_before = sh("systemctl show -p MainPID --value nginx").stdout.strip()
    live_before = sh("readlink -f /etc/nginx/slipway/live").stdout.strip()
    body_before = serving(world)
    load = Load(world["domain"], "nginx-drill")
    try:
        try:
            sh(f"echo 'this is not nginx;' > {SNIPPET}")
            started = time.monotonic()
            api("POST", f"/v2/apps/{app}/domains/", {"domain": domain})
            # the route sync's `nginx -t` refuses the configuration that would carry the new domain
            refused = wait_for(lambda: "refused by nginx -t" in routesync_log(since), 30, 0.5,
                               "the route sync reporting the failed nginx -t")
            refused_after = time.monotonic() - started
            time.sleep(2)
            live_during = sh("readlink -f /etc/nginx/slipway/live").stdout.strip()
            during = serving(world)
            nginx_t = sh("nginx -t 2>&1", check=False)
            domain_during = get(domain)[0]
            nginx_during = sh("systemctl show -p MainPID --value nginx").stdout.strip()
        finally:
            result = load.finish()
            sh(f"rm -f {SNIPPET}")
            removed = time.monotonic()
        log = routesync_log(since)
        print("\n" + "\n".join(line for line in log.splitlines() if "nginx -t" in line)[-1500:])
        print(f"\n[drill broken nginx config] refused by nginx -t {refused_after:.1f} s after the routing change: "
              f"{bool(refused)}; live config unchanged: {live_during == live_before}; the app served during "
              f"the drill: {result['failures']} failed of {result['requests']}; the new domain answered "
              f"{domain_during} (the old config)")
        assert live_during == live_before, (live_before, live_during)
        assert during.split(" (")[0] == body_before.split(" (")[0], during
        assert nginx_t.returncode != 0 and "zz-slipway-drill.conf" in nginx_t.stdout, nginx_t.stdout
        assert nginx_during == nginx_before
        assert result["failures"] == 0, result
        assert domain_during != 200, domain_during  # not routed yet: the refused generation is not live

        # the snippet is gone: the route sync applies the refused generation again on its own (its heartbeat
        # retry), with no further change at the controller
        wait_for(lambda: get(domain)[0] == 200, 60, 0.5, "the refused routing change applied after the fix")
        print(f"routing applied {time.monotonic() - removed:.1f} s after the snippet was removed "
              "(no further change at the controller)")
        assert sh("systemctl show -p MainPID --value nginx").stdout.strip() == nginx_before
    finally:
        sh(f"rm -f {SNIPPET}")
        api("DELETE", f"/v2/apps/{app}/domains/{domain}", expect=None)
