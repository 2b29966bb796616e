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
import time

import docker.errors
import requests.exceptions
from docker.types import (ContainerSpec, EndpointSpec, Resources, RestartPolicy, ServiceMode, TaskTemplate,
                          UpdateConfig)

from .. import images
from .. import placement as placing
from ..base import Endpoint, ProcessSpec, Scheduler, SchedulerError, Task
from ..names import check_app, check_deployment, check_type, parse_cpu, parse_memory, service_name
from .engine import log
from .labels import (L_APP, L_DEPLOYMENT, L_HEALTHCHECK, L_MANAGED, L_ONEOFF, L_RELEASE, L_SWARM_SERVICE, L_TYPE,
                     healthcheck_label)
from .events import SwarmEvents
from .logs import SwarmLogs
from .nodes import SwarmNodes
from .runs import PIDS_LIMIT, SwarmRuns

SECOND = 10 ** 9  # Swarm durations are in nanoseconds
STOP_GRACE = 10 * SECOND
RESTART_DELAY = 2 * SECOND
# states after which a task never runs again
TERMINAL_STATES = {"complete", "failed", "shutdown", "rejected", "orphaned", "remove"}
INACTIVE_DESIRED = {"shutdown", "remove", "orphaned", "complete"}


def literal(value: str) -> str:
    """A config value as Swarm passes it on verbatim: Swarm expands Go templates in a service's environment
    ({{.Node.Hostname}}, ...), so a value's "{{" is written as the template that prints "{{"."""
    return value.replace("{{", '{{"{{"}}')


