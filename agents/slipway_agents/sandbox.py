"""The build sandbox's one privileged entry point: the git user (who has no Docker) builds a push through it.

    sudo -n slipway-sandbox [--config /etc/slipway/builder/sandbox.ini] build APP UUID SHA WORKDIR
         (the push's token on standard input, one line)

It takes only the validated app, its uuid, the commit and the push's work folder, and starts nothing but the
build: the folder's `src` (the unpacked commit) is copied, read as the git user, into a folder only root can
enter; a symbolic link that leaves the tree is refused; then a root Dockerfile is built by the Docker Engine's
classic builder (through its API, engine.py) and anything else with the buildpack driver, both in the sandbox the
configuration names (network, memory, CPUs, processes, time, cgroup parent), and the image
`<registry>/<app>:git-<sha[:8]>` is pushed. The build and the docker CLI log in to the registry with the push's
token (account `push`), which reaches this app's repository and the shared stack images alone: a Dockerfile's FROM
cannot read another app's images. Every sandbox setting comes from the root-owned configuration, none from the
caller. The build's output goes to standard output; the image's reference to WORKDIR/image and the buildpack's
process types (bin/release) to WORKDIR/release.yml, each a new file (a link the caller put there is not followed).

Settings (ini section [sandbox], or environment SLIPWAY_<NAME> when run by root directly):
  work_root (WORKDIR must lie under it), build_user (owner of WORKDIR; builds run as its uid), registry,
  network, memory, cpus, pids, timeout,
  cgroup_parent, ca_file, controller_url, buildpacks_dir, stack_image, build_image, cache_url, cache_auth,
  cache_dir, buildpack_env_file, scratch_dir (root's own folder for the copies).
Exit status: 0 built and pushed, 2 refused (bad arguments, a link leaving the tree), else the build's own.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile

from . import baseimages, dockerfile, engine
from .buildcgroup import build_cgroup
from .builder import APP_ID, SHA, TOKEN, UUID
from .common import load_config

CONFIG = "/etc/slipway/builder/sandbox.ini"
DEFAULTS = {
    "work_root": "/var/lib/slipway/builder/work",
    "build_user": "git",
    "registry": "",
    "network": "slipway-build",
    "memory": "1g",
    "cpus": "1",
    "pids": "512",
    "timeout": "900",
    "cgroup_parent": "",
    "ca_file": "",
    "controller_url": "",
    "buildpacks_dir": "",
    "stack_image": "slipway/stack:trixie",
    "build_image": "slipway/stack:trixie-build",
    "cache_url": "",
    "cache_auth": "",
    "cache_dir": "/var/lib/slipway/build-cache",
    "buildpack_env_file": "",
    "scratch_dir": "/var/lib/slipway/build-sandbox",
}


class Refused(Exception):
    """Exit 2 with this message."""


def printable(name: str) -> str:
    """A tenant's file name as shown to them: their own bytes, control characters as '?'."""
    return "".join(c if c.isprintable() else "?" for c in name)


def escaping_link(root: str) -> str:
    """The first symbolic link under `root` (relative name) whose target lies outside it, or the first entry that
    is neither a file, a folder nor a link (a device, a FIFO), else ""."""
    real_root = os.path.realpath(root)
    for folder, dirs, files in os.walk(root):  # does not descend into linked folders
        for name in dirs + files:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
                return os.path.relpath(path, root)
            if stat.S_ISLNK(mode):
                target = os.path.realpath(path)
                if target != real_root and not target.startswith(real_root + os.sep):
                    return os.path.relpath(path, root)
    return ""


def work_folder(cfg: dict[str, str], workdir: str, owner: pwd.struct_passwd) -> int:
    """An fd of WORKDIR: a real folder (no link on the way) under work_root, owned by the build user."""
    root = os.path.realpath(cfg["work_root"])
    if os.path.realpath(workdir) != os.path.normpath(workdir) or not workdir.startswith(root + os.sep):
        raise Refused(f"the work folder must be a folder under {root}")
    fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    info = os.fstat(fd)
    if info.st_uid != owner.pw_uid or not stat.S_ISDIR(info.st_mode):
        os.close(fd)
        raise Refused("the work folder is not the build user's")
    return fd


def copy_tree(workdir_fd: int, owner: pwd.struct_passwd, dest: str) -> None:
    """WORKDIR/src into dest, read by the build user (so nothing it cannot read comes along), unpacked by root
    into a folder only root can enter (tar keeps links as links and refuses absolute and ../ names)."""
    reader = subprocess.Popen(["tar", "-C", "src", "-cf", "-", "."], stdout=subprocess.PIPE,
                              preexec_fn=_become(owner, workdir_fd), pass_fds=(workdir_fd,))
    writer = subprocess.run(["tar", "-C", dest, "-xf", "-", "--no-same-owner", "--no-same-permissions"],
                            stdin=reader.stdout, check=False)
    assert reader.stdout is not None
    reader.stdout.close()
    if reader.wait() != 0 or writer.returncode != 0:
        raise Refused("the pushed tree could not be read")


