"""One app id rule in every package: the controller's (controller_app/appid.py), held once by the CLI, the collection
and the host agents, which never import the controller (one client per language boundary).

The test reads each package's pattern from its source and compares them, checks that the rule is what the API
enforces, and that no package writes an app id pattern a second time."""
from __future__ import annotations

import ast
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# package folder -> the file that holds its one pattern
HOLDERS = {
    "controller_app": "controller_app/appid.py",
    "cli": "cli/slipway_cli/gitremote.py",
    "plugins": "plugins/module_utils/base.py",
    "agents": "agents/slipway_agents/common.py",
}
# how an app id pattern starts, however it is written
WRITTEN = re.compile(r"\[a-z\]\(\??:?\[a-z0-9-\]")


def pattern_of(path: str) -> str:
    """The string of the module-level APP_ID (or APP_ID_PATTERN, which APP_ID compiles) in a source file."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = node.value
            if isinstance(value, ast.Call) and value.args:
                value = value.args[0]
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found[node.targets[0].id] = value.value
    return found.get("APP_ID") or found["APP_ID_PATTERN"]


def patterns() -> dict[str, re.Pattern]:
    return {package: re.compile(pattern_of(path)) for package, path in HOLDERS.items()}


def test_every_package_holds_the_controllers_pattern():
    found = patterns()
    assert {p.pattern for p in found.values()} == {found["controller_app"].pattern}, {
        k: v.pattern for k, v in found.items()}


@pytest.mark.parametrize("package", sorted(HOLDERS))
@pytest.mark.parametrize("app_id, valid", [
    ("a", True), ("shop", True), ("my-shop-2", True), ("a" * 63, True), ("a" + "-b" * 31, True),
    ("a" * 64, False), ("", False), ("2shop", False), ("-shop", False), ("shop-", False), ("Shop", False),
    ("my_shop", False), ("my.shop", False), ("shop/x", False),
])
def test_the_rule(package, app_id, valid):
    assert bool(patterns()[package].match(app_id)) is valid


def test_the_api_enforces_the_same_rule():
    from controller_app.schemas.apps import AppCreate
    from controller_app.services.names import app_id_problem
    from pydantic import ValidationError

    rule = patterns()["controller_app"]
    for app_id in ("shop", "a" * 63, "a" * 64, "2shop", "shop-", "my_shop"):
        try:
            AppCreate(id=app_id)
            accepted = True
        except ValidationError:
            accepted = False
        assert accepted is bool(rule.match(app_id)), app_id
        assert (app_id_problem(app_id) is None) is bool(rule.match(app_id)), app_id


def test_no_package_writes_the_pattern_twice():
    holders = set(HOLDERS.values())
    twice = []
    for package in HOLDERS:
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                path = os.path.relpath(os.path.join(folder, name), ROOT)
                if name.endswith(".py") and path not in holders:
                    with open(os.path.join(ROOT, path), encoding="utf-8") as fh:
                        if WRITTEN.search(fh.read()):
                            twice.append(path)
    assert twice == [], f"app id patterns outside {sorted(holders)}: {twice}"
