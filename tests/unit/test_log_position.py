"""The text form of a log position (the dashboard's SSE `id:`, `Last-Event-ID` and the page's `?after=`): what
format_id writes, parse_id reads back; what a browser or a tenant may send instead is refused or bounded."""
from __future__ import annotations

import datetime as dt

from controller_app.dashboard import logid
from controller_app.scheduler.base import LogPosition


def key(seconds_ago: float) -> str:
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=seconds_ago)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000"


def test_a_position_reads_back_as_written_with_or_without_digests():
    for seen in (frozenset(), frozenset({"0a1b2c3d"}), frozenset({"0a1b2c3d", "ffffffff"})):
        position = LogPosition(key(5), seen)
        assert logid.parse_id(logid.format_id(position)) == position


def test_now_is_a_position_without_digests_that_reads_back():
    position = logid.now()
    assert position.seen == frozenset() and logid.parse_id(logid.format_id(position)) == position


def test_what_is_not_a_position_is_refused_and_an_old_one_is_bounded():
    for text in (None, "", "nonsense", key(5), key(5) + "~XYZ", key(5) + "~0a1b2c3d,", "<script>",
                 key(5) + "~" + ",".join(["0a1b2c3d"] * 65), key(-3600) + "~"):
        assert logid.parse_id(text) is None, text
    old = logid.parse_id(key(2 * logid.RESUME_SECONDS) + "~0a1b2c3d")
    assert old is not None and old.seen == frozenset() and old.key >= key(logid.RESUME_SECONDS + 60)