def _become(owner: pwd.struct_passwd, cwd_fd: int):
    def drop() -> None:
        os.fchdir(cwd_fd)
        os.setgroups([])
        os.setgid(owner.pw_gid)
        os.setuid(owner.pw_uid)
    return drop


def read_dockerfile(src: str) -> str | None:
    """The tree's Dockerfile (None without one), refused when the Engine would fetch something of it itself."""
    path = os.path.join(src, "Dockerfile")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as fh:
        text = fh.read(dockerfile.LIMIT + 1)
    if len(text) > dockerfile.LIMIT:
        raise Refused(f"the Dockerfile is larger than {dockerfile.LIMIT >> 20} MiB")
    fetch = dockerfile.fetches(text)
    if fetch:
        raise Refused(f"ADD of a URL or variable is not supported ({fetch!r}): fetch it in a RUN step, which runs in "
                      "the build's sandbox")
    return text


def layer_cache(uuid: str) -> str:
    """The local name of an app's last Dockerfile build: the only image its next build takes cached layers from."""
    return f"slipway-cache/{uuid}:latest"


def dockerfile_query(cfg: dict[str, str], image: str, uuid: str, cgroup: str) -> dict[str, str | list[str]]:
    """The Engine's /build parameters of a Dockerfile build: the classic builder (version 1), the only one that
    runs RUN steps within the sandbox's limits; pull: every FROM image comes from its registry, with this push's
    rights, never from the builder's own images (other tenants' among them): the sandbox pulled and checked them
    just before (baseimages.prepare), so the build itself pulls nothing. Layers come from the app's own last build
    only (`cachefrom`: the classic builder then leaves the Engine's shared cache alone), so no tenant's build
    reuses, or learns of, a layer another tenant built; a re-created app name (a new uuid) starts without any."""
    memory = str(engine.size_bytes(cfg["memory"]))
    cache = layer_cache(uuid)
    query: dict[str, str | list[str]] = {
        "t": [image, cache], "cachefrom": json.dumps([cache]),
        "version": "1", "pull": "0", "rm": "1", "forcerm": "1", "networkmode": cfg["network"],
        "memory": memory, "memswap": memory, "cpuperiod": "100000", "cpuquota": str(int(float(cfg["cpus"]) * 100000))}
    if cgroup:  # the build's own (buildcgroup.py): its process limit
        query["cgroupparent"] = cgroup
    return query


def buildpack_env(cfg: dict[str, str], app: str, token: str, release_out: str, owner: pwd.struct_passwd) -> dict:
    settings = {"CONFIG_URL": cfg["controller_url"].rstrip("/") + "/v2/hooks/config/", "CA_FILE": cfg["ca_file"],
                "APP": app, "PUSH_TOKEN": token, "BUILD_DEFAULTS": cfg["buildpack_env_file"],
                "RELEASE_OUT": release_out, "STACK_IMAGE": cfg["stack_image"], "BUILD_IMAGE": cfg["build_image"],
                "BUILD_NETWORK": cfg["network"], "BUILD_MEMORY": cfg["memory"], "BUILD_CPUS": cfg["cpus"],
                "BUILD_PIDS": cfg["pids"], "BUILD_TIMEOUT": cfg["timeout"], "BUILD_CGROUP_PARENT": cfg["cgroup_parent"],
                "BUILD_CA_FILE": cfg["ca_file"], "BUILD_USER": f"{owner.pw_uid}:{owner.pw_gid}",
                "CACHE_AUTH": cfg["cache_auth"], "IMAGE_BUILD": f"{sys.executable} -I {engine.__file__}"}
    return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
            **{f"SLIPWAY_{k}": v for k, v in settings.items()}}


