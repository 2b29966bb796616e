"""Image references, parsed strictly as Docker normalises them, and the platform registry's repositories.

A reference is `[domain/]path[:tag][@digest]`. The first `/`-separated component is the domain when it holds a
`.` or a `:`, is `localhost`, or has an upper-case letter; otherwise the image is on Docker Hub (`docker.io`,
with `library/` before a one-component path). Path components are lower case (`[a-z0-9]+` joined by `.`, `_`,
`__` or dashes), as the distribution spec says; anything else (empty components, `..`, a trailing `/`, a bad
tag or digest) is malformed. Domains compare without case.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import re

COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REPOSITORY = re.compile(rf"{COMPONENT}(?:/{COMPONENT})*")
_LABEL = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])"
DOMAIN = re.compile(rf"(?P<host>{_HOST})(?::(?P<port>[0-9]{{1,5}}))?")
TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")
DOCKER_HUB = "docker.io"


class BadReference(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Reference:
    domain: str  # lower case, with its port when one is given
    path: str
    tag: str | None
    digest: str | None


def _is_domain(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost" or component.lower() != component


def parse(image: str) -> Reference:
    """The reference as Docker reads it; BadReference (a message for the user) when it is malformed."""
    if not image or len(image) > 512 or image != image.strip():
        raise BadReference("An image reference is 1 to 512 characters without spaces.")
    name, digest = image, None
    if "@" in name:
        name, digest = name.split("@", 1)
        if not DIGEST.fullmatch(digest):
            raise BadReference(f"{digest!r} is not a digest (sha256: and 64 hex digits).")
    tag = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not TAG.fullmatch(tag):
            raise BadReference(f"{tag!r} is not a valid tag.")
    if len(name) > 255:
        raise BadReference("The image's name (before its tag) is longer than 255 characters.")
    first, sep, rest = name.partition("/")
    if sep and _is_domain(first):
        domain, path = first.lower(), rest
        if not DOMAIN.fullmatch(domain):
            raise BadReference(f"{first!r} is not a registry host[:port].")
        if domain in ("index.docker.io", "registry-1.docker.io"):
            domain = DOCKER_HUB
    else:
        domain, path = DOCKER_HUB, name
    if not REPOSITORY.fullmatch(path):
        raise BadReference(f"{path!r} is not a valid repository name (lower-case components separated by /).")
    if domain == DOCKER_HUB and "/" not in path:
        path = "library/" + path
    return Reference(domain, path, tag, digest)


def _split(domain: str) -> tuple[str, str | None]:
    m = DOMAIN.fullmatch(domain.lower())
    if not m:
        return domain.lower(), None
    return m.group("host"), m.group("port")


def on_platform_host(ref: Reference, registry: str) -> bool:
    """Whether the image is on the platform registry's host, whatever the port (so no port spelling, such as
    an explicit :443, slips past the repository check)."""
    return _split(ref.domain)[0] == _split(registry)[0]


def on_the_pulling_host(ref: Reference) -> bool:
    """Whether the registry is named by the pulling host's own address (loopback, link-local, unspecified, an IPv6
    address mapping one of those) or by localhost: a node would pull from its own network, not from a registry."""
    host = _split(ref.domain)[0].strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    address = getattr(address, "ipv4_mapped", None) or address
    return address.is_loopback or address.is_link_local or address.is_unspecified


def in_platform_registry(ref: Reference, registry: str) -> bool:
    """Whether the image is in the platform registry exactly as the builder pushes to it (host and port)."""
    return _split(ref.domain) == _split(registry)


def credentials_for(image: str, credentials: dict | None, platform: str | None) -> dict | None:
    """An app's private registry credentials when they are for `image`'s registry: the one their `hostname` names,
    or, without one, any registry but the platform's own (whose pulls the platform authorizes itself)."""
    if not credentials:
        return None
    try:
        ref = parse(image)
    except BadReference:
        return None
    if credentials.get("hostname"):
        return credentials if _split(ref.domain) == _split(credentials["hostname"]) else None
    return None if platform and on_platform_host(ref, platform) else credentials
