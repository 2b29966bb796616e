"""The autoscaler's rule, apart from where its figures come from (services/autoscale.py runs it).

An app's `autoscale` setting names, per process type, `min`, `max` and `cpu_percent`, as Deis Workflow's
`autoscale:set` did on Kubernetes' Horizontal Pod Autoscaler, and it means what it meant there:

- a task's utilisation is its CPU use as a percentage of its CPU limit (the `cpu` config of its type), or of
  one core when the type has no limit;
- the type's utilisation is the mean over its tasks that have a figure (a task just started has none yet);
- the count it wants is `ceil(count * utilisation / cpu_percent)`, within `min` and `max` and never below one,
  and the same count while the utilisation is within 10 % of the target (so it does not flap around it).

When it acts:
- **up** once the wanted count has stayed above the current one for `up_window` seconds (a burst shorter than
  that moves nothing), to the count wanted at that moment;
- **down** once every count wanted over the last `down_window` seconds is below the current one, to the highest
  of them (Kubernetes' scale-down stabilisation: the window's peak, so a dip between two bursts does not
  remove tasks the next burst needs);
- **at once** when the current count is outside `min` and `max` (the setting was just changed).
After a change the type starts afresh: its new tasks have no figures until their node agents measured them.
"""
from __future__ import annotations

import dataclasses
import math

TOLERANCE = 0.1


def utilisation(rates: list[tuple[float, float]]) -> float | None:
    """Mean CPU use in percent of each task's limit (or of one core), from (cores used, cores limit) pairs
    (a limit of 0 is no limit); None without any figure."""
    shares = [used / (limit if limit > 0 else 1.0) * 100 for used, limit in rates]
    return sum(shares) / len(shares) if shares else None


def wanted(count: int, percent: float, target: int, low: int, high: int) -> int:
    """The count the type's utilisation asks for, within [low, high] and at least one."""
    if count > 0 and abs(percent / target - 1) <= TOLERANCE:
        want = count
    else:
        want = math.ceil(max(count, 1) * percent / target)
    return max(1, low, min(high, want))


@dataclasses.dataclass
class Track:
    """What the rule remembers of one process type between passes."""

    count: int = -1  # the count the history below was gathered at
    above_since: float | None = None
    below_since: float | None = None
    recent: list[tuple[float, int]] = dataclasses.field(default_factory=list)  # (when, wanted) over down_window


def decide(track: Track, now: float, count: int, spec: dict, percent: float | None, up_window: float,
           down_window: float) -> int | None:
    """The count to scale to now, or None. `count`: the type's tasks now; `spec`: {"min", "max",
    "cpu_percent"}; `percent`: its utilisation (None: no figure yet)."""
    low, high = max(1, int(spec["min"])), max(1, int(spec["max"]))
    if count < low or count > high:
        return min(max(count, low), high)
    if track.count != count:
        track.count, track.above_since, track.below_since, track.recent = count, None, None, []
    if percent is None:
        return None
    want = wanted(count, percent, int(spec["cpu_percent"]), low, high)
    if want > count:
        track.above_since = now if track.above_since is None else track.above_since
        return want if now - track.above_since >= up_window else None
    track.above_since = None
    if want == count:
        track.below_since, track.recent = None, []
        return None
    track.below_since = now if track.below_since is None else track.below_since
    track.recent = [(t, w) for t, w in track.recent if now - t <= down_window] + [(now, want)]
    return max(w for _unused, w in track.recent) if now - track.below_since >= down_window else None
