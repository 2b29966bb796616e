"""The `id:` of a log line's Server-Sent Event: the line's position (scheduler.base.LogPosition), written
`<time key>~<digest>,<digest>...`, the digests being those of the lines sent with exactly that time. A browser
sends the last one back in `Last-Event-ID`; `parse_id` reads it (nothing it cannot read, and no position older
than RESUME_SECONDS: a stream resumes at most that far back)."""
from __future__ import annotations

import datetime as dt
import re

from ..scheduler.base import LogPosition, line_digest

RESUME_SECONDS = 3600
MAX_DIGESTS = 64
ID = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9})~((?:[0-9a-f]{8}(?:,[0-9a-f]{8}){0,63})?)")


def _key(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000"


def now() -> LogPosition:
    """The position of this moment: the lines written from now on come after it."""
    return LogPosition(_key(dt.datetime.now(dt.timezone.utc)), frozenset())


def format_id(position: LogPosition) -> str:
    return f"{position.key}~{','.join(sorted(position.seen))}"


def parse_id(text: str | None) -> LogPosition | None:
    """The position a `Last-Event-ID` names; None when absent, malformed or in the future (follow from now)."""
    found = ID.fullmatch(text.strip()) if text else None
    if not found:
        return None
    now = dt.datetime.now(dt.timezone.utc)
    key = found.group(1)
    if key > _key(now):
        return None
    oldest = _key(now - dt.timedelta(seconds=RESUME_SECONDS))
    if key < oldest:
        return LogPosition(oldest, frozenset())
    return LogPosition(key, frozenset(found.group(2).split(",")) - {""})


def advance(position: LogPosition | None, key: str, line: str) -> LogPosition | None:
    """The position after sending `line` (time `key`). A line later than the position moves it; one of the same
    time joins its digests; one that came late (an earlier time) leaves it, as resuming there sends it not."""
    if not key:
        return position
    if position is None or key > position.key:
        return LogPosition(key, frozenset({line_digest(line)}))
    if key == position.key and len(position.seen) < MAX_DIGESTS:
        return LogPosition(key, position.seen | {line_digest(line)})
    return position
