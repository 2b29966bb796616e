"""Commands that change an app's config against a stub controller: limits, health checks and tags, and the bodies
they send."""
from __future__ import annotations


def test_limits_healthchecks_tags_bodies(logged_in, cli):
    ready = {"readinessProbe": {"httpGet": {"path": "/h", "httpHeaders": []}, "timeoutSeconds": 5}}
    live = {"livenessProbe": {"tcpSocket": {}, "failureThreshold": 3}}
    logged_in.on("GET", "/v2/apps/a/config/", 200, {"healthcheck": {"web": {**ready, **live}}})
    logged_in.on("GET", "/v2/apps/a/", 200, {"structure": {"cmd": 1}})
    logged_in.on("POST", "/v2/apps/a/config/", 201, {})
    cli("limits:set", "web=1g", "worker=256M", "-a", "a")
    assert logged_in.last("POST")["body"] == {"memory": {"web": "1G", "worker": "256M"}}
    cli("limits:unset", "--cpu", "web", "-a", "a")
    assert logged_in.last("POST")["body"] == {"cpu": {"web": None}}
    # the former form changes the readiness httpGet probe, keeping the rest of the type's value
    cli("healthchecks:set", "--timeout", "2.5", "-a", "a")
    assert logged_in.last("POST")["body"] == {"healthcheck": {"web": {**live, "readinessProbe": {
        "httpGet": {"path": "/h", "httpHeaders": []}, "timeoutSeconds": 3}}}}
    cli("healthchecks:set", "worker", "--path", "/ok", "--interval", "2", "-a", "a")
    assert logged_in.last("POST")["body"] == {"healthcheck": {"worker": {"readinessProbe": {
        "httpGet": {"path": "/ok"}, "periodSeconds": 2}}}}
    assert cli("healthchecks:set", "worker", "--port", "9000", "-a", "a").code == 2  # no such option
    assert cli("healthchecks:set", "-a", "a").code == 1  # nothing to set
    # Deis's form: the probe given, the other one as the app has it
    cli("healthchecks:set", "liveness", "httpGet", "8080", "--path", "/live", "--header", "X-A: b: c",
        "--header", "X-B:d", "--initial-delay-timeout", "5", "--timeout-seconds", "2", "--period-seconds", "3",
        "--failure-threshold", "4", "-a", "a")
    assert logged_in.last("POST")["body"] == {"healthcheck": {"web": {**ready, "livenessProbe": {
        "initialDelaySeconds": 5, "timeoutSeconds": 2, "periodSeconds": 3, "failureThreshold": 4,
        "httpGet": {"port": 8080, "path": "/live", "httpHeaders": [{"name": "X-A", "value": "b: c"},
                                                                   {"name": "X-B", "value": "d"}]}}}}}
    cli("healthchecks:set", "readiness", "tcpSocket", "--type", "web/cmd", "--success-threshold", "2", "-a", "a")
    assert logged_in.last("POST")["body"] == {"healthcheck": {"cmd": {"readinessProbe": {
        "successThreshold": 2, "tcpSocket": {}}}}}
    cli("healthchecks:set", "readiness", "exec", "-a", "a", "--", "pg_isready", "-h", "localhost", "--quiet")
    assert logged_in.last("POST")["body"] == {"healthcheck": {"web": {**live, "readinessProbe": {
        "exec": {"command": ["pg_isready", "-h", "localhost", "--quiet"]}}}}}
    for bad in (["readiness"], ["readiness", "grpc"], ["readiness", "exec"], ["readiness", "httpGet", "http"],
                ["liveness", "tcpSocket", "1", "2"], ["readiness", "httpGet", "--header", "no-colon"]):
        assert cli("healthchecks:set", *bad, "-a", "a").code == 1, bad
    cli("healthchecks:unset", "liveness", "-a", "a")
    assert logged_in.last("POST")["body"] == {"healthcheck": {"web": ready}}
    cli("healthchecks:unset", "liveness", "readiness", "-a", "a")
    assert logged_in.last("POST")["body"] == {"healthcheck": {"web": None}}
    assert cli("healthchecks:unset", "liveness", "--type", "worker", "-a", "a").code == 1  # it has none
    cli("healthchecks:unset", "web", "worker", "-a", "a")
    assert logged_in.last("POST")["body"] == {"healthcheck": {"web": None, "worker": None}}
    out = cli("healthchecks:list", "-a", "a").out
    assert "--- web\nLiveness: tcpSocket on $PORT; failureThreshold 3\n" in out, out
    assert "Readiness: httpGet /h on $PORT; timeoutSeconds 5\n" in out, out
    cli("tags:set", "zone=eu", "disk=ssd", "-a", "a")
    assert logged_in.last("POST")["body"] == {"tags": {"zone": "eu", "disk": "ssd"}}
