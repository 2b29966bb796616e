"""The Docker Swarm backend of the scheduler (Docker SDK, against a manager node).

One Swarm service per (app, deployment, process type): blue/green deploys create a deployment's
services next to the serving ones and remove the old ones later. Services are found by their labels
(`slipway.app`, `slipway.deployment`, `slipway.type`, `slipway.managed=1`), never by parsing names.

Networking works without IPVS (no VIPs, no routing mesh): `endpoint_mode=dnsrr`, and routable types
publish their PORT in host mode on a dynamic host port; a task's endpoint is (its node's address, or
the configured override, and the port Swarm reports in `Status.PortStatus`).

Every Docker failure becomes a SchedulerError whose message never carries environment values.
"""
from __future__ import annotations

import contextlib
import datetime
import heapq
import logging
import queue
import socket
import threading
import time
from typing import Iterable, Iterator

import docker
import docker.errors
import docker.tls
import requests.exceptions
from docker.types import (ContainerSpec, EndpointSpec, Resources, RestartPolicy, ServiceMode, TaskTemplate,
                          UpdateConfig)

from . import images
from . import placement as placing
from .base import Endpoint, LogStream, Node, ProcessSpec, RunResult, RunSession, Scheduler, SchedulerError, Task
from .names import check_app, check_deployment, check_type, parse_cpu, parse_memory, service_name

log = logging.getLogger(__name__)

L_APP = "slipway.app"
L_RELEASE = "slipway.release"
L_DEPLOYMENT = "slipway.deployment"
L_TYPE = "slipway.type"
L_MANAGED = "slipway.managed"
L_ONEOFF = "slipway.oneoff"
L_SESSION_DEADLINE = "slipway.session-deadline"  # interactive one-offs: unix time after which any may remove it
L_SWARM_SERVICE = "com.docker.swarm.service.id"

SECOND = 10 ** 9  # Swarm durations are in nanoseconds
STOP_GRACE = 10 * SECOND
RESTART_DELAY = 2 * SECOND
# states after which a task never runs again
TERMINAL_STATES = {"complete", "failed", "shutdown", "rejected", "orphaned", "remove"}
INACTIVE_DESIRED = {"shutdown", "remove", "orphaned", "complete"}
NODE_DOCKER_PORT = 2376  # a node's own Docker API (TLS), for per-task operations on other nodes
MAX_RUN_OUTPUT = 1024 * 1024


def _redact(message: str, secrets: Iterable[str]) -> str:
    for value in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        message = message.replace(value, "***")
    return message


def _ts_key(ts: str) -> str:
    """RFC 3339 (nano) timestamp -> a string that sorts chronologically (fraction padded to 9 digits)."""
    if not ts:
        return ""
    base, _, frac = ts.rstrip("Z").partition(".")
    return f"{base}.{frac.ljust(9, '0')[:9]}"


def _ts_epoch(ts: str) -> str:
    """RFC 3339 (nano) timestamp -> "<seconds>.<nanos>" for the logs API's `since`."""
    base, _, frac = ts.rstrip("Z").partition(".")
    seconds = int(datetime.datetime.fromisoformat(base).replace(tzinfo=datetime.timezone.utc).timestamp())
    return f"{seconds}.{frac.ljust(9, '0')[:9]}"


