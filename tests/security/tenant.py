"""What the adversarial tests share: a stranger (a user who got an account a minute ago) with an app of their
own, pushes of trees that may hold symbolic links, and markers that show whether anything a tenant sent ran on
the platform host."""
from __future__ import annotations

import secrets
import shlex

from tests.e2e.conftest import WORK, get, push, sh, wait_for
from tests.e2e.ops import hello_source, new_app
from tests.e2e.test_push import dockerfile


def stranger(aio, user_factory, prefix: str = "x") -> dict:
    """A fresh user and a new app of theirs: {owner, app, domain, src}."""
    return new_app(aio, user_factory, prefix)


def tree(path: str, files: dict[str, str], links: dict[str, str] | None = None, message: str = "commit") -> None:
    """Replace the work tree at `path` in the host by these files and symbolic links (name -> target), committed."""
    script = ["set -e", f"rm -rf {path}", f"mkdir -p {path}", f"cd {path}",
              "git init -q -b main && git config user.email x@example.test && git config user.name x"]
    for name, content in files.items():
        script.append(f"mkdir -p \"$(dirname {shlex.quote(name)})\" && printf %s {shlex.quote(content)} > {shlex.quote(name)}")
    for name, target in (links or {}).items():
        script.append(f"mkdir -p \"$(dirname {shlex.quote(name)})\" && ln -s {shlex.quote(target)} {shlex.quote(name)}")
    script.append(f"git add -A && git commit -q -m {shlex.quote(message)}")
    sh("\n".join(script))


def push_tree(world: dict, files: dict[str, str], links: dict[str, str] | None = None) -> tuple[int, str]:
    tree(world["src"], files, links)
    rc, out, _ = push(world["owner"], world["app"], world["src"])
    return rc, out


def hello(registry: str, banner: str = "") -> dict[str, str]:
    """A Dockerfile app that serves (examples/hello)."""
    return {"Dockerfile": dockerfile(registry), "app.py": hello_source(banner)}


def still_deploys(aio, world: dict) -> None:
    """After an attack: the platform serves, and the stranger's own ordinary push deploys and serves."""
    assert sh("curl -fsS -m 10 http://127.0.0.1:8000/readiness", check=False).returncode == 0
    rc, out = push_tree(world, hello(aio["registry"], "after"))
    assert rc == 0, out[-3000:]
    wait_for(lambda: (lambda r: r[0] == 200 and "after" in r[1])(get(world["domain"])), timeout=60,
             message="the stranger's own app to serve")


class Marker:
    """A file a successful injection would create on the platform host: `command` makes it; `made()` says."""

    def __init__(self) -> None:
        self.path = f"/tmp/pwned-{secrets.token_hex(4)}"
        self.command = f"touch {self.path}"

    def made(self) -> bool:
        return sh(f"test -e {self.path}", check=False).returncode == 0


BUILDER_SECRETS = ("X-Deis-Builder-Auth", "/etc/slipway/builder")


def leaks_nothing(output: str, key: str) -> bool:
    return key not in output and not any(s in output for s in BUILDER_SECRETS[:1])


__all__ = ["WORK", "Marker", "hello", "leaks_nothing", "push_tree", "still_deploys", "stranger", "tree"]
