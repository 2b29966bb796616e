"""Prometheus' text exposition format (version 0.0.4), written by hand: the host agents run on Debian's Python
alone, with no metrics library.

    text = render([("slipway_store_used_bytes", "gauge", "Bytes the store's data folder holds.",
                    [({}, 1234.0)])])
    write_textfile("/var/lib/prometheus/node-exporter/slipway_store.prom", text)

`write_textfile` is for node-exporter's textfile collector: the file is written beside its final name and renamed
over it, so a scrape never reads half a file.
"""
from __future__ import annotations

import math
import os
import tempfile
from typing import Iterable

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Sample = tuple[dict[str, str], float]
Family = tuple[str, str, str, Iterable[Sample]]  # name, type (counter, gauge, untyped), help, samples


def _label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if value != int(value) or abs(value) >= 1e15 else str(int(value))


def render(families: Iterable[Family]) -> str:
    lines = []
    for name, kind, text, samples in families:
        lines.append(f"# HELP {name} {text.replace(chr(92), chr(92) * 2).replace(chr(10), chr(92) + 'n')}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            inside = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            lines.append(f"{name}{{{inside}}} {_number(value)}" if inside else f"{name} {_number(value)}")
    return "\n".join(lines) + "\n"


def write_textfile(path: str, text: str) -> None:
    """Write `path` whole or not at all (a temporary file in its folder, renamed over it), readable by all."""
    folder = os.path.dirname(path) or "."
    fd, temp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
