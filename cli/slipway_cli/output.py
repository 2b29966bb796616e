"""Output formatting: JSON passthrough, plain-text tables, key/value blocks."""
from __future__ import annotations

import json
import sys
from typing import Any, Iterable, Sequence


def print_json(data: Any, out=None) -> None:
    out = out or sys.stdout
    json.dump(data, out, indent=2, sort_keys=False, ensure_ascii=False)
    out.write("\n")


def cell(value: Any) -> str:
    """One value as table text: None -> '', bools -> yes/no, lists joined, dicts as k=v."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={cell(v)}" for k, v in value.items())
    text = str(value)
    # keep one row per line whatever the value holds
    return text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    text_rows = [[cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        for i, v in enumerate(row):
            if i < len(widths):
                widths[i] = max(widths[i], len(v))
    lines = []
    for row in [list(headers)] + text_rows:
        padded = [v.ljust(widths[i]) if i < len(row) - 1 else v for i, v in enumerate(row)]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)


def records_table(records: Iterable[dict], columns: Sequence[tuple[str, str]]) -> str:
    """A table from dicts: columns is [(header, key)]; a key may be dotted (`config.values`)."""
    rows = []
    for rec in records:
        rows.append([_dig(rec, key) for _, key in columns])
    return table(rows, [h for h, _ in columns])


def kv_block(pairs: Iterable[tuple[str, Any]], title: str | None = None) -> str:
    pairs = list(pairs)
    width = max((len(k) for k, _ in pairs), default=0)
    lines = [f"=== {title}"] if title else []
    lines += [f"{k + ':':<{width + 1}} {cell(v)}".rstrip() for k, v in pairs]
    return "\n".join(lines)


def short_date(value: Any) -> str:
    """`2026-11-26T00:33:53.123456+00:00` -> `2026-11-26 00:33:53`."""
    if not isinstance(value, str) or "T" not in value:
        return cell(value)
    date, _, time = value.partition("T")
    time = time[:8]
    return f"{date} {time}"


def _dig(rec: Any, key: str) -> Any:
    for part in key.split("."):
        if isinstance(rec, dict):
            rec = rec.get(part)
        else:
            return None
    return rec


def info(message: str) -> None:
    print(message)


def warn(message: str) -> None:
    print(message, file=sys.stderr)


def error(message: str) -> None:
    print(f"Error: {message}", file=sys.stderr)