class SwarmScheduler(Scheduler):
    api_timeout = 60  # seconds, per Docker API call
    remove_wait = 30  # seconds to wait for removed services' containers to go

    def __init__(self, docker_url: str = "unix:///var/run/docker.sock", node_address: str | None = None,
                 tls: docker.tls.TLSConfig | None = None, default_memory: str = "512M"):
        self.docker_url = docker_url
        self.node_address = node_address
        self.tls = tls
        self.default_memory = default_memory
        parse_memory(default_memory)  # fail early on a bad platform setting
        self._client: docker.DockerClient | None = None
        self._lock = threading.Lock()

    # ---- plumbing -------------------------------------------------------------------------------
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

    @contextlib.contextmanager
    def _errors(self, what: str, secrets: Iterable[str] = ()):
        """Turn Docker SDK / transport errors into SchedulerError (values in `secrets` redacted)."""
        try:
            yield
        except SchedulerError:
            raise
        except docker.errors.APIError as exc:
            detail = exc.explanation or (exc.response.reason if exc.response is not None else str(exc))
            if isinstance(detail, bytes):
                detail = detail.decode(errors="replace")
            raise SchedulerError(f"{what}: {_redact(str(detail), secrets)}") from None
        except docker.errors.DockerException as exc:
            raise SchedulerError(f"{what}: {_redact(str(exc), secrets)}") from None
        except (requests.exceptions.RequestException, OSError) as exc:
            raise SchedulerError(f"{what}: cannot reach the Docker Engine at {self.docker_url} "
                                 f"({type(exc).__name__})") from None

    def _services(self, app: str, deployment: int | None = None, proc_type: str | None = None) -> list[dict]:
        labels = [f"{L_MANAGED}=1", f"{L_APP}={check_app(app)}"]
        if deployment is not None:
            labels.append(f"{L_DEPLOYMENT}={check_deployment(deployment)}")
        if proc_type is not None:
            labels.append(f"{L_TYPE}={check_type(proc_type)}")
        with self._errors(f"list services of app {app}"):
            services = self.api.services(filters={"label": labels})
        return sorted(services, key=lambda s: s["Spec"]["Name"])

    def _service_tasks(self, services: list[dict]) -> list[dict]:
        if not services:
            return []
        ids = [s["ID"] for s in services]
        with self._errors("list tasks"):
            try:
                return self.api.tasks(filters={"service": ids})
            except docker.errors.NotFound:  # one of them was removed meanwhile: ask one by one
                found = []
                for sid in ids:
                    with contextlib.suppress(docker.errors.NotFound):
                        found.extend(self.api.tasks(filters={"service": sid}))
                return found

    def _nodes(self) -> dict[str, dict]:
        with self._errors("list nodes"):
            return {n["ID"]: n for n in self.api.nodes()}

    def _node_addr(self, node: dict | None) -> str | None:
        if self.node_address:
            return self.node_address
        if not node:
            return None
        addr = node.get("Status", {}).get("Addr")
        if not addr or addr == "0.0.0.0":  # managers sometimes report 0.0.0.0: use the manager address
            manager = node.get("ManagerStatus", {}).get("Addr", "")
            addr = manager.rsplit(":", 1)[0] if manager else None
        return addr

    def _versioned(self, what: str, gone: str, apply):
        """Run apply() (read, change, write an object), again when Swarm says its version moved on."""
        for attempt in range(5):
            with self._errors(what):
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

    def _update(self, service: dict, what: str, change) -> None:
        """Apply change(spec) to a service's full spec, retrying when Swarm says the version moved on."""
        def apply():
            current = self.api.inspect_service(service["ID"])
            spec = current["Spec"]
            change(spec)
            self.api.update_service(
                current["ID"], current["Version"]["Index"], task_template=spec["TaskTemplate"],
                name=spec["Name"], labels=spec.get("Labels"), mode=spec.get("Mode"),
                update_config=spec.get("UpdateConfig"), rollback_config=spec.get("RollbackConfig"),
                endpoint_spec=spec.get("EndpointSpec"))

        self._versioned(what, "the service no longer exists", apply)

    # ---- the interface --------------------------------------------------------------------------
    def ping(self) -> None:
        with self._errors("ping Docker"):
            self.api.ping()
            info = self.api.info()
        swarm = info.get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active":
            raise SchedulerError(f"the Docker Engine at {self.docker_url} is not part of an active Swarm "
                                 f"(state: {swarm.get('LocalNodeState') or 'unknown'})")
        if not swarm.get("ControlAvailable"):
            raise SchedulerError(f"the Docker Engine at {self.docker_url} is not a Swarm manager")

    def create(self, spec: ProcessSpec) -> None:
        check_app(spec.app)
        check_type(spec.proc_type)
        check_deployment(spec.deployment)
        if spec.replicas < 0:
            raise SchedulerError(f"invalid replica count {spec.replicas}")
        if spec.routable and not (0 < spec.port < 65536):
            raise SchedulerError(f"invalid port {spec.port}")
        memory = parse_memory(spec.memory or self.default_memory)
        cpu = parse_cpu(spec.cpu) if spec.cpu else None
        name = service_name(spec.app, spec.proc_type, spec.deployment)
        if self._services(spec.app, spec.deployment, spec.proc_type):
            return  # idempotent: this deployment's process type already has its service
        labels = {L_APP: spec.app, L_RELEASE: str(spec.release), L_DEPLOYMENT: str(spec.deployment),
                  L_TYPE: spec.proc_type, L_MANAGED: "1"}
        container = ContainerSpec(
            image=self._pinned(spec.image),
            command=["/bin/sh", "-c"] if spec.command else None,
            args=[spec.command] if spec.command else None,
            env=[f"{k}={v}" for k, v in spec.env.items()],
            labels=labels,
            stop_grace_period=STOP_GRACE,
            init=True,  # signals reach `sh -c` children; zombies reaped
            cap_drop=["ALL"],
        )
        template = TaskTemplate(
            container,
            resources=Resources(mem_limit=memory, cpu_limit=cpu),
            restart_policy=RestartPolicy(condition="any", delay=RESTART_DELAY),
            placement=placing.placement(spec.constraints),
        )
        ports = [{"Protocol": "tcp", "TargetPort": spec.port, "PublishMode": "host"}] if spec.routable else []
        endpoint = EndpointSpec(mode="dnsrr")
        if ports:
            endpoint["Ports"] = ports  # no PublishedPort: a dynamic host port per task
        secrets = list(spec.env.values())
        with self._errors(f"create service {name}", secrets):
            try:
                self.api.create_service(
                    template, name=name, labels=labels,
                    mode=ServiceMode("replicated", replicas=spec.replicas),
                    update_config=UpdateConfig(parallelism=1, order="start-first", failure_action="continue"),
                    endpoint_spec=endpoint)
            except docker.errors.APIError as exc:
                if exc.status_code == 409:  # created meanwhile (a concurrent call), or a foreign service
                    if self._services(spec.app, spec.deployment, spec.proc_type):
                        return
                    raise SchedulerError(f"create service {name}: a service with that name exists and is "
                                         f"not this deployment's") from None
                raise

    def _pinned(self, image: str) -> str:
        """The image by its registry digest when this engine has it (see images.py), else as given."""
        try:
            return images.pin(image, self.api.inspect_image(image).get("RepoDigests") or [])
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError):
            return image

    def scale(self, app: str, deployment: int, proc_type: str, replicas: int) -> None:
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            raise SchedulerError(f"invalid replica count {replicas!r}")
        services = self._services(app, deployment, proc_type)
        if not services:
            raise SchedulerError(f"app {app} has no {proc_type} service in deployment {deployment}")

        def change(spec):
            spec["Mode"] = {"Replicated": {"Replicas": replicas}}

        for service in services:
            self._update(service, f"scale service {service['Spec']['Name']}", change)

    def tasks(self, app: str, deployment: int | None = None) -> list[Task]:
        services = self._services(app, deployment)
        if not services:
            return []
        raw = self._service_tasks(services)
        nodes = self._nodes()
        by_id = {s["ID"]: s for s in services}
        slots: dict[tuple[str, int], list[dict]] = {}
        for t in raw:
            if t.get("ServiceID") in by_id:
                slots.setdefault((t["ServiceID"], t.get("Slot") or 0), []).append(t)
        result = []
        for (sid, slot), history in slots.items():
            history.sort(key=lambda t: (t.get("Version", {}).get("Index", 0), t.get("CreatedAt", "")),
                         reverse=True)
            current = next((t for t in history if t.get("DesiredState") not in INACTIVE_DESIRED), None)
            if current is None:  # a slot that was scaled away or replaced: history only
                continue
            result.append(self._task(by_id[sid], slot, current, history, nodes))
        result.sort(key=lambda t: (t.state != "running", t.deployment, t.proc_type, t.name))
        return result

    def _task(self, service: dict, slot: int, t: dict, history: list[dict], nodes: dict) -> Task:
        labels = service["Spec"].get("Labels", {})
        status = t.get("Status", {})
        state = status.get("State", "unknown")
        node = nodes.get(t.get("NodeID") or "")
        endpoint = None
        target = self._target_port(service)
        if target and state not in TERMINAL_STATES:
            for port in (status.get("PortStatus") or {}).get("Ports") or []:
                if port.get("TargetPort") == target and port.get("PublishedPort"):
                    address = self._node_addr(node)
                    if address:
                        endpoint = Endpoint(address, int(port["PublishedPort"]))
                    break
        error = status.get("Err")
        if not error and state != "running":
            failed = next((h for h in history if h is not t and h.get("Status", {}).get("Err")), None)
            if failed:
                error = failed["Status"]["Err"]
        return Task(
            name=f"{service['Spec']['Name']}.{slot}",
            app=labels.get(L_APP, ""),
            release=int(labels.get(L_RELEASE, 0)),
            deployment=int(labels.get(L_DEPLOYMENT, 0)),
            proc_type=labels.get(L_TYPE, ""),
            state=state,
            desired_state=t.get("DesiredState", "unknown"),
            node=(node or {}).get("Description", {}).get("Hostname") or t.get("NodeID") or None,
            endpoint=endpoint,
            started=status.get("Timestamp") if state == "running" else None,
            error=error,
        )

    @staticmethod
    def _target_port(service: dict) -> int | None:
        ports = (service["Spec"].get("EndpointSpec") or {}).get("Ports") or []
        return ports[0].get("TargetPort") if ports else None

    # ---- nodes (see placement.py) ------------------------------------------------------------------
    def nodes(self) -> list[Node]:
        found = [placing.node(n, self._node_addr(n)) for n in self._nodes().values()]
        return sorted(found, key=lambda n: (n.hostname, n.id))

    def set_availability(self, node_id: str, availability: str) -> Node:
        def apply():
            current = self.api.inspect_node(node_id)
            spec = placing.with_availability(current["Spec"], availability)
            self.api.update_node(node_id, current["Version"]["Index"], spec)
            raw = self.api.inspect_node(node_id)
            return placing.node(raw, self._node_addr(raw))

        return self._versioned(f"set node {node_id} {availability}", "no such node", apply)

    def apps_on_node(self, node_id: str) -> set[str]:
        with self._errors(f"list tasks of node {node_id}"):
            found = self.api.tasks(filters={"node": node_id, "desired-state": "running"})
        return {app for app in map(placing.task_app, found) if app}

    def deployments(self, app: str) -> list[int]:
        found = set()
        for service in self._services(app):
            with contextlib.suppress(ValueError, TypeError):
                found.add(int(service["Spec"]["Labels"][L_DEPLOYMENT]))
        return sorted(found)

    def remove(self, app: str, deployment: int | None = None) -> None:
        """Remove services (by labels) and wait, boundedly, until their containers are gone.

        Removing a whole app also removes its one-off containers still running on the manager's engine.
        """
        if deployment is None:
            check_app(app)
            with self._errors(f"remove one-off containers of app {app}"):
                for c in self.api.containers(all=True, filters={"label": [f"{L_APP}={app}", f"{L_ONEOFF}=1"]}):
                    with contextlib.suppress(docker.errors.NotFound):
                        self.api.remove_container(c["Id"], force=True)
        services = self._services(app, deployment)
        if not services:
            return
        ids = {s["ID"] for s in services}
        labels = [f"{L_MANAGED}=1", f"{L_APP}={app}"]
        for service in services:
            with self._errors(f"remove service {service['Spec']['Name']}"):
                with contextlib.suppress(docker.errors.NotFound):
                    self.api.remove_service(service["ID"])
        deadline = time.monotonic() + self.remove_wait
        while time.monotonic() < deadline:
            with self._errors("wait for removed services' containers"):
                # tasks (any node) and containers (this node) carry the service's container labels
                left = [t for t in self.api.tasks(filters={"label": labels}) if t.get("ServiceID") in ids]
                local = self.api.containers(all=True, filters={"label": labels})
                local = [c for c in local if (c.get("Labels") or {}).get(L_SWARM_SERVICE) in ids]
            if not left and not local:
                return
            time.sleep(0.25)
        log.warning("containers of removed services of app %s still present after %ss", app, self.remove_wait)

    def restart(self, app: str, deployment: int, proc_type: str | None = None, task: str | None = None) -> None:
        services = self._services(app, deployment, proc_type)
        if task is not None:
            self._restart_task(app, services, task)
            return
        if not services:
            what = f"{proc_type} service" if proc_type else "services"
            raise SchedulerError(f"app {app} has no {what} in deployment {deployment}")

        def change(spec):
            template = spec["TaskTemplate"]
            template["ForceUpdate"] = int(template.get("ForceUpdate") or 0) + 1

        for service in services:
            self._update(service, f"restart service {service['Spec']['Name']}", change)

    def _restart_task(self, app: str, services: list[dict], task: str) -> None:
        """Stop and remove one task's container; Swarm replaces the task (restart policy `any`)."""
        name, _, slot_text = task.rpartition(".")
        service = next((s for s in services if s["Spec"]["Name"] == name), None)
        if service is None or not slot_text.isdigit():
            raise SchedulerError(f"app {app} has no task {task}")
        slot = int(slot_text)
        current = [t for t in self._service_tasks([service])
                   if t.get("Slot") == slot and t.get("DesiredState") not in INACTIVE_DESIRED]
        container_id = next((t["Status"].get("ContainerStatus", {}).get("ContainerID") for t in current
                             if t["Status"].get("ContainerStatus", {}).get("ContainerID")), None)
        if not current:
            raise SchedulerError(f"app {app} has no task {task}")
        if not container_id:
            raise SchedulerError(f"task {task} has no container yet")
        node_id = current[0].get("NodeID")
        with self._errors(f"restart task {task}"):
            local_node = self.api.info().get("Swarm", {}).get("NodeID")
            if node_id == local_node:
                engine = self.api
            else:
                engine = self._node_engine(node_id, task)
            try:  # a graceful stop (SIGTERM, then SIGKILL after the grace period), then away with it
                engine.stop(container_id, timeout=STOP_GRACE // SECOND)
                engine.remove_container(container_id, force=True)
            except docker.errors.NotFound:
                pass  # already gone: Swarm replaces it anyway

    def _node_engine(self, node_id: str | None, task: str) -> docker.APIClient:
        node = self._nodes().get(node_id or "")
        address = (node or {}).get("Status", {}).get("Addr")
        if not node or not address or not self.tls:
            raise SchedulerError(f"task {task} runs on another node whose Docker API is not reachable "
                                 f"(needs TLS access on port {NODE_DOCKER_PORT})")
        return docker.APIClient(base_url=f"tcp://{address}:{NODE_DOCKER_PORT}", version="auto", tls=self.tls,
                                timeout=self.api_timeout)

    def run(self, app: str, image: str, command: str, env: dict[str, str],
            memory: str | None = None, timeout: float = 300) -> RunResult:
        check_app(app)
        mem = parse_memory(memory or self.default_memory)
        secrets = list(env.values())
        options = dict(
            entrypoint=["/bin/sh", "-c"], command=[command],  # exactly `sh -c <command>`, whatever the image
            environment=[f"{k}={v}" for k, v in env.items()],
            labels={L_APP: app, L_ONEOFF: "1", L_MANAGED: "1"},
            init=True, cap_drop=["ALL"], mem_limit=mem, memswap_limit=mem, privileged=False)
        container = None
        try:
            # containers.run() in two steps, so that a container whose start fails is removed too
            with self._errors(f"run a one-off container for app {app}", secrets):
                try:
                    container = self.client.containers.create(image, **options)
                except docker.errors.ImageNotFound:
                    self.client.images.pull(image)
                    container = self.client.containers.create(image, **options)
                container.start()
            with self._errors(f"wait for a one-off container for app {app}", secrets):
                try:
                    status = container.wait(timeout=timeout)
                except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError) as exc:
                    if isinstance(exc, requests.exceptions.ReadTimeout) or "timed out" in str(exc):
                        raise SchedulerError(f"one-off command for app {app} timed out after {timeout:g}s") from None
                    raise
            with self._errors(f"collect the output of a one-off container for app {app}", secrets):
                output = container.logs(stdout=True, stderr=True)
            if len(output) > MAX_RUN_OUTPUT:
                output = output[-MAX_RUN_OUTPUT:]
            error = (status.get("Error") or {}).get("Message")
            if error:
                raise SchedulerError(f"one-off container for app {app} failed: {_redact(error, secrets)}")
            return RunResult(exit_code=int(status.get("StatusCode", -1)), output=output.decode(errors="replace"))
        finally:
            if container is not None:
                self._remove_container(container.id)

    def _remove_container(self, container_id: str) -> None:
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

    # ---- logs -----------------------------------------------------------------------------------
    def _log_entries(self, services: list[dict], tail: int | str = "all", since: str | None = None):
        """(sort key, timestamp, prefix, message) of the services' log lines (not merged)."""
        slots = {t["ID"]: t.get("Slot") for t in self._service_tasks(services)}
        entries = []
        for service in services:
            proc_type = service["Spec"].get("Labels", {}).get(L_TYPE, "?")
            kwargs = {"since": since} if since else {}
            with self._errors(f"read logs of service {service['Spec']['Name']}"):
                try:
                    chunks = self.api.service_logs(service["ID"], details=True, stdout=True, stderr=True,
                                                   timestamps=True, tail=tail, is_tty=False, **kwargs)
                    data = b"".join(chunks)
                except docker.errors.NotFound:
                    continue
            for raw in data.decode(errors="replace").splitlines():
                ts, _, rest = raw.partition(" ")
                details, _, message = rest.partition(" ")
                if "com.docker.swarm" not in details:  # no details field: the message starts here
                    details, message = "", rest
                attrs = dict(kv.split("=", 1) for kv in details.split(",") if "=" in kv)
                slot = slots.get(attrs.get("com.docker.swarm.task.id", ""))
                prefix = f"{proc_type}.{slot if slot is not None else '?'}"
                entries.append((_ts_key(ts), ts, prefix, message))
        entries.sort(key=lambda e: e[0])
        return entries

    def logs(self, app: str, lines: int = 100, proc_type: str | None = None) -> str:
        lines = max(0, int(lines))
        if lines == 0:
            return ""
        services = self._services(app, proc_type=proc_type)
        entries = self._log_entries(services, tail=lines)[-lines:]
        return "".join(f"{prefix}: {message}\n" for _, _, prefix, message in entries)

    def follow_logs(self, app: str, proc_type: str | None = None, interval: float = 1.0) -> Iterator[str]:
        """New log lines as they come (new deployments included); closing the generator stops the streams."""
        stream = self.open_log_stream(app, proc_type=proc_type, poll=interval)
        try:
            while True:
                yield from stream.read(timeout=1.0)
        finally:
            stream.close()

    def open_log_stream(self, app: str, proc_type: str | None = None, lines: int = 0,
                        poll: float = 1.0) -> "SwarmLogStream":
        check_app(app)
        if proc_type is not None:
            check_type(proc_type)
        start = time.time()
        backlog = []
        if lines > 0:
            services = self._services(app, proc_type=proc_type)
            backlog = self._log_entries(services, tail=lines)[-lines:] if services else []
        return SwarmLogStream(self, app, proc_type, start, backlog, poll)

    # ---- interactive one-off sessions -------------------------------------------------------------
    def attach_run(self, app: str, image: str, command: str, env: dict[str, str], memory: str | None = None,
                   cols: int | None = None, rows: int | None = None,
                   max_seconds: float | None = None) -> "SwarmRunSession":
        """`max_seconds` goes on the container as a deadline label: a session whose controller died (so
        nobody removes its container) is removed by the next session started after that deadline."""
        check_app(app)
        self.reap_expired_sessions()
        mem = parse_memory(memory or self.default_memory)
        secrets = list(env.values())
        what = f"start an interactive one-off container for app {app}"
        container_id = None
        try:
            with self._errors(what, secrets):
                host_config = self.api.create_host_config(init=True, cap_drop=["ALL"], mem_limit=mem,
                                                          memswap_limit=mem, privileged=False)
                options = dict(entrypoint=["/bin/sh", "-c"], command=[command], tty=True, stdin_open=True,
                               environment=[f"{k}={v}" for k, v in env.items()], host_config=host_config,
                               labels={L_APP: app, L_ONEOFF: "1", L_MANAGED: "1",
                                       L_SESSION_DEADLINE: str(int(time.time() + (max_seconds or 24 * 3600) + 60))})
                try:
                    container_id = self.api.create_container(image, **options)["Id"]
                except docker.errors.ImageNotFound:
                    self.client.images.pull(image)
                    container_id = self.api.create_container(image, **options)["Id"]
                raw = self.api.attach_socket(container_id, params={"stdin": 1, "stdout": 1, "stderr": 1,
                                                                   "stream": 1})
                session = SwarmRunSession(self, container_id, raw)
                self.api.start(container_id)
                if cols and rows:
                    session.resize(cols, rows)
            return session
        except BaseException:
            if container_id is not None:
                self._remove_container(container_id)
            raise

    def reap_expired_sessions(self) -> int:
        """Remove interactive one-off containers past their deadline label (their controller is gone)."""
        removed = 0
        try:
            found = self.api.containers(all=True, filters={"label": [f"{L_ONEOFF}=1", L_SESSION_DEADLINE]})
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError):
            return 0
        now = time.time()
        for c in found:
            try:
                deadline = int((c.get("Labels") or {}).get(L_SESSION_DEADLINE, ""))
            except ValueError:
                continue
            if deadline < now:
                self._remove_container(c["Id"])
                removed += 1
        return removed


