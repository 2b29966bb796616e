"""The base's compare/diff helpers and the order read → compare → diff → check mode → write → re-read."""
from __future__ import annotations

import pytest

from ansible_collections.slipway.paas.plugins.module_utils.api import ControllerError
from ansible_collections.slipway.paas.plugins.module_utils.base import (
    MASK,
    MASK_CHANGED,
    ControllerModule,
    apply_delta,
    changed_keys,
    dict_delta,
    masked_diff,
    normalize_value,
)


class Exited(Exception):
    def __init__(self, kind, result):
        super().__init__(kind)
        self.kind, self.result = kind, result


class FakeModule:
    """What ControllerModule needs of AnsibleModule: params, check mode, diff, exit/fail."""

    def __init__(self, params=None, check_mode=False, diff=False):
        self.params = dict(url="http://unused", token="t", validate_certs=True, ca_path=None, timeout=5)
        self.params.update(params or {})
        self.check_mode = check_mode
        self._diff = diff
        self.no_log_values = set()

    def exit_json(self, **kwargs):
        raise Exited("exit", kwargs)

    def fail_json(self, **kwargs):
        raise Exited("fail", kwargs)


class Recorder(ControllerModule):
    """A resource whose state is a dict held in memory; records the calls the base makes."""

    def __init__(self, module, state, wanted, fail_on=None):
        super().__init__(module=module, client=object())
        self.state, self.wanted, self.calls, self.fail_on = state, wanted, [], fail_on

    def read(self):
        self.calls.append("read")
        if self.fail_on == "read":
            raise ControllerError("GET", "/v2/x/", 403, "You do not have permission.")
        return None if self.state is None else dict(self.state)

    def want(self, before):
        self.calls.append("want")
        return self.wanted

    def write(self, before, after):
        self.calls.append("write")
        self.state = after

    def returned(self, state):
        return {"thing": state or {}}


def run(mod):
    with pytest.raises(Exited) as exited:
        mod.run()
    return exited.value


# ---- pure helpers --------------------------------------------------------------------------------

def test_dict_delta_sets_changes_and_new_keys_only():
    assert dict_delta({"A": "1", "B": "2"}, {"A": "1", "B": "3", "C": "4"}) == {"B": "3", "C": "4"}


def test_dict_delta_unsets_only_existing_keys():
    assert dict_delta({"A": "1"}, {"A": None, "GONE": None}) == {"A": None}


def test_dict_delta_purge_unsets_unnamed_keys():
    assert dict_delta({"A": "1", "B": "2", "C": "3"}, {"A": "1", "D": "4"}, purge=True) == \
        {"B": None, "C": None, "D": "4"}


def test_dict_delta_nothing_to_do():
    assert dict_delta({"A": "1"}, {"A": "1"}) == {}
    assert dict_delta({}, {}, purge=True) == {}
    assert dict_delta(None, None) == {}


def test_apply_delta_does_not_modify_its_input():
    current = {"A": "1", "B": "2"}
    assert apply_delta(current, {"A": None, "C": "3"}) == {"B": "2", "C": "3"}
    assert current == {"A": "1", "B": "2"}


def test_masked_diff_shows_keys_and_marks_changes():
    before, after = masked_diff({"A": "1", "B": "2", "GONE": "x"}, {"A": "1", "B": "3", "NEW": "y"})
    assert before == {"A": MASK, "B": MASK, "GONE": MASK}
    assert after == {"A": MASK, "B": MASK_CHANGED, "NEW": MASK_CHANGED}
    assert "1" not in repr((before, after)) and "3" not in repr((before, after))


def test_changed_keys():
    assert changed_keys({"A": "1", "B": "2"}, {"B": "3", "C": "4"}) == \
        {"added": ["C"], "removed": ["A"], "changed": ["B"]}


@pytest.mark.parametrize("value,expected", [(True, "true"), (False, "false"), (4, "4"), (1.5, "1.5"),
                                            ("x", "x"), (None, None)])
def test_normalize_value(value, expected):
    assert normalize_value(value) == expected


# ---- the order -----------------------------------------------------------------------------------

def test_no_difference_means_no_write_and_not_changed():
    mod = Recorder(FakeModule(), {"a": 1}, {"a": 1})
    out = run(mod)
    assert out.kind == "exit"
    assert out.result["changed"] is False
    assert out.result["thing"] == {"a": 1}
    assert mod.calls == ["read", "want"]


def test_difference_writes_then_rereads():
    mod = Recorder(FakeModule(diff=True), {"a": 1}, {"a": 2})
    out = run(mod)
    assert out.result["changed"] is True
    assert mod.calls == ["read", "want", "write", "read"]
    assert out.result["thing"] == {"a": 2}
    assert out.result["diff"] == {"before": {"a": 1}, "after": {"a": 2}}


def test_check_mode_stops_before_the_write_and_returns_the_prediction():
    mod = Recorder(FakeModule(check_mode=True, diff=True), None, {"a": 2})
    out = run(mod)
    assert out.result["changed"] is True
    assert mod.calls == ["read", "want"]
    assert mod.state is None
    assert out.result["thing"] == {"a": 2}
    assert out.result["diff"] == {"before": {}, "after": {"a": 2}}


def test_no_diff_unless_asked():
    out = run(Recorder(FakeModule(), {"a": 1}, {"a": 2}))
    assert "diff" not in out.result


def test_removal():
    mod = Recorder(FakeModule(), {"a": 1}, None)
    out = run(mod)
    assert out.result["changed"] is True
    assert mod.state is None
    assert out.result["thing"] == {}


def test_controller_error_becomes_fail_json():
    out = run(Recorder(FakeModule(), {"a": 1}, {"a": 1}, fail_on="read"))
    assert out.kind == "fail"
    assert out.result == {"msg": "GET /v2/x/: HTTP 403: You do not have permission.", "method": "GET",
                          "path": "/v2/x/", "status": 403, "detail": "You do not have permission."}


def test_path_quotes_segments():
    mod = Recorder(FakeModule(), None, None)
    assert mod.path("/v2/keys/%s", "alice@laptop/../x") == "/v2/keys/alice%40laptop%2F..%2Fx"
