"""What a tenant's Dockerfile would make the Docker Engine fetch by itself, from the builder host's own network
rather than from the build's sandbox: ADD sources that are URLs, git remotes or variables, and the images that
FROM and `--from` name (the sandbox pulls those itself, with the push's rights, and checks them first).

The instructions are read as the Engine's parser reads them: a line ending in the escape character continues on
the next one, and comment lines and empty lines are dropped, inside a continuation too. The escape character is a
parser directive (`# escape=`), which only counts in the file's first lines: rather than follow that rule, both
characters are tried and whatever either reading would fetch counts.
"""
from __future__ import annotations

import re

LIMIT = 1 << 20  # bytes: a longer Dockerfile is refused, not read in part
ESCAPES = ("\\", "`")
QUOTING = re.compile(r"[\"'\\`]")  # what the Engine's word processing removes from ADD's arguments
VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


class Unsafe(ValueError):
    """A Dockerfile the sandbox does not build: the message is for the pusher."""


def instructions(text: str, escape: str = "\\") -> list[str]:
    """The logical instructions of a Dockerfile, continuations joined."""
    ending = re.compile(re.escape(escape) + r"[ \t]*$")
    found: list[str] = []
    current: str | None = None
    for line in text.lstrip("\ufeff").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = ending.search(line)
        part = line[:m.start()] if m else line
        current = part.lstrip() if current is None else current + part
        if not m:
            found.append(current.strip())
            current = None
    if current is not None and current.strip():
        found.append(current.strip())
    return found


def _split(instruction: str) -> tuple[str, str]:
    words = instruction.split(None, 1)
    return (words[0].upper() if words else ""), (words[1].strip() if len(words) > 1 else "")


def daemon_fetch(instruction: str) -> bool:
    """Whether the Engine would fetch an ADD's source itself (ONBUILD ADD too): a URL, a git remote, or a variable
    whose value is not known here. Quotes and escapes are taken out first, as the Engine's word processing does."""
    keyword, rest = _split(instruction)
    if keyword == "ONBUILD":
        keyword, rest = _split(rest)
    if keyword != "ADD":
        return False
    plain = QUOTING.sub("", rest)
    return "://" in plain or "$" in plain or "git@" in plain


def fetches(text: str) -> str:
    """The first instruction whose source the Engine would fetch itself, under either escape character, else ""."""
    for escape in ESCAPES:
        for instruction in instructions(text, escape):
            if daemon_fetch(instruction):
                return instruction[:200]
    return ""


def _expand(word: str, args: dict[str, str]) -> str:
    expanded = VARIABLE.sub(lambda m: args.get(m.group(1) or m.group(2), m.group(0)), word)
    if "$" in expanded:
        raise Unsafe(f"an image named with a variable that has no default ({word!r}): name the image itself, or give "
                     "its ARG a default before the first FROM")
    return expanded


def images(text: str, escape: str = "\\") -> list[str]:
    """The images the build starts from or copies from (FROM, COPY/ADD --from), in order, without earlier stages
    and `scratch`; global ARG defaults are expanded as the Engine does with no build arguments."""
    args: dict[str, str] = {}
    stages: list[str] = []
    found: list[str] = []
    for instruction in instructions(text, escape):
        keyword, rest = _split(instruction)
        if keyword == "ARG" and not stages:
            for pair in rest.split():
                name, sep, value = pair.partition("=")
                if sep:
                    args[name] = value.strip("\"'")
        elif keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            if not words:
                raise Unsafe("a FROM without an image")
            ref = _expand(words[0], args)
            if ref.lower() not in stages and ref.lower() != "scratch":
                found.append(ref)
            stages.append(words[2].lower() if len(words) >= 3 and words[1].upper() == "AS" else f"#{len(stages)}")
        elif keyword in ("COPY", "ADD"):
            for word in rest.split():
                if word.startswith("--from="):
                    source = word[len("--from="):].strip("\"'")
                    if source.lower() not in stages and not source.isdigit():
                        found.append(_expand(source, args))
    return list(dict.fromkeys(found))


def trigger_problem(trigger: str) -> str:
    """Why a base image's ONBUILD trigger may not run in a tenant's build, or "" when it may: the Engine would
    fetch its source itself, or pull an image the sandbox did not check."""
    keyword, rest = _split(trigger)
    if daemon_fetch(trigger):
        return "it fetches a URL, a git remote or a variable"
    if keyword in ("COPY", "ADD") and "--from" in rest:
        return "it copies from another image"
    return ""