def _raw_socket(obj) -> socket.socket | None:
    """The socket under a docker-py raw stream (SocketIO, a response, a socket)."""
    for attr in ("_sock",):
        if hasattr(obj, attr):
            return getattr(obj, attr)
    return obj if isinstance(obj, socket.socket) else None


def _response_socket(response) -> socket.socket | None:
    with contextlib.suppress(AttributeError):
        fp = response.raw._fp.fp  # noqa: SLF001 - the SDK's own CancellableStream does the same
        raw = fp.raw if hasattr(fp, "raw") else fp
        return _raw_socket(raw)
    return None


def _shutdown(sock: socket.socket | None) -> None:
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class SwarmLogStream(LogStream):
    """One thread per service streams its logs (`follow`); a watcher thread finds new services (a new
    release) every `poll` seconds and refreshes task slots. Lines wait `reorder` seconds in a heap so that
    lines of different tasks come out by their timestamps. close() shuts every HTTP stream down."""

    reorder = 0.3
    max_pending = 20000

    def __init__(self, sched: SwarmScheduler, app: str, proc_type: str | None, start: float,
                 backlog: list, poll: float):
        self.sched, self.app, self.proc_type, self.poll = sched, app, proc_type, max(0.2, poll)
        self.start_key = _ts_key(datetime.datetime.fromtimestamp(start, datetime.timezone.utc)
                                 .strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        self.since = f"{start:.6f}"
        self._ready = [f"{prefix}: {message}" for _, _, prefix, message in backlog]
        self._seen = {(key, prefix, message) for key, _, prefix, message in backlog if key >= self.start_key}
        self._heap: list = []
        self._seq = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._streams: dict[str, dict] = {}  # service id -> {"thread", "response", "last": ts}
        self._slots: dict[str, int] = {}
        self._lock = threading.Lock()
        self.error: str | None = None
        self._watcher = threading.Thread(target=self._watch, name=f"logs-{app}", daemon=True)
        self._watcher.start()

    # -- consumer side
    def read(self, timeout: float = 1.0) -> list[str]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                out, self._ready = self._ready, []
                while self._heap and (self._heap[0][2] + self.reorder <= now or self._stop.is_set()):
                    out.append(heapq.heappop(self._heap)[3])
                if out or self._stop.is_set() or now >= deadline:
                    return out
                wait = deadline - now
                if self._heap:
                    wait = min(wait, max(0.01, self._heap[0][2] + self.reorder - now))
                self._cond.wait(wait)

    def close(self) -> None:
        with self._lock:  # under the lock: the watcher starts no stream after this
            if self._stop.is_set():
                return
            self._stop.set()
            streams = list(self._streams.values())
        for st in streams:
            response = st.get("response")
            if response is not None:
                _shutdown(_response_socket(response))
                with contextlib.suppress(Exception):
                    response.close()
        with self._cond:
            self._cond.notify_all()
        for st in streams:
            thread = st.get("thread")
            if thread is not None and thread is not threading.current_thread():
                thread.join(5)
        if self._watcher is not threading.current_thread():
            self._watcher.join(5)

    @property
    def threads(self) -> list[threading.Thread]:
        """Threads still alive (tests check that close() ended them all)."""
        with self._lock:
            found = [st["thread"] for st in self._streams.values() if st.get("thread")]
        return [t for t in [self._watcher, *found] if t.is_alive()]

    # -- producer side
    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                services = self.sched._services(self.app, proc_type=self.proc_type)  # noqa: SLF001
                slots = {t["ID"]: t.get("Slot") for t in self.sched._service_tasks(services)}  # noqa: SLF001
                with self._lock:
                    if self._stop.is_set():
                        return
                    self._slots.update(slots)
                    for service in services:
                        st = self._streams.get(service["ID"])
                        if st is None or not st["thread"].is_alive():
                            since = self.since if st is None or not st.get("last") else _ts_epoch(st["last"])
                            st = {"last": (st or {}).get("last"), "response": None}
                            st["thread"] = threading.Thread(target=self._follow, args=(service, since, st),
                                                            name=f"logs-{service['Spec']['Name']}", daemon=True)
                            self._streams[service["ID"]] = st
                            st["thread"].start()
                    live = {s["ID"] for s in services}
                    for sid in [sid for sid, st in self._streams.items()
                                if sid not in live and not st["thread"].is_alive()]:
                        del self._streams[sid]
                self.error = None
            except SchedulerError as exc:
                self.error = str(exc)
                log.warning("following logs of %s: %s", self.app, exc)
            except Exception:  # noqa: BLE001 - the watcher must outlive one bad answer
                log.exception("following logs of %s", self.app)
            self._stop.wait(self.poll)

    def _follow(self, service: dict, since: str, st: dict) -> None:
        api = self.sched.api
        proc_type = service["Spec"].get("Labels", {}).get(L_TYPE, "?")
        params = {"follow": 1, "stdout": 1, "stderr": 1, "timestamps": 1, "details": 1, "since": since,
                  "tail": "all"}
        try:
            url = api._url("/services/{0}/logs", service["ID"])  # noqa: SLF001
            # bounded wait for the answer's head (a stream must not hang where close() cannot reach it);
            # the stream helper below lifts the socket timeout for the endless body
            response = api._get(url, params=params, stream=True, timeout=(10, 10))  # noqa: SLF001
            with self._lock:
                st["response"] = response
                stopped = self._stop.is_set()
            if stopped:
                return
            api._raise_for_status(response)  # noqa: SLF001
            pending = b""
            for chunk in api._multiplexed_response_stream_helper(response):  # noqa: SLF001
                if self._stop.is_set():
                    break
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for raw in complete:
                    self._line(raw.decode(errors="replace"), proc_type, st)
            if pending and not self._stop.is_set():
                self._line(pending.decode(errors="replace"), proc_type, st)
        except Exception as exc:  # noqa: BLE001 - a stream that ends (service removed, close()) just ends
            if not self._stop.is_set():
                log.debug("log stream of %s ended: %s", service["Spec"]["Name"], type(exc).__name__)
        finally:
            response = st.get("response")
            if response is not None:
                with contextlib.suppress(Exception):
                    response.close()

    def _line(self, raw: str, proc_type: str, st: dict) -> None:
        ts, _, rest = raw.partition(" ")
        details, _, message = rest.partition(" ")
        if "com.docker.swarm" not in details:
            details, message = "", rest
        attrs = dict(kv.split("=", 1) for kv in details.split(",") if "=" in kv)
        task_id = attrs.get("com.docker.swarm.task.id", "")
        with self._lock:
            slot = self._slots.get(task_id)
        if slot is None and task_id:
            with contextlib.suppress(Exception):
                for t in self.sched.api.tasks(filters={"id": task_id}):
                    slot = t.get("Slot")
                    with self._lock:
                        self._slots[task_id] = slot
        prefix = f"{proc_type}.{slot if slot is not None else '?'}"
        key = _ts_key(ts)
        if key < self.start_key or (key, prefix, message) in self._seen:
            return
        if st.get("last") and key <= _ts_key(st["last"]) and (key, prefix, message) in st.setdefault("recent", set()):
            return
        if st.get("last") != ts:
            st["recent"] = set()
        st["last"] = ts
        st.setdefault("recent", set()).add((key, prefix, message))
        with self._cond:
            if len(self._heap) >= self.max_pending:  # a reader that does not keep up loses the oldest lines
                heapq.heappop(self._heap)
            self._seq += 1
            heapq.heappush(self._heap, (key, self._seq, time.monotonic(), f"{prefix}: {message}"))
            self._cond.notify_all()


class SwarmRunSession(RunSession):
    def __init__(self, sched: SwarmScheduler, container_id: str, raw):
        self.sched, self.container_id = sched, container_id
        self._raw = raw
        self._sock = _raw_socket(raw)
        if self._sock is None:
            raise SchedulerError("the Docker Engine's attach stream is not a socket")
        self._sock.settimeout(None)
        self._closed = False
        self._lock = threading.Lock()

    def read(self, size: int = 65536) -> bytes:
        if self._closed:
            return b""
        try:
            return self._sock.recv(size)
        except OSError:
            return b""

    def write(self, data: bytes) -> None:
        if self._closed or not data:
            return
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise SchedulerError(f"the one-off container's terminal is gone ({type(exc).__name__})") from None

    def resize(self, cols: int, rows: int) -> None:
        cols, rows = max(1, min(int(cols), 1000)), max(1, min(int(rows), 1000))
        with self.sched._errors("resize the terminal"):  # noqa: SLF001
            with contextlib.suppress(docker.errors.NotFound):
                self.sched.api.resize(self.container_id, height=rows, width=cols)

    def wait(self, timeout: float = 30) -> int:
        with self.sched._errors("wait for the one-off container"):  # noqa: SLF001
            try:
                status = self.sched.api.wait(self.container_id, timeout=timeout)
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                raise SchedulerError("the one-off command did not end in time") from None
        return int(status.get("StatusCode", -1))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _shutdown(self._sock)
        self.sched._remove_container(self.container_id)  # noqa: SLF001
