"""The platform's one rule for where callers reach the controller (plugins/filter/controller_url.py): loopback over
plain HTTP when every caller (router, builder, registry, the nodes' agents) runs on the controller host, else HTTPS
at the controller's inventory name."""
from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.slipway.paas.plugins.filter.controller_url import controller_url

ALL_IN_ONE = {g: ["slipway-aio"] for g in ("store", "database", "registry", "controller", "builder", "router", "nodes")}
EXAMPLE = {"store": ["data"], "database": ["data"], "controller": ["control"], "registry": ["control"],
           "builder": ["control"], "router": ["control"], "nodes": ["node1", "node2", "node3"]}
BESIDE = dict(EXAMPLE, nodes=["control"])  # every caller on the controller host; the data host never calls it


def test_every_caller_on_the_controller_host_is_loopback_over_plain_http():
    assert controller_url(ALL_IN_ONE) == "http://127.0.0.1:8000"
    assert controller_url(BESIDE) == "http://127.0.0.1:8000"


def test_nodes_of_their_own_call_it_with_their_agents_reports():
    assert controller_url(EXAMPLE) == "https://control:8000"


@pytest.mark.parametrize("group", ["router", "builder", "registry", "nodes", "monitor"])
def test_a_caller_on_another_host_is_https_at_the_controllers_name(group):
    split = dict(BESIDE, **{group: ["edge1"]})
    assert controller_url(split) == "https://control:8000"
    assert controller_url(dict(BESIDE, **{group: ["control", "edge1"]}), 8100) == "https://control:8100"


def test_the_port_may_come_as_text():
    assert controller_url(ALL_IN_ONE, "8100") == "http://127.0.0.1:8100"


def test_a_given_controller_host_is_judged_on_its_own():
    """A second controller host serves no caller of its own host: HTTPS, as callers elsewhere would reach it."""
    two = dict(BESIDE, controller=["control", "control2"])
    assert controller_url(two) == "http://127.0.0.1:8000"
    assert controller_url(two, 8000, "control") == "http://127.0.0.1:8000"
    assert controller_url(two, 8000, "control2") == "https://control2:8000"


def test_no_groups_of_callers_is_loopback():
    assert controller_url({"controller": ["c"]}) == "http://127.0.0.1:8000"


def test_an_ipv6_host_name_is_bracketed():
    assert controller_url(dict(EXAMPLE, controller=["2001:db8::1"])) == "https://[2001:db8::1]:8000"


def test_no_controller_host_is_an_error():
    with pytest.raises(AnsibleFilterError, match="controller group"):
        controller_url({"router": ["r"]})
    with pytest.raises(AnsibleFilterError, match="port"):
        controller_url(ALL_IN_ONE, "http")