def build(cfg: dict[str, str], app: str, uuid: str, sha: str, workdir: str, token: str) -> int:
    for value, pattern, what in ((app, APP_ID, "app"), (uuid, UUID, "uuid"), (sha, SHA, "commit"),
                                 (token, TOKEN, "push token")):
        if not pattern.match(value):
            raise Refused(f"invalid {what}")
    if not cfg["registry"]:
        raise Refused("no registry is configured")
    owner = pwd.getpwnam(cfg["build_user"])
    workdir_fd = work_folder(cfg, workdir, owner)
    os.makedirs(cfg["scratch_dir"], mode=0o700, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=f"{app}-", dir=cfg["scratch_dir"])
    try:
        src = os.path.join(scratch, "src")
        os.mkdir(src, 0o755)
        copy_tree(workdir_fd, owner, src)
        link = escaping_link(src)
        if link:
            raise Refused(f"{printable(link)} is a symbolic link that points outside the repository, or not a "
                          "regular file. Commit the file itself.")
        text = read_dockerfile(src)
        token_owner(cfg, token, app, uuid)
        image = f"{cfg['registry']}/{app}:git-{sha[:8]}"
        docker_config = registry_login(scratch, cfg["registry"], token)
        env = dict(os.environ, DOCKER_CONFIG=docker_config)
        if text is not None:
            auths = {cfg["registry"]: {"username": "push", "password": token}}
            try:
                baseimages.prepare(text, auths, sys.stdout)
            except dockerfile.Unsafe as e:
                raise Refused(str(e)) from None
            with build_cgroup(cfg["cgroup_parent"], int(cfg["pids"])) as cgroup:
                rc = engine.build(dockerfile_query(cfg, image, uuid, cgroup), src, auths, float(cfg["timeout"]))
            if rc == 0:
                rc = subprocess.run(["docker", "push", "--quiet", image], env=env, stdin=subprocess.DEVNULL,
                                    check=False).returncode
            if rc != 0:
                if rc >= 124:
                    print(f" !     the build was stopped at its limits ({cfg['timeout']} s, {cfg['memory']} of "
                          f"memory, {cfg['pids']} processes)", flush=True)
                return rc
            hand_over(workdir_fd, "image", image.encode())
            return 0
        print("-----> No Dockerfile at the root, building with buildpacks", flush=True)
        release = os.path.join(scratch, "release.yml")
        cache = os.path.join(cfg["cache_dir"], uuid)
        env = dict(buildpack_env(cfg, app, token, release, owner), DOCKER_CONFIG=docker_config)
        if cfg["cache_url"]:
            env["SLIPWAY_CACHE_URL"] = f"{cfg['cache_url'].rstrip('/')}/{uuid}.tar.gz"
        else:
            os.makedirs(cache, mode=0o750, exist_ok=True)
            os.chown(cache, owner.pw_uid, owner.pw_gid)
            env["SLIPWAY_CACHE_DIR"] = cache
        driver = os.path.join(cfg["buildpacks_dir"], "build")
        rc = subprocess.run([driver, src, image], env=env, stdin=subprocess.DEVNULL, cwd=scratch,
                            check=False).returncode
        if rc == 0:
            hand_over(workdir_fd, "image", image.encode())
            if os.path.exists(release):
                with open(release, "rb") as data:
                    hand_over(workdir_fd, "release.yml", data.read(65536))
        return rc
    finally:
        os.close(workdir_fd)
        shutil.rmtree(scratch, ignore_errors=True)


def token_owner(cfg: dict[str, str], token: str, app: str, uuid: str) -> None:
    """The push token must be this app's (and so this uuid's, whose cache the build uses): asked of the
    controller, not taken from the caller."""
    from .common import Client, HTTPError
    if not cfg["controller_url"]:
        raise Refused("no controller is configured")
    try:
        answer = Client(cfg["controller_url"], {"X-Slipway-Push-Token": token}, ca_file=cfg["ca_file"] or None,
                        timeout=30).request("POST", "/v2/hooks/config/", {"receive_repo": app}).json() or {}
    except HTTPError as e:
        try:
            answer = json.loads(e.body)
            why = answer.get("detail") or "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in answer.items()
                                                    if isinstance(v, list))
        except (ValueError, AttributeError):
            why = ""
        why = why or f"the controller answered {e.status}"
        raise Refused(f"the push's credential is not {app}'s ({why})") from None
    if answer.get("app") != app or answer.get("uuid") != uuid:
        raise Refused(f"the push's credential is not {app}'s")


def registry_login(scratch: str, registry: str, token: str) -> str:
    """A docker CLI folder of this build's own, logged in to the registry with the push's token."""
    folder = os.path.join(scratch, "docker")
    os.mkdir(folder, 0o700)
    auth = base64.b64encode(f"push:{token}".encode()).decode()
    with open(os.open(os.path.join(folder, "config.json"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
        json.dump({"auths": {registry: {"auth": auth}}}, fh)
    return folder


def hand_over(workdir_fd: int, name: str, data: bytes) -> None:
    """A new file in the caller's folder, without following a link it may have put there."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=workdir_fd)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="slipway-sandbox", description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--config", default=CONFIG, help="(ignored through sudo)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    for name in ("app", "uuid", "sha", "workdir"):
        b.add_argument(name)
    args = ap.parse_args(argv)
    # through sudo, the configuration is root's own: neither its path nor any setting comes from the caller
    under_sudo = bool(os.environ.get("SUDO_USER"))
    path = CONFIG if under_sudo else args.config
    cfg = load_config("sandbox", DEFAULTS, path if os.path.exists(path) else None, environ={} if under_sudo else None)
    token = sys.stdin.readline().strip()
    try:
        return build(cfg, args.app, args.uuid, args.sha, args.workdir, token)
    except (Refused, OSError, KeyError) as e:
        print(f" !     Push rejected: {e}", flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
