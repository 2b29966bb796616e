"""How the route sync reloads nginx: a signal to the master named by the pid file (no second parse of the whole
config, as `nginx -s reload` does), never to a process that merely took a stale pid file's number."""
from __future__ import annotations

import subprocess

import pytest

from slipway_agents.routesync import DEFAULTS, RouteSync


def sync(nginx, **cfg) -> RouteSync:
    return RouteSync(dict(DEFAULTS, controller_url="http://127.0.0.1:9", router_key="k", nginx_prefix=nginx.dir,
                          nginx_conf=nginx.conf, config_dir=nginx.config_dir,
                          http_listen=f"127.0.0.1:{nginx.http_port}", https_listen="", **cfg))


def test_the_master_named_in_the_main_config_is_signalled(nginx):
    rs = sync(nginx)
    assert rs.master_pid() == nginx.proc.pid
    rs.ensure_live()  # a first generation, loaded by the signal
    assert rs.wait_loaded("0")


@pytest.mark.parametrize("content", ["stale", "not a number", None])
def test_a_pid_file_that_names_no_nginx_master_is_refused(nginx, tmp_path, content):
    path = tmp_path / "nginx.pid"
    if content == "stale":  # a live process that is not nginx: a signal would hit it
        other = subprocess.Popen(["sleep", "30"])
        path.write_text(f"{other.pid}\n")
    elif content is not None:
        path.write_text(content)
    rs = sync(nginx, pid_file=str(path))
    try:
        with pytest.raises(RuntimeError, match="no nginx master to reload"):
            rs.reload()
        if content == "stale":
            assert other.poll() is None
    finally:
        if content == "stale":
            other.kill()
