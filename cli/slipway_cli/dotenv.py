"""Reading and writing `.env` files (for config:pull and config:push).

Accepted syntax (the common dotenv subset, as foreman/docker compose read it):
    # comment
    KEY=value            unquoted; trailing whitespace and a ` # comment` are dropped
    export KEY=value     the `export ` prefix is ignored
    KEY='literal'        single quotes: no escapes, may span lines
    KEY="a\\nb"          double quotes: \\n \\r \\t \\" \\\\ \\$ escapes, may span lines
    KEY=                 empty value
No variable interpolation is done: values are taken literally.
"""
from __future__ import annotations

import re

KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_LINE_START = re.compile(r"[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$", "'": "'"}
_BARE_SAFE = re.compile(r"[A-Za-z0-9_./:@,+=%^-]+\Z")


class DotenvError(ValueError):
    pass


def parse(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    pos = 0
    line = 1
    n = len(text)
    while pos < n:
        # skip blank lines and comments
        eol = text.find("\n", pos)
        eol = n if eol == -1 else eol
        stripped = text[pos:eol].strip()
        if not stripped or stripped.startswith("#"):
            pos = eol + 1
            line += 1
            continue
        m = _LINE_START.match(text, pos, eol)
        if not m:
            raise DotenvError(f"line {line}: expected KEY=VALUE, got {stripped[:40]!r}")
        key = m.group(1)
        pos = m.end()
        start_line = line
        if pos < n and text[pos] in "\"'":
            quote = text[pos]
            pos += 1
            buf = []
            while True:
                if pos >= n:
                    raise DotenvError(f"line {start_line}: unterminated {quote} quote for {key}")
                c = text[pos]
                if c == quote:
                    pos += 1
                    break
                if c == "\n":
                    line += 1
                if quote == '"' and c == "\\" and pos + 1 < n:
                    nxt = text[pos + 1]
                    if nxt in _ESCAPES:
                        buf.append(_ESCAPES[nxt])
                        pos += 2
                        continue
                buf.append(c)
                pos += 1
            value = "".join(buf)
            eol = text.find("\n", pos)
            eol = n if eol == -1 else eol
            rest = text[pos:eol].strip()
            if rest and not rest.startswith("#"):
                raise DotenvError(f"line {line}: unexpected text after the quoted value of {key}: {rest[:40]!r}")
        else:
            raw = text[pos:eol]
            # an inline comment needs whitespace before the '#'
            cm = re.search(r"[ \t]#", raw)
            if cm:
                raw = raw[:cm.start()]
            value = raw.strip()
            if value.endswith("\r"):
                value = value[:-1]
        values[key] = value
        pos = eol + 1
        line += 1
    return values


def quote(value: str) -> str:
    if value and _BARE_SAFE.match(value):
        return value
    if "'" not in value and "\n" not in value and "\r" not in value:
        return f"'{value}'"
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    out = out.replace("\t", "\\t").replace("$", "\\$")
    return f'"{out}"'


def dump(values: dict) -> str:
    lines = []
    for key, value in values.items():
        if value is None:
            continue
        if not KEY_RE.match(key):
            raise DotenvError(f"invalid key {key!r}")
        lines.append(f"{key}={quote(str(value))}")
    return "\n".join(lines) + ("\n" if lines else "")


def read(path: str) -> dict[str, str]:
    with open(path, encoding="utf-8") as f:
        return parse(f.read())
