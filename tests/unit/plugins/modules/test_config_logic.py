"""The config module's delta and diff logic, on an in-memory controller stand-in."""
from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.slipway.paas.plugins.module_utils.base import MASK, MASK_CHANGED
from ansible_collections.slipway.paas.plugins.modules.config import ConfigModule, normalize_healthcheck
from controller_app import probes

from ..module_utils.test_module_base import Exited, FakeModule, run


class MemoryController:
    """Answers the config module's calls the way the controller's config endpoint does."""

    def __init__(self, config, structure=None):
        self.config = config
        self.structure = structure or {"web": 1}
        self.posts = []
        self.version = 3

    def must_get(self, path):
        return copy.deepcopy(self.config if path.endswith("/config/") else {"structure": self.structure})

    def get(self, path, query=None):
        return {"results": [{"version": self.version}]}

    def post(self, path, body):
        self.posts.append(body)
        for section, delta in body.items():
            for key, value in delta.items():
                if value is None:
                    del self.config[section][key]
                elif section == "healthcheck":  # stored as the controller stores it
                    self.config[section][key] = probes.check(key, value)
                else:  # the controller never shows a registry password back
                    self.config[section][key] = "********" if (section, key) == ("registry", "password") else value
        self.version += 1
        return self.config


def config_module(controller, check_mode=False, diff=True, **params):
    base = dict(app="shop", state="present", values=None, memory=None, cpu=None, tags=None, healthcheck=None,
                registry=None, update_registry_password="on_create", purge=False, show_values=False)
    base.update(params)
    return ConfigModule(module=FakeModule(base, check_mode=check_mode, diff=diff), client=controller)


def fresh():
    return MemoryController({"values": {"A": "1", "B": "2"}, "memory": {"web": "256M"}, "cpu": {}, "tags": {},
                             "healthcheck": {"web": probes.check("web", {"path": "/health"})}})


def test_sets_only_what_differs_and_masks_the_diff():
    ctl = fresh()
    out = run(config_module(ctl, values={"A": 1, "B": "3", "C": True}))
    assert ctl.posts == [{"values": {"B": "3", "C": "true"}}]
    assert out.result["changed"] is True
    assert out.result["diff"]["before"]["values"] == {"A": MASK, "B": MASK}
    assert out.result["diff"]["after"]["values"] == {"A": MASK, "B": MASK_CHANGED, "C": MASK_CHANGED}
    assert out.result["changed_keys"] == {"values": {"added": ["C"], "removed": [], "changed": ["B"]}}
    assert out.result["config"]["values"] == {"A": MASK, "B": MASK, "C": MASK}
    assert out.result["release"] == {"version": 4}


def test_show_values():
    out = run(config_module(fresh(), values={"B": "3"}, show_values=True))
    assert out.result["diff"]["before"]["values"] == {"A": "1", "B": "2"}
    assert out.result["diff"]["after"]["values"] == {"A": "1", "B": "3"}


def test_same_values_are_not_a_change():
    ctl = fresh()
    same_check = {"web": {"path": "/health", "timeout": 1, "interval": 10}}  # the former shape, as converted
    out = run(config_module(ctl, values={"A": 1}, memory={"web": "256m"}, healthcheck=same_check))
    assert out.result["changed"] is False
    assert ctl.posts == []


def test_null_and_absent_unset():
    ctl = fresh()
    run(config_module(ctl, values={"A": None, "MISSING": None}))
    assert ctl.posts == [{"values": {"A": None}}]
    ctl = fresh()
    run(config_module(ctl, state="absent", values={"B": "ignored", "MISSING": "x"}))
    assert ctl.posts == [{"values": {"B": None}}]


def test_purge_is_per_given_mapping():
    ctl = fresh()
    run(config_module(ctl, values={"C": "3"}, purge=True))
    assert ctl.posts == [{"values": {"A": None, "B": None, "C": "3"}}]
    assert ctl.config["memory"] == {"web": "256M"}


def test_check_mode_posts_nothing_and_predicts():
    ctl = fresh()
    out = run(config_module(ctl, check_mode=True, values={"A": None}, tags={"tier": "fast"}))
    assert ctl.posts == []
    assert out.result["changed"] is True
    assert out.result["config"]["tags"] == {"tier": "fast"}
    assert "A" not in out.result["config"]["values"]
    assert out.result["release"] == {"version": 4}


def test_healthcheck_is_sent_as_given():
    ctl = fresh()
    run(config_module(ctl, healthcheck={"worker": {"path": "/ping", "port": None}}))
    assert ctl.posts == [{"healthcheck": {"worker": {"path": "/ping"}}}]


