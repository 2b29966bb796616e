"""Validation of app ids and domains, and random readable app names."""
from __future__ import annotations

import re
import secrets

from ..appid import APP_ID

# the platform's own names under the platform domain: the controller (slipway., and deis. for the Deis CLI),
# the builder as the Deis CLI derives it from the controller's name (deis-builder.), and names kept for later
RESERVED = frozenset({"slipway", "deis", "deis-builder", "controller", "builder", "registry", "router", "store",
                      "www", "api", "admin", "git", "dashboard"})
DOMAIN = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
PROC_TYPE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,28}[a-z0-9])?$")

_ADJECTIVES = ("amber", "bold", "brisk", "calm", "clever", "crisp", "dapper", "eager", "fancy", "gentle",
               "happy", "jolly", "keen", "lively", "lucky", "merry", "nimble", "proud", "quiet", "rapid",
               "shiny", "sunny", "swift", "tidy", "vivid", "witty", "zesty")
_NOUNS = ("anchor", "beacon", "breeze", "cable", "canal", "cove", "dinghy", "dock", "ferry", "galley",
          "harbor", "hull", "jetty", "keel", "lagoon", "marina", "mast", "pier", "quay", "reef", "rudder",
          "sail", "schooner", "skiff", "tide", "wharf", "yacht")


def app_id_problem(value: str) -> str | None:
    if len(value) > 63:
        return "App name can be at most 63 characters."
    if not APP_ID.match(value):
        return ("App name can only contain a-z (lowercase), 0-9 and hyphens, must start with a letter "
                "and must not end with a hyphen.")
    if value in RESERVED:
        return f"{value} is a reserved name."
    return None


def random_app_id() -> str:
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(10000):04d}"


def domain_problem(value: str) -> str | None:
    if len(value) > 253 or not DOMAIN.match(value) or "." not in value:
        return f"{value!r} is not a valid hostname (lowercase labels, optional leading '*.')."
    return None
