"""The Swarm backend's nodes: listing them, their availability (drain/active) and labels, the apps on one."""
from __future__ import annotations

from .. import placement as placing
from ..base import Node
from .engine import SwarmEngine


class SwarmNodes(SwarmEngine):
    def nodes(self) -> list[Node]:
        found = [placing.node(n, self.node_address_of(n)) for n in self.raw_nodes().values()]
        return sorted(found, key=lambda n: (n.hostname, n.id))

    def _change_node(self, node_id: str, what: str, change) -> Node:
        """Apply change(spec) to the node's spec (retried when Swarm says its version moved on); the node after."""
        def apply():
            current = self.api.inspect_node(node_id)
            self.api.update_node(node_id, current["Version"]["Index"], change(current["Spec"]))
            raw = self.api.inspect_node(node_id)
            return placing.node(raw, self.node_address_of(raw))

        return self.versioned(what, "no such node", apply)

    def set_availability(self, node_id: str, availability: str) -> Node:
        return self._change_node(node_id, f"set node {node_id} {availability}",
                                 lambda spec: placing.with_availability(spec, availability))

    def set_labels(self, node_id: str, changes: dict[str, str | None]) -> Node:
        return self._change_node(node_id, f"label node {node_id}", lambda spec: placing.with_labels(spec, changes))

    def apps_on_node(self, node_id: str) -> set[str]:
        with self.errors(f"list tasks of node {node_id}"):
            found = self.api.tasks(filters={"node": node_id, "desired-state": "running"})
        return {app for app in map(placing.task_app, found) if app}