READY = {"readinessProbe": {"httpGet": {"path": "/health", "port": None}, "timeoutSeconds": None}}


def test_the_new_shape_compares_with_the_defaults_and_sends_the_types_value():
    ctl = fresh()
    out = run(config_module(ctl, healthcheck={"web": READY}))  # the same probe as the former /health
    assert out.result["changed"] is False and ctl.posts == []
    live = {"livenessProbe": {"exec": {"command": ["true"]}, "failureThreshold": 5}}
    out = run(config_module(ctl, check_mode=True, healthcheck={"web": {**READY, **live}}))
    assert out.result["changed"] is True and ctl.posts == []
    predicted = out.result["config"]["healthcheck"]["web"]
    assert predicted["livenessProbe"] == {**probes.DEFAULTS, "failureThreshold": 5, "exec": {"command": ["true"]}}
    assert out.result["diff"]["before"]["healthcheck"]["web"] == ctl.config["healthcheck"]["web"]
    assert out.result["diff"]["after"]["healthcheck"]["web"] == predicted
    out = run(config_module(ctl, healthcheck={"web": {**READY, **live}}))
    assert ctl.posts == [{"healthcheck": {"web": {**READY, **live}}}]
    assert ctl.config["healthcheck"]["web"] == predicted == out.result["config"]["healthcheck"]["web"]
    assert run(config_module(ctl, healthcheck={"web": {**READY, **live}})).result["changed"] is False


def test_web_cmd_is_the_apps_routable_type():
    ctl = MemoryController({"values": {}, "memory": {}, "cpu": {}, "tags": {}, "healthcheck": {}},
                           structure={"cmd": 1})
    run(config_module(ctl, healthcheck={"web/cmd": READY}))
    assert ctl.posts == [{"healthcheck": {"cmd": READY}}] and set(ctl.config["healthcheck"]) == {"cmd"}
    assert run(config_module(ctl, healthcheck={"web/cmd": READY})).result["changed"] is False
    run(config_module(ctl, state="absent", healthcheck={"web/cmd": None}))
    assert ctl.posts[-1] == {"healthcheck": {"cmd": None}} and ctl.config["healthcheck"] == {}


@pytest.mark.parametrize("check", [
    {},
    {"path": "/x"},
    {"path": "/x", "timeout": 2.5, "interval": 0, "initial_delay": 7, "healthy_threshold": 2},
    {"timeout": 600, "interval": 600},
    READY,
    {"livenessProbe": {"tcpSocket": {"port": 81}}, "readinessProbe": {"exec": {"command": ["a", "b"]}}},
    {"readinessProbe": {"httpGet": {"httpHeaders": [{"name": "X", "value": "y"}]}, "periodSeconds": 3}},
])
def test_the_modules_comparison_form_is_what_the_controller_stores(check):
    assert normalize_healthcheck(check) == probes.check("web", check)


def test_invalid_key_fails_before_any_call():
    with pytest.raises(Exited) as exited:
        config_module(fresh(), values={"1BAD": "x"})
    assert exited.value.kind == "fail"
    assert "1BAD" in exited.value.result["msg"]


def with_registry(**registry):
    ctl = fresh()
    ctl.config["registry"] = registry
    return ctl


def test_registry_credentials_are_compared_by_username_and_host():
    ctl = with_registry(username="team", password="********")
    out = run(config_module(ctl, registry={"username": "team", "password": "s3cret", "hostname": None}))
    assert ctl.posts == [] and out.result["changed"] is False
    out = run(config_module(ctl, registry={"username": "other", "password": "s3cret", "hostname": None}))
    assert ctl.posts == [{"registry": {"username": "other", "password": "s3cret"}}]
    assert out.result["config"]["registry"] == {"username": "other", "password": "********"}
    assert "s3cret" not in json.dumps(out.result)


def test_registry_password_always_sent_when_asked_and_removed_with_absent():
    ctl = with_registry(username="team", password="********", hostname="r.example.com:5000")
    params = {"username": "team", "password": "new", "hostname": "R.example.com:5000"}
    assert run(config_module(ctl, registry=params)).result["changed"] is False
    out = run(config_module(ctl, registry=params, update_registry_password="always"))
    assert out.result["changed"] is True and ctl.posts[-1] == {"registry": params}
    out = run(config_module(ctl, state="absent", registry=params))
    assert ctl.posts[-1] == {"registry": {"username": None, "password": None, "hostname": None}}
    assert out.result["config"]["registry"] == {}
