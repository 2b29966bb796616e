"""Builds: an image (and its Procfile) registered for an app becomes a new release, deployed (the caller waiting
for it, or, for the builder's hook, in the background)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import App, Build, Release, User
from ..settings import get_settings
from . import access, imagerefs, registryclient, releases
from .errors import FieldError, Forbidden
from .names import PROC_TYPE


def check_procfile(procfile: dict[str, str]) -> None:
    for proc, command in procfile.items():
        if not PROC_TYPE.match(proc):
            raise FieldError("procfile", f"{proc!r} is not a valid process type (lowercase letters, digits, '-').")
        if not command.strip() or len(command) > 4096:
            raise FieldError("procfile", f"The command of process type {proc} is empty or too long.")
    if "web" in procfile and "cmd" in procfile:
        raise FieldError("procfile", "A Procfile cannot define both web and cmd.")


def check_image(db: Session, app: App, user: User, image: str, own_only: bool) -> None:
    """The image rule of builds. A reference is parsed as Docker does (400 when malformed). In the platform
    registry (SLIPWAY_REGISTRY), whose account the nodes pull with, a build may name only its app's repository
    or, with `own_only` false, that of another app the user may use; with `own_only` (a push) the image must be
    exactly `<registry>/<app>`, and it must be in the registry (a node that cannot pull it would run a copy it
    kept, a destroyed app's for one). Images from other registries are the user's business, but for a registry
    named by the pulling host's own address (loopback, link-local, localhost), where the platform registry's own
    services listen: what listens there is no registry of theirs."""
    try:
        ref = imagerefs.parse(image)
    except imagerefs.BadReference as exc:
        raise FieldError("image", str(exc)) from None
    registry = get_settings().registry
    if registry and imagerefs.on_the_pulling_host(ref) and not imagerefs.on_platform_host(ref, registry):
        raise FieldError("image", f"{ref.domain} is an address on the platform's own hosts, not a registry they "
                                  "pull from; name the registry by its public name.")
    if not registry:
        return
    if own_only:
        if not (imagerefs.in_platform_registry(ref, registry) and ref.path == app.id):
            raise Forbidden(f"A push registers only images of the platform registry's {registry}/{app.id}.")
        return
    if not imagerefs.on_platform_host(ref, registry):
        return
    if ref.path != app.id:
        other, allowed = access.find_app(db, user, ref.path)
        if other is None or not allowed:
            raise Forbidden(f"{image} is in the platform registry ({registry}) but not in the repository of "
                            f"an app you may use; this app's repository is {registry}/{app.id}.")
    if registryclient.has_manifest(ref.path, ref.digest or ref.tag or "latest") is False:
        # a node would try to pull it, fail, and run whatever copy it kept (a destroyed app's image, say)
        raise FieldError("image", f"{image} is not in the platform registry.")


def register(db: Session, app: App, user: User, image: str, sha: str = "", procfile: dict[str, str] | None = None,
             dockerfile: str = "", own_image_only: bool = False, background: bool = False) -> tuple[Build, Release]:
    """Record the build and deploy a release of it with the app's current config: the release once it serves
    (releases.create_and_deploy), or at once, `deploying`, with `background` (releases.create_and_start)."""
    procfile = procfile or {}
    check_procfile(procfile)
    check_image(db, app, user, image, own_image_only)
    build = Build(app_uuid=app.uuid, owner_id=user.id, image=image, sha=sha, procfile=procfile,
                  dockerfile=dockerfile)
    db.add(build)
    db.flush()
    base = releases.latest(db, app)
    what = sha[:7] if sha else image
    deploy = releases.create_and_start if background else releases.create_and_deploy
    return build, deploy(db, app, user, build, base.config, f"{user.username} deployed {what}")
