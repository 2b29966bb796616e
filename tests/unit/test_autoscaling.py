"""The autoscaler's rule (controller_app/services/autoscaling.py): what count it asks for, and when."""
from __future__ import annotations

from controller_app.services.autoscaling import Track, decide, utilisation, wanted

SPEC = {"min": 1, "max": 4, "cpu_percent": 50}


def run(track: Track, samples: list[tuple[float, int, float | None]], up=30.0, down=300.0) -> list[int | None]:
    return [decide(track, t, count, SPEC, percent, up, down) for t, count, percent in samples]


def test_utilisation_is_of_the_limit_or_of_one_core():
    assert utilisation([(0.1, 0.2), (0.2, 0.2)]) == 75.0  # 50 % and 100 % of a 200m limit
    assert utilisation([(0.5, 0.0)]) == 50.0  # no limit: half a core
    assert utilisation([]) is None


def test_wanted_follows_the_ratio_within_bounds_and_tolerance():
    assert wanted(1, 100, 50, 1, 4) == 2
    assert wanted(2, 90, 50, 1, 4) == 4
    assert wanted(2, 400, 50, 1, 4) == 4  # never over max
    assert wanted(3, 0, 50, 1, 4) == 1  # never under min, nor one
    assert wanted(2, 54, 50, 1, 4) == 2  # within 10 % of the target: stays
    assert wanted(4, 10, 50, 2, 6) == 2


def test_up_only_after_the_load_held_for_the_up_window():
    track = Track()
    got = run(track, [(0, 1, 100), (10, 1, 100), (29, 1, 100), (30, 1, 100)])
    assert got == [None, None, None, 2]


def test_a_burst_shorter_than_the_window_moves_nothing():
    track = Track()
    got = run(track, [(0, 1, 100), (20, 1, 100), (25, 1, 10), (40, 1, 100), (65, 1, 100), (70, 1, 100)])
    assert got == [None, None, None, None, None, 2]  # the dip at 25 s started the window again at 40 s


def test_down_after_the_down_window_to_its_peak():
    track = Track()
    got = run(track, [(0, 4, 10), (100, 4, 30), (200, 4, 10), (299, 4, 10), (300, 4, 10)], down=300)
    assert got == [None, None, None, None, 3]  # 30 % of 50 at 4 tasks asked for 3 within the window


def test_load_back_at_target_cancels_a_pending_scale_down():
    track = Track()
    got = run(track, [(0, 2, 10), (150, 2, 50), (160, 2, 10), (400, 2, 10), (460, 2, 10)], down=300)
    assert got == [None, None, None, None, 1]


def test_outside_min_and_max_is_corrected_at_once_and_no_figure_is_no_decision():
    assert decide(Track(), 0, 1, {"min": 2, "max": 4, "cpu_percent": 50}, None, 30, 300) == 2
    assert decide(Track(), 0, 6, SPEC, 100, 30, 300) == 4
    track = Track()
    assert run(track, [(0, 2, None), (100, 2, None)]) == [None, None]


def test_a_new_count_starts_afresh():
    track = Track()
    assert run(track, [(0, 1, 100), (30, 1, 100)]) == [None, 2]
    assert run(track, [(31, 2, 100), (40, 2, 100), (61, 2, 100)]) == [None, None, 4]
