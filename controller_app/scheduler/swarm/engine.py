"""The base class of the Swarm backend: the Docker client and what every part of the backend asks of it
(services and tasks by label, nodes, versioned updates, error translation, container removal).

The parts (scheduler.py, nodes.py, events.py, logs.py, runs.py) subclass it and import nothing of each other.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Iterable

import docker
import docker.auth
import docker.errors
import docker.tls
import requests.exceptions

from ..base import SchedulerError
from ..names import check_app, check_deployment, check_type, parse_memory
from .errors import docker_errors
from .labels import L_APP, L_DEPLOYMENT, L_MANAGED, L_TYPE

log = logging.getLogger("controller_app.scheduler.swarm")  # the Swarm backend's one logger

NODE_DOCKER_PORT = 2376  # a node's own Docker API (TLS), for per-task operations on other nodes


class SwarmEngine:
    """A Swarm manager's Docker API, reached on first use."""

    api_timeout = 60  # seconds, per Docker API call

    def __init__(self, docker_url: str = "unix:///var/run/docker.sock", node_address: str | None = None,
                 tls: docker.tls.TLSConfig | None = None, default_memory: str = "512M"):
        self.docker_url = docker_url
        self.node_address = node_address
        self.tls = tls
        self.default_memory = default_memory
        parse_memory(default_memory)  # fail early on a bad platform setting
        self._client: docker.DockerClient | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> docker.DockerClient:
        """The Docker client, made on first use (so a scheduler can exist while Docker is down)."""
        with self._lock:
            if self._client is None:
                try:
                    self._client = docker.DockerClient(base_url=self.docker_url, version="auto",
                                                       tls=self.tls or False, timeout=self.api_timeout)
                except docker.errors.DockerException as exc:  # "auto" asks the engine for its version
                    cause = exc.__cause__ or exc.__context__ or exc
                    raise SchedulerError(f"cannot reach the Docker Engine at {self.docker_url} "
                                         f"({type(cause).__name__})") from None
            return self._client

    @property
    def api(self) -> docker.APIClient:
        return self.client.api

    def with_registry(self, image: str, registry: dict | None) -> docker.APIClient:
        """The API client to create `image`'s services with: with a private registry's credentials, a client of
        its own that has logged in there (so the Engine gets them as X-Registry-Auth and Swarm's nodes pull with
        them); without, the shared one."""
        if not registry:
            return self.api
        host = registry.get("hostname") or docker.auth.resolve_repository_name(image)[0]
        client = docker.APIClient(base_url=self.docker_url, version=self.api.api_version, tls=self.tls or False,
                                  timeout=self.api_timeout)
        with self.errors(f"log in to the registry {host}", [registry.get("password", "")]):
            try:
                client.login(registry.get("username", ""), registry.get("password", ""), registry=host,
                             reauth=True)
            except docker.errors.APIError as exc:
                client.close()
                raise SchedulerError(f"the registry {host} refused the app's credentials "
                                     f"({exc.explanation or exc.status_code})") from None
        return client

    def pull(self, image: str, registry: dict | None) -> None:
        """Pull `image` onto this engine, with a private registry's credentials when given."""
        auth = {"username": registry["username"], "password": registry["password"]} if registry else None
        self.client.images.pull(image, auth_config=auth)

    def errors(self, what: str, secrets: Iterable[str] = ()):
        """Turn Docker SDK / transport errors into SchedulerError (values in `secrets` redacted)."""
        return docker_errors(what, self.docker_url, secrets)

    def services(self, app: str, deployment: int | None = None, proc_type: str | None = None) -> list[dict]:
        """The app's services (of one deployment, of one type), by name."""
        labels = [f"{L_MANAGED}=1", f"{L_APP}={check_app(app)}"]
        if deployment is not None:
            labels.append(f"{L_DEPLOYMENT}={check_deployment(deployment)}")
        if proc_type is not None:
            labels.append(f"{L_TYPE}={check_type(proc_type)}")
        with self.errors(f"list services of app {app}"):
            found = self.api.services(filters={"label": labels})
        return sorted(found, key=lambda s: s["Spec"]["Name"])

    def service_tasks(self, services: list[dict]) -> list[dict]:
        """Every task (history included) of these services."""
        if not services:
            return []
        ids = [s["ID"] for s in services]
        with self.errors("list tasks"):
            try:
                return self.api.tasks(filters={"service": ids})
            except docker.errors.NotFound:  # one of them was removed meanwhile: ask one by one
                found = []
                for sid in ids:
                    with contextlib.suppress(docker.errors.NotFound):
                        found.extend(self.api.tasks(filters={"service": sid}))
                return found

    def versioned(self, what: str, gone: str, apply):
        """Run apply() (read, change, write an object), again when Swarm says its version moved on."""
        for attempt in range(5):
            with self.errors(what):
                try:
                    return apply()
                except docker.errors.NotFound:
                    raise SchedulerError(f"{what}: {gone}") from None
                except docker.errors.APIError as exc:
                    if "out of sequence" in str(exc.explanation) and attempt < 4:
                        time.sleep(0.2)
                        continue
                    raise
        raise SchedulerError(f"{what}: it kept changing")  # pragma: no cover - the loop returns or raises

    def raw_nodes(self) -> dict[str, dict]:
        """The Swarm's nodes as Docker describes them, by id."""
        with self.errors("list nodes"):
            return {n["ID"]: n for n in self.api.nodes()}

    def node_address_of(self, node: dict | None) -> str | None:
        """Where a node's published ports are reached (the configured override, else its Swarm address)."""
        if self.node_address:
            return self.node_address
        if not node:
            return None
        addr = node.get("Status", {}).get("Addr")
        if not addr or addr == "0.0.0.0":  # managers sometimes report 0.0.0.0: use the manager address
            manager = node.get("ManagerStatus", {}).get("Addr", "")
            addr = manager.rsplit(":", 1)[0] if manager else None
        return addr

    def node_engine(self, node_id: str | None, task: str) -> docker.APIClient:
        """The Docker API of the node a task runs on (TLS, port NODE_DOCKER_PORT)."""
        node = self.raw_nodes().get(node_id or "")
        address = (node or {}).get("Status", {}).get("Addr")
        if not node or not address or not self.tls:
            raise SchedulerError(f"task {task} runs on another node whose Docker API is not reachable "
                                 f"(needs TLS access on port {NODE_DOCKER_PORT})")
        return docker.APIClient(base_url=f"tcp://{address}:{NODE_DOCKER_PORT}", version="auto", tls=self.tls,
                                timeout=self.api_timeout)

    def remove_container(self, container_id: str) -> None:
        """Remove a container of this engine, a few tries; gone already is fine."""
        for attempt in range(3):
            try:
                self.api.remove_container(container_id, force=True)
                return
            except docker.errors.NotFound:
                return
            except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
                if attempt == 2:
                    log.warning("could not remove one-off container %s: %s", container_id[:12], type(exc).__name__)
                time.sleep(0.5)
