"""The Swarm backend's nodes: listing them, their addresses, availability (drain/active), the apps on one,
and a node's own Docker API for per-task operations on nodes other than the manager (see placement.py)."""
from __future__ import annotations

import docker

from . import placement as placing
from .base import Node, SchedulerError

NODE_DOCKER_PORT = 2376  # a node's own Docker API (TLS), for per-task operations on other nodes


class SwarmNodesMixin:
    """Mixed into SwarmScheduler (its api, tls, node_address, api_timeout, _errors and _versioned)."""

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

    def _node_engine(self, node_id: str | None, task: str) -> docker.APIClient:
        node = self._nodes().get(node_id or "")
        address = (node or {}).get("Status", {}).get("Addr")
        if not node or not address or not self.tls:
            raise SchedulerError(f"task {task} runs on another node whose Docker API is not reachable "
                                 f"(needs TLS access on port {NODE_DOCKER_PORT})")
        return docker.APIClient(base_url=f"tcp://{address}:{NODE_DOCKER_PORT}", version="auto", tls=self.tls,
                                timeout=self.api_timeout)
