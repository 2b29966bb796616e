"""The images a tenant's Dockerfile starts from, pulled by the build sandbox before the build (sandbox.py).

The Engine pulls a build's images itself, from the builder host's own network, and runs the ONBUILD triggers of a
base image as part of the build: a trigger that ADDs a URL would be fetched from that network too. So the sandbox
pulls every image the Dockerfile names, with the push's rights (the platform registry's front decides which of its
repositories those reach), refuses registries on the host itself, looks at each image's triggers, and then builds
without pulling again: what the build starts from is what was checked.
"""
from __future__ import annotations

import base64
import ipaddress
import json
import socket
import urllib.parse

from . import dockerfile, engine

MOST = 16  # images one Dockerfile may name
PULL_TIMEOUT = 600.0  # seconds without a word from the Engine


def parse(ref: str) -> tuple[str, str, str]:
    """(registry host, repository, tag or digest) of an image reference, as the docker CLI reads it."""
    first, slash, remainder = ref.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = "docker.io", ref
    if "@" in path:
        repository, tag = path.split("@", 1)
    else:
        name, colon, tag = path.rpartition(":")
        repository, tag = (name, tag) if colon and "/" not in tag else (path, "latest")
    if not repository or not tag or any(c.isspace() for c in ref):
        raise dockerfile.Unsafe(f"not an image reference: {ref!r}")
    return registry, repository, tag


def on_this_host(registry: str) -> bool:
    """A registry on the builder host itself: named by a loopback, unspecified or link-local address, by localhost,
    or by a name that resolves to one of those here."""
    if registry.startswith("["):
        host = registry[1:].partition("]")[0]
    else:
        host = registry.partition(":")[0] if registry.count(":") == 1 else registry
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:  # a name: what it resolves to here, as the Engine resolves it
        try:
            addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in socket.getaddrinfo(host, None)}
        except (OSError, ValueError):
            return False
    return any(a.is_loopback or a.is_unspecified or a.is_link_local for a in addresses)


def allowed(registry: str, auths: dict[str, dict]) -> bool:
    """Whether a build may pull from this registry: any but one on the builder itself, except the platform
    registry's front (in `auths`, wherever it listens), which gives a push its own app's repository and the stack
    images only."""
    return registry in auths or not on_this_host(registry)


def _auth_header(registry: str, auths: dict[str, dict]) -> dict[str, str]:
    auth = auths.get(registry)
    if not auth:
        return {}
    payload = dict(auth, serveraddress=registry)
    return {"X-Registry-Auth": base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()}


def pull(ref: str, auths: dict[str, dict], out) -> None:
    """Pull one image with these registry rights (the platform registry's: its front, wherever it listens, gives
    a push its own app's repository and the stack images), or say why not (Unsafe)."""
    registry, repository, tag = parse(ref)
    if not allowed(registry, auths):
        raise dockerfile.Unsafe(f"{ref}: a registry on the builder itself is not reachable from builds")
    name = repository if registry == "docker.io" else f"{registry}/{repository}"
    conn = engine.EngineConnection(timeout=PULL_TIMEOUT)
    try:
        conn.request("POST", "/images/create?" + urllib.parse.urlencode({"fromImage": name, "tag": tag}),
                     headers=_auth_header(registry, auths))
        answer = conn.getresponse()
        if answer.status != 200:
            raise dockerfile.Unsafe(f"{ref}: {_message(answer.read())}")
        for raw in answer:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if "error" in message:
                raise dockerfile.Unsafe(f"{ref}: {message['error']}")
    finally:
        conn.close()
    out.write(f"-----> Pulled {ref}\n")


def triggers(ref: str) -> list[str]:
    """The ONBUILD triggers of a pulled image."""
    registry, repository, tag = parse(ref)
    name = repository if registry == "docker.io" else f"{registry}/{repository}"
    local = f"{name}{'@' if '@' in ref else ':'}{tag}"
    conn = engine.EngineConnection(timeout=60)
    try:
        conn.request("GET", f"/images/{urllib.parse.quote(local, safe='/:@')}/json")
        answer = conn.getresponse()
        body = answer.read()
        if answer.status != 200:
            raise dockerfile.Unsafe(f"{ref}: {_message(body)}")
    finally:
        conn.close()
    return list((json.loads(body).get("Config") or {}).get("OnBuild") or [])


def _message(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    try:
        return str(json.loads(text).get("message") or text).strip()
    except (ValueError, AttributeError):
        return text.strip()


def prepare(text: str, auths: dict[str, dict], out) -> None:
    """Pull and check every image the Dockerfile names (under either escape character), or raise Unsafe."""
    refs = list(dict.fromkeys(ref for escape in dockerfile.ESCAPES for ref in dockerfile.images(text, escape)))
    if len(refs) > MOST:
        raise dockerfile.Unsafe(f"the Dockerfile names {len(refs)} images; at most {MOST} are built from")
    for ref in refs:
        pull(ref, auths, out)
        for trigger in triggers(ref):
            problem = dockerfile.trigger_problem(trigger)
            if problem:
                raise dockerfile.Unsafe(f"{ref} has an ONBUILD trigger the sandbox does not run ({problem}): "
                                        f"{trigger[:200]!r}")
