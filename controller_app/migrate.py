"""Bring the database schema up to date: `python -m controller_app.migrate` (what the role runs)."""
from __future__ import annotations

import os
import sys

from alembic import command
from alembic.config import Config

HERE = os.path.dirname(os.path.abspath(__file__))


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", os.path.join(HERE, "migrations"))
    return cfg


def main(argv: list[str]) -> int:
    target = argv[1] if len(argv) > 1 else "head"
    command.upgrade(alembic_config(), target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
