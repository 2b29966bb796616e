"""Table and value formatting."""
from __future__ import annotations

import io

from slipway_cli.output import cell, kv_block, print_json, records_table, short_date, table


def test_table_aligns_columns():
    out = table([["web", 3, "up"], ["worker-long", 10, "crashed"]], ["TYPE", "N", "STATE"])
    assert out.splitlines() == [
        "TYPE         N   STATE",
        "web          3   up",
        "worker-long  10  crashed",
    ]


def test_table_header_only_and_no_trailing_spaces():
    assert table([], ["A", "B"]) == "A  B"
    out = table([["x", ""]], ["LONGHEADER", "B"])
    assert all(line == line.rstrip() for line in out.splitlines())


def test_cell_formats():
    assert cell(None) == ""
    assert cell(True) == "yes" and cell(False) == "no"
    assert cell(["a", "b"]) == "a, b"
    assert cell({"web": 1, "worker": 2}) == "web=1, worker=2"
    assert cell("a\nb\tc") == "a\\nb\\tc"
    assert cell(3) == "3"


def test_records_table_with_dotted_keys():
    recs = [{"id": "a", "cfg": {"x": 1}}, {"id": "bb", "cfg": None}]
    assert records_table(recs, [("ID", "id"), ("X", "cfg.x")]).splitlines() == ["ID  X", "a   1", "bb"]


def test_kv_block():
    out = kv_block([("ID", "app"), ("Owner", "alice"), ("Empty", None)], title="app Application")
    assert out.splitlines() == ["=== app Application", "ID:    app", "Owner: alice", "Empty:"]


def test_short_date():
    assert short_date("2026-11-26T00:33:53.123456+00:00") == "2026-11-26 00:33:53"
    assert short_date("2026-11-26T00:33:53Z") == "2026-11-26 00:33:53"
    assert short_date(None) == ""


def test_print_json_keeps_unicode_and_order():
    buf = io.StringIO()
    print_json({"b": "é", "a": [1]}, buf)
    assert buf.getvalue().startswith('{\n  "b": "é"')
