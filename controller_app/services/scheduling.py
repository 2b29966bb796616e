"""The one scheduler instance of this process, built from settings."""
from __future__ import annotations

import functools

from ..scheduler.base import Scheduler
from ..settings import get_settings


@functools.lru_cache(maxsize=1)
def get_scheduler() -> Scheduler:
    s = get_settings()
    from ..scheduler.swarm import SwarmScheduler

    tls = None
    if s.docker_tls_ca:
        import docker

        tls = docker.tls.TLSConfig(client_cert=(s.docker_tls_cert, s.docker_tls_key), ca_cert=s.docker_tls_ca,
                                   verify=True)
    return SwarmScheduler(s.docker_url, node_address=s.node_address, tls=tls, default_memory=s.default_memory)
