"""Following logs survives a lost connection without a gap: every event of the dashboard's log stream has an
`id:`, and a reconnect sending the last one in `Last-Event-ID` (as EventSource does) gets the lines written
meanwhile, each once. Plain HTTP (httpx) against a live controller and an app ticking on the real Swarm."""
from __future__ import annotations

import html
import re
import secrets
import time

import httpx
import pytest

from tests.controller.conftest import register
from tests.controller.deployhelp import build
from tests.dashboard.conftest import PASSWORD, signed_in

pytestmark = pytest.mark.timeout(600)
TICKER = ('(i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done) & '
          'cd /www && exec httpd -f -p $PORT -h /www')
TICK = re.compile(r"^web\.\d+: tick (\d+)$")


@pytest.fixture(scope="module")
def ticking(ctl, admin):
    owner = register(ctl, f"logs-owner-{secrets.token_hex(3)}", PASSWORD)
    app = f"ticker-{secrets.token_hex(3)}"
    assert owner.post("/v2/apps/", {"id": app}).status_code == 201
    r = build(owner, app, procfile={"web": TICKER}, sha="c" * 40)
    assert r.status_code == 201, r.text
    yield owner, app
    owner.delete(f"/v2/apps/{app}/")


def read_events(client: httpx.Client, url: str, count: int, last_id: str | None = None) -> list[tuple[str, str]]:
    """(id, data) of the first `count` events with data on a new connection, then the connection is dropped."""
    headers = {"Last-Event-ID": last_id} if last_id else {}
    events, event_id, deadline = [], None, time.monotonic() + 60
    with client.stream("GET", url, headers=headers) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                assert event_id, "every line has its id"
                events.append((event_id, line[6:]))
                event_id = None
                if len(events) >= count:
                    break
            assert time.monotonic() < deadline, events
    return events


def ticks(events: list[tuple[str, str]]) -> list[int]:
    found = [TICK.match(data) for _, data in events]
    assert all(found), events
    return [int(m.group(1)) for m in found]


def test_a_reconnect_with_last_event_id_gets_the_missed_lines_once(ctl, ticking):
    owner, app = ticking
    web = signed_in(ctl, owner)
    url = f"{web.root}/apps/{app}/logs/stream"
    with httpx.Client(cookies=dict(web.session.cookies), timeout=60) as client:
        first = read_events(client, url, 5)
        time.sleep(3)  # some fifteen ticks while nobody listens
        resumed = read_events(client, url, 25, last_id=first[-1][0])
        time.sleep(2)
        fresh = read_events(client, url, 3)  # no Last-Event-ID: from now on, what was written meanwhile lost
    before, after = ticks(first), ticks(resumed)
    assert before == list(range(before[0], before[0] + 5))
    # the lines written while disconnected come first, each once, then the stream goes on
    assert after == list(range(before[-1] + 1, before[-1] + 26)), (before, after)
    assert ticks(fresh)[0] > after[-1] + 5
    ids = [i for i, _ in first + resumed]
    assert len(set(ids)) == len(ids)


def test_a_malformed_or_future_last_event_id_follows_from_now(ctl, ticking):
    owner, app = ticking
    web = signed_in(ctl, owner)
    url = f"{web.root}/apps/{app}/logs/stream"
    with httpx.Client(cookies=dict(web.session.cookies), timeout=60) as client:
        base = ticks(read_events(client, url, 1))[0]
        for bad in ("nonsense", "2999-01-01T00:00:00.000000000~00000000", "<script>"):
            got = ticks(read_events(client, url, 2, last_id=bad))
            assert got[0] >= base and got[1] == got[0] + 1, bad


def test_the_page_and_its_stream_leave_no_gap(ctl, ticking):
    """The page shows the last lines; the stream it names starts right after the page's last line, however long
    the browser takes to open it."""
    owner, app = ticking
    web = signed_in(ctl, owner)
    page = web.session.get(f"{web.root}/apps/{app}/logs")
    assert page.status_code == 200
    stream = html.unescape(re.search(r'data-stream="([^"]+)"', page.text).group(1))
    log = html.unescape(re.search(r'<pre class="log"[^>]*>(.*?)</pre>', page.text, re.S).group(1))
    shown = ticks([("", line) for line in log.splitlines()])
    assert shown, page.text[-2000:]
    time.sleep(3)  # some fifteen ticks before the browser opens the stream
    with httpx.Client(cookies=dict(web.session.cookies), timeout=60) as client:
        got = ticks(read_events(client, ctl.url + stream, 20))
    assert got == list(range(shown[-1] + 1, shown[-1] + 21)), (shown[-3:], got)
