"""Line charts as inline SVG, drawn on the server: the geometry here (numbers only), the markup in
templates/chart.html (autoescaped, so series names from metric labels stay text)."""
from __future__ import annotations

import math
import time

WIDTH, HEIGHT = 600, 170
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 10, 22
COLORS = ("#2f6fdf", "#d9480f", "#2b8a3e", "#7048e8", "#e67700", "#0b7285", "#c2255c", "#5c940d")


def amount(value: float, unit: str) -> str:
    """`value` in `unit` for an axis: bytes in KiB..GiB, seconds in ms below one, others with a few digits."""
    if unit == "bytes":
        for suffix, size in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
            if abs(value) >= size:
                return f"{value / size:.1f} {suffix}"
        return f"{value:.0f} B"
    if unit == "s" and abs(value) < 1:
        return f"{value * 1000:.0f} ms"
    if abs(value) >= 100 or value == 0:
        return f"{value:.0f} {unit}"
    return f"{value:.2g} {unit}"


def _ceiling(value: float) -> float:
    """A round top for the y axis (1, 2 or 5 times a power of ten) at or above `value`."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def chart(title: str, unit: str, series: list[tuple[str, list[tuple[float, float]]]], start: float,
          end: float) -> dict:
    """What templates/chart.html draws: each series as a polyline's points, the axes' ticks, the legend."""
    top = _ceiling(max((v for _unused, points in series for _unused, v in points), default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (t - start) / max(end - start, 1) * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - v / top * plot_h

    # each line ends in a dot: the latest value, and a series as young as one step shows at all
    lines = [{"name": name or title, "color": COLORS[i % len(COLORS)],
              "points": " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points),
              "last": (f"{x(points[-1][0]):.1f}", f"{y(points[-1][1]):.1f}")}
             for i, (name, points) in enumerate(series) if points]
    fmt = "%H:%M" if end - start <= 2 * 86400 else "%m-%d"
    xticks = [(x(t), time.strftime(fmt, time.gmtime(t)), "end" if k == 4 else "start" if k == 0 else "middle")
              for k, t in ((k, start + (end - start) * k / 4) for k in range(5))]
    yticks = [(y(top * k / 2), amount(top * k / 2, unit)) for k in range(3)]
    return {"title": title, "lines": lines, "xticks": xticks, "yticks": yticks, "width": WIDTH, "height": HEIGHT,
            "left": LEFT, "right": WIDTH - RIGHT, "bottom": TOP + plot_h, "top": TOP}
