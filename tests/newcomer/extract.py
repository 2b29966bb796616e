"""Turn docs/install.md into the shell script the newcomer test runs, in the order the guide gives them:

- a fenced block whose info string is ``sh newcomer`` is copied as it stands;
- a fenced block whose info string is ``<lang> newcomer file=PATH`` becomes a command that writes its text to
  PATH (``~/`` is the control node user's home), as a reader would save the file.

Other blocks (``sh``, ``yaml``, plain) are for reading only. Each block is announced with its line number, so a
failing command points back at the guide.

    python3 tests/newcomer/extract.py docs/install.md > guide.sh
"""
from __future__ import annotations

import re
import shlex
import sys

FENCE = re.compile(r"^(```+)\s*(\S*)(.*)$")


def blocks(text: str):
    """(line number, language, attributes, body) of each fenced block marked ``newcomer``."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang, rest = m.group(1), m.group(2), m.group(3).split()
        start = i + 1
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        if i >= len(lines):
            raise SystemExit(f"line {start}: the block that starts here is never closed")
        i += 1
        if "newcomer" in rest:
            attrs = dict(word.split("=", 1) for word in rest if "=" in word)
            yield start, lang, attrs, body


def script(text: str) -> str:
    out = ["#!/usr/bin/env bash", "# Generated from docs/install.md by tests/newcomer/extract.py.",
           "set -euo pipefail"]
    count = 0
    for line, lang, attrs, body in blocks(text):
        count += 1
        out.append(f"echo {shlex.quote(f'=== docs/install.md line {line}')}")
        if "file" in attrs:
            path = attrs["file"]
            target = '"$HOME"/' + shlex.quote(path[2:]) if path.startswith("~/") else shlex.quote(path)
            out.append(f'mkdir -p "$(dirname {target})"')
            out.append(f"cat > {target} <<'NEWCOMER_EOF'")
            out.extend(body)
            out.append("NEWCOMER_EOF")
        elif lang == "sh":
            out.append("set -x")
            out.extend(body)
            out.append("{ set +x; } 2>/dev/null")
        else:
            raise SystemExit(f"line {line}: a newcomer block is `sh` or names a file, not {lang!r}")
    if not count:
        raise SystemExit("no block marked newcomer")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit(f"usage: {argv[0]} GUIDE.md")
    with open(argv[1], encoding="utf-8") as f:
        sys.stdout.write(script(f.read()))


if __name__ == "__main__":
    main(sys.argv)
