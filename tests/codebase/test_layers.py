"""The controller's layers hold: API routers and dashboard pages call services, services call the scheduler, no
service (nor the scheduler) imports the API or the dashboard, and the scheduler's modules import each other
without a cycle. Read from the source (every `import` of controller_app), so a new module is checked as soon as
it exists."""
from __future__ import annotations

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = os.path.join(ROOT, "controller_app")


def modules() -> dict[str, set[str]]:
    """controller_app's modules (dotted) -> the controller_app modules each imports."""
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".").removesuffix(".__init__")
            package = dotted if name == "__init__.py" else dotted.rpartition(".")[0]
            imports = set()
            for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
                if isinstance(node, ast.ImportFrom):
                    base = package
                    for _ in range(node.level - 1):
                        base = base.rpartition(".")[0]
                    target = f"{base}.{node.module}" if node.level and node.module else (node.module or base)
                    imports.add(target)
                    imports.update(f"{target}.{a.name}" for a in node.names)
                elif isinstance(node, ast.Import):
                    imports.update(a.name for a in node.names)
            found[dotted] = {i for i in imports if i.startswith("controller_app")}
    return found


def test_no_service_and_no_scheduler_module_imports_the_api():
    offenders = {m: sorted(i for i in imports if i.startswith(("controller_app.api", "controller_app.dashboard")))
                 for m, imports in modules().items()
                 if m.startswith(("controller_app.services", "controller_app.scheduler"))}
    assert {m: i for m, i in offenders.items() if i} == {}


def test_routers_reach_the_scheduler_through_services_only():
    offenders = {m: sorted(i for i in imports if i.startswith("controller_app.services.scheduling")
                           or i.endswith("get_scheduler"))
                 for m, imports in modules().items() if m.startswith(("controller_app.api", "controller_app.dashboard"))}
    assert {m: i for m, i in offenders.items() if i} == {}


def test_the_scheduler_imports_no_module_that_imports_it_back():
    found = modules()
    graph = {m: {i for i in imports if i in found} for m, imports in found.items()
             if m.startswith("controller_app.scheduler")}

    def reaches(start, goal, seen=()):
        return any(n == goal or (n not in seen and reaches(n, goal, (*seen, n))) for n in graph.get(start, ()))

    cycles = sorted(m for m in graph if reaches(m, m))
    assert cycles == []


def test_the_swarm_parts_share_one_base_class():
    from controller_app.scheduler.swarm import SwarmScheduler
    from controller_app.scheduler.swarm.engine import SwarmEngine

    parts = [c for c in SwarmScheduler.__mro__[1:] if c.__module__.startswith("controller_app.scheduler.swarm")]
    assert parts[-1] is SwarmEngine and all(issubclass(c, SwarmEngine) for c in parts)
