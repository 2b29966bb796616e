"""The command line of the scheduled jobs (registry garbage collection, Docker pruning, the builder's cleanup):
settings, a run, a JSON summary on stdout (the journal keeps it), exit 1 with the reason on stderr when the run
fails."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
from typing import Callable

from .common import load_config, setup_logging


def truthy(value: str) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def timestamp(text: str) -> float:
    """RFC 3339 (Docker's and distribution's, with nanoseconds; naive means UTC) -> epoch seconds."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", str(text).strip().replace("Z", "+00:00"))
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


def main(prog: str, doc: str, section: str, defaults: dict[str, str], run: Callable[..., dict],
         errors: tuple[type[BaseException], ...], argv: list[str] | None = None,
         base: dict[str, dict[str, str]] | None = None) -> int:
    """base: sections read first, which the job's own section completes (a job run beside another agent).
    A summary listing errors ("errors": a count) exits 1 too."""
    ap = argparse.ArgumentParser(prog=prog, description=doc.split("\n")[0])
    ap.add_argument("--config", help=f"ini file with a [{section}] section")
    ap.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    args = ap.parse_args(argv)
    cfg: dict[str, str] = {}
    for name, its_defaults in {**(base or {}), section: defaults}.items():
        cfg.update(load_config(name, its_defaults, args.config))
    setup_logging(prog.removeprefix("slipway-"), cfg["log_level"])
    try:
        summary = run(cfg, dry_run=args.dry_run or truthy(cfg.get("dry_run", "")))
    except (*errors, ValueError, OSError, subprocess.SubprocessError) as e:
        print(f"{prog}: {e}", file=sys.stderr, flush=True)
        return 1
    print(json.dumps(summary), flush=True)
    return 1 if summary.get("errors") else 0
