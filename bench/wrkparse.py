"""What the benchmarks read from wrk's output (`wrk --latency`)."""
from __future__ import annotations

import re

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse(out: str) -> dict:
    """Requests per second, p50/p99 in ms, requests, non-2xx answers and socket errors of one wrk run."""
    def ms(label: str) -> float:
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return round(float(m.group(1)) * _UNIT_MS[m.group(2)], 2)

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50_ms": ms("50"),
            "p99_ms": ms("99"), "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "non_2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": sum(map(int, socket.groups())) if socket else 0}
