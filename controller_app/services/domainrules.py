"""Which domains a tenant may claim for an app (POST /v2/apps/{id}/domains/), for everyone, admins included:

- a valid hostname (names.domain_problem);
- no wildcard that covers the platform domain (`*.slipway.example.com`, `*.example.com`);
- under the platform domain, only names under the app's own `<app>.<platform domain>` (not another app's
  name, nor one an app may take later);
- no public suffix, nor a wildcard over one (`*.com`, `*.co.uk`, `*.github.io`), by the Public Suffix List
  when the system has it (Debian's publicsuffix package) and in any case no wildcard with fewer than two
  labels after the `*` (the list's implicit rule: every top-level label is a public suffix).
"""
from __future__ import annotations

import dataclasses
import functools

from .names import domain_problem

PUBLIC_SUFFIX_LIST = "/usr/share/publicsuffix/public_suffix_list.dat"


def _ascii(rule: str) -> str | None:
    try:
        return rule.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None


@dataclasses.dataclass(frozen=True)
class SuffixRules:
    """The Public Suffix List's rules: exact suffixes, `*.x` (every child of x) and `!y` exceptions."""

    exact: frozenset = frozenset()
    children_of: frozenset = frozenset()
    exceptions: frozenset = frozenset()

    @classmethod
    def parse(cls, text: str) -> "SuffixRules":
        exact, children_of, exceptions = set(), set(), set()
        for line in text.splitlines():
            rule = line.strip().split(" ")[0] if line.strip() else ""
            if not rule or rule.startswith("//"):
                continue
            if rule.startswith("!"):
                target, name = exceptions, rule[1:]
            elif rule.startswith("*."):
                target, name = children_of, rule[2:]
            else:
                target, name = exact, rule
            name = _ascii(name)
            if name:
                target.add(name)
        return cls(frozenset(exact), frozenset(children_of), frozenset(exceptions))

    def is_public_suffix(self, name: str) -> bool:
        if name in self.exceptions:
            return False
        parent = name.partition(".")[2]
        return name in self.exact or (bool(parent) and parent in self.children_of)


@functools.lru_cache(maxsize=1)
def system_rules() -> SuffixRules:
    """The system's Public Suffix List, read once; empty (the two-label rule alone) when absent."""
    try:
        with open(PUBLIC_SUFFIX_LIST, encoding="utf-8") as f:
            return SuffixRules.parse(f.read())
    except OSError:
        return SuffixRules()


def claim_problem(name: str, app_id: str, platform: str, rules: SuffixRules | None = None) -> str | None:
    """Why `name` (lowercase, no trailing dot) cannot be a domain of app `app_id`, or None."""
    problem = domain_problem(name)
    if problem:
        return problem
    rules = system_rules() if rules is None else rules
    platform = platform.lower().rstrip(".")
    wildcard = name.startswith("*.")
    base = name[2:] if wildcard else name
    own = f"{app_id}.{platform}"
    if wildcard and (base == platform or platform.endswith("." + base)):
        return f"{name} would cover the platform domain {platform}."
    if (base == platform or base.endswith("." + platform)) and not (base == own or base.endswith("." + own)):
        return f"{name} is under the platform domain: this app may only use names under {own}."
    if wildcard and "." not in base:
        return f"{name} covers a whole top-level domain: a wildcard needs at least two labels after the '*'."
    if rules.is_public_suffix(base):
        return (f"{name} would cover the public suffix {base}." if wildcard
                else f"{name} is a public suffix, not a domain anyone can own.")
    return None