class SwarmScheduler(SwarmNodes, SwarmEvents, SwarmLogs, SwarmRuns, Scheduler):
    """The Scheduler on a Swarm manager: services and tasks here; nodes, their events, logs and one-off
    containers in the parts it is made of (nodes.py, events.py, logs.py, runs.py), all built on SwarmEngine
    (engine.py)."""

    remove_wait = 30  # seconds to wait for removed services' containers to go

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

        self.versioned(what, "the service no longer exists", apply)

    # ---- the interface --------------------------------------------------------------------------
    def ping(self) -> None:
        with self.errors("ping Docker"):
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
        if self.services(spec.app, spec.deployment, spec.proc_type):
            return  # idempotent: this deployment's process type already has its service
        labels = {L_APP: spec.app, L_RELEASE: str(spec.release), L_DEPLOYMENT: str(spec.deployment),
                  L_TYPE: spec.proc_type, L_MANAGED: "1"}
        check = healthcheck_label(spec.healthcheck, spec.port)
        container = ContainerSpec(
            image=self._pinned(spec.image),
            command=["/bin/sh", "-c"] if spec.command else None,
            args=[spec.command] if spec.command else None,
            env=[f"{k}={literal(v)}" for k, v in spec.env.items()],
            labels={**labels, L_HEALTHCHECK: check} if check else labels,
            stop_grace_period=STOP_GRACE,
            init=True,  # signals reach `sh -c` children; zombies reaped
            cap_drop=["ALL"],
        )
        resources = Resources(mem_limit=memory, cpu_limit=cpu)
        resources["Limits"]["Pids"] = PIDS_LIMIT  # (Docker 20.10's API; the SDK has no argument for it)
        template = TaskTemplate(
            container,
            resources=resources,
            restart_policy=RestartPolicy(condition="any", delay=RESTART_DELAY),
            placement=placing.placement(spec.constraints),
        )
        ports = [{"Protocol": "tcp", "TargetPort": spec.port, "PublishMode": "host"}] if spec.routable else []
        endpoint = EndpointSpec(mode="dnsrr")
        if ports:
            endpoint["Ports"] = ports  # no PublishedPort: a dynamic host port per task
        secrets = list(spec.env.values())
        api = self.with_registry(spec.image, spec.registry)
        try:
            with self.errors(f"create service {name}", secrets):
                self._create_service(api, spec, name, template, labels, endpoint)
        finally:
            if api is not self.api:
                api.close()

    def _create_service(self, api, spec: ProcessSpec, name: str, template, labels: dict, endpoint) -> None:
        try:
            api.create_service(
                template, name=name, labels=labels,
                mode=ServiceMode("replicated", replicas=spec.replicas),
                update_config=UpdateConfig(parallelism=1, order="start-first", failure_action="continue"),
                endpoint_spec=endpoint)
        except docker.errors.APIError as exc:
            if exc.status_code == 409:  # created meanwhile (a concurrent call), or a foreign service
                if self.services(spec.app, spec.deployment, spec.proc_type):
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
        services = self.services(app, deployment, proc_type)
        if not services:
            raise SchedulerError(f"app {app} has no {proc_type} service in deployment {deployment}")

        def change(spec):
            spec["Mode"] = {"Replicated": {"Replicas": replicas}}

        for service in services:
            self._update(service, f"scale service {service['Spec']['Name']}", change)

    def tasks(self, app: str, deployment: int | None = None) -> list[Task]:
        services = self.services(app, deployment)
        if not services:
            return []
        raw = self.service_tasks(services)
        nodes = self.raw_nodes()
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
                    address = self.node_address_of(node)
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
            failed_tries=sum(1 for h in history if h.get("Status", {}).get("State") in ("failed", "rejected")),
        )

    @staticmethod
    def _target_port(service: dict) -> int | None:
        ports = (service["Spec"].get("EndpointSpec") or {}).get("Ports") or []
        return ports[0].get("TargetPort") if ports else None

    def deployments(self, app: str) -> list[int]:
        found = set()
        for service in self.services(app):
            with contextlib.suppress(ValueError, TypeError):
                found.add(int(service["Spec"]["Labels"][L_DEPLOYMENT]))
        return sorted(found)

    def all_deployments(self) -> set[tuple[str, int]]:
        with self.errors("list the platform's services"):
            services = self.api.services(filters={"label": [f"{L_MANAGED}=1"]})
        found = set()
        for service in services:
            labels = service["Spec"].get("Labels") or {}
            with contextlib.suppress(KeyError, ValueError, TypeError):
                found.add((labels[L_APP], int(labels[L_DEPLOYMENT])))
        return found

    def remove(self, app: str, deployment: int | None = None) -> None:
        """Remove services (by labels) and wait, boundedly, until their containers are gone.

        Removing a whole app also removes its one-off containers still running on the manager's engine.
        """
        if deployment is None:
            check_app(app)
            with self.errors(f"remove one-off containers of app {app}"):
                for c in self.api.containers(all=True, filters={"label": [f"{L_APP}={app}", f"{L_ONEOFF}=1"]}):
                    with contextlib.suppress(docker.errors.NotFound):
                        self.api.remove_container(c["Id"], force=True)
        services = self.services(app, deployment)
        if not services:
            return
        ids = {s["ID"] for s in services}
        labels = [f"{L_MANAGED}=1", f"{L_APP}={app}"]
        for service in services:
            with self.errors(f"remove service {service['Spec']['Name']}"):
                with contextlib.suppress(docker.errors.NotFound):
                    self.api.remove_service(service["ID"])
        deadline = time.monotonic() + self.remove_wait
        while time.monotonic() < deadline:
            with self.errors("wait for removed services' containers"):
                # tasks (any node) and containers (this node) carry the service's container labels
                left = [t for t in self.api.tasks(filters={"label": labels}) if t.get("ServiceID") in ids]
                local = self.api.containers(all=True, filters={"label": labels})
                local = [c for c in local if (c.get("Labels") or {}).get(L_SWARM_SERVICE) in ids]
            if not left and not local:
                return
            time.sleep(0.25)
        log.warning("containers of removed services of app %s still present after %ss", app, self.remove_wait)

    def restart(self, app: str, deployment: int, proc_type: str | None = None, task: str | None = None) -> None:
        services = self.services(app, deployment, proc_type)
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
        name, _unused, slot_text = task.rpartition(".")
        service = next((s for s in services if s["Spec"]["Name"] == name), None)
        if service is None or not slot_text.isdigit():
            raise SchedulerError(f"app {app} has no task {task}")
        slot = int(slot_text)
        current = [t for t in self.service_tasks([service])
                   if t.get("Slot") == slot and t.get("DesiredState") not in INACTIVE_DESIRED]
        container_id = next((t["Status"].get("ContainerStatus", {}).get("ContainerID") for t in current
                             if t["Status"].get("ContainerStatus", {}).get("ContainerID")), None)
        if not current:
            raise SchedulerError(f"app {app} has no task {task}")
        if not container_id:
            raise SchedulerError(f"task {task} has no container yet")
        node_id = current[0].get("NodeID")
        with self.errors(f"restart task {task}"):
            local_node = self.api.info().get("Swarm", {}).get("NodeID")
            if node_id == local_node:
                engine = self.api
            else:
                engine = self.node_engine(node_id, task)
            try:  # a graceful stop (SIGTERM, then SIGKILL after the grace period), then away with it
                engine.stop(container_id, timeout=STOP_GRACE // SECOND)
                engine.remove_container(container_id, force=True)
            except docker.errors.NotFound:
                pass  # already gone: Swarm replaces it anyway
