"""The builder's sshd pieces: the AuthorizedKeysCommand, the forced command, and the pre-receive hook.

    slipway-builder [--config /etc/slipway/builder.ini] authorized-keys <user> <fingerprint> <type> <key>
    slipway-builder [--config ...] serve <username>          (forced command; reads SSH_ORIGINAL_COMMAND)
    slipway-builder [--config ...] pre-receive               (git hook; reads "old new ref" lines)

sshd (its own instance on port 2222 for the user `git`) runs `authorized-keys %u %f %t %k` (through
bin/slipway-builder-keys, which answers sshd's second question of a connection from the first: keycache.py); we
ask the controller who owns that key (GET /v2/hooks/key/{fingerprint}) and answer a single authorized_keys line
that forces `serve <username>`, so no authorized_keys file is ever synced and a deleted key stops working at
the next connection. `serve` accepts only git-receive-pack / git-upload-pack of `<app>.git`, asks the controller whether
the user may push (POST /v2/hooks/push/), creates the bare repo on first push with our pre-receive hook,
takes a per-app lock, and execs git. The hook deploys refs/heads/main (or master) by running the configured
deploy command, streaming its output to the pusher; a failing deploy rejects the push.

Settings (ini section [builder], or environment SLIPWAY_<NAME>):
  controller_url, builder_key (or builder_key_file), ca_file, timeout, git_user, repos_dir, lock_dir,
  agent (command line of this program as sshd and hooks run it), deploy_command (placeholders {app},
  {sha}, {user}, {repo}, {ident}), deploy_timeout, work_dir (where each push gets a scratch folder, given to
  the deploy as SLIPWAY_WORKDIR and removed afterwards; default the system's temporary folder), key_cache_dir
  (where a connection's key look-up is kept for sshd's second question: keycache.py), log_level.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
import sys
import time
import urllib.parse
from types import SimpleNamespace

from . import keycache
from .common import APP_ID, Client, HTTPError, load_config, setup_logging

# sshd starts this program up to four times per push (two key look-ups, the forced command, the hook): what only
# one of those needs (subprocess, tempfile, ...) is imported where it is used.

log = logging.getLogger("slipway.builder")

DEFAULTS = {
    "controller_url": "",
    "builder_key": "",
    "builder_key_file": "",
    "ca_file": "",
    "timeout": "10",
    "git_user": "git",
    "repos_dir": "/var/lib/slipway/repos",
    "lock_dir": "",
    "agent": "/opt/slipway/agents/bin/slipway-builder --config /etc/slipway/builder.ini",
    "deploy_command": "",
    "deploy_timeout": "3600",
    "work_dir": "",
    "key_cache_dir": "",
    "log_level": "INFO",
}

USERNAME = re.compile(r"^[A-Za-z0-9@.+_-]{1,150}$")
KEY_TYPE = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|"
                      r"sk-ecdsa-sha2-nistp256@openssh\.com|ssh-ed448)$")
KEY_B64 = re.compile(r"^[A-Za-z0-9+/]+={0,3}$")
SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,200}$")
ZERO = re.compile(r"^0+$")
# git-receive-pack 'app.git' | git-upload-pack '/app.git' | git receive-pack "app.git" | ... app.git
COMMAND = re.compile(r"^(git-receive-pack|git-upload-pack|git receive-pack|git upload-pack) +(.+)$")
DEPLOY_REFS = ("refs/heads/main", "refs/heads/master")


class Refused(Exception):
    """A clear message for the pusher (stderr) and a non-zero exit."""


def fingerprint_sha256(key_b64: str) -> str:
    blob = base64.b64decode(key_b64, validate=True)
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def client(cfg: dict[str, str]) -> Client:
    return Client(cfg["controller_url"], {"X-Deis-Builder-Auth": cfg["builder_key"]},
                  ca_file=cfg["ca_file"] or None, timeout=float(cfg["timeout"]))


# -- AuthorizedKeysCommand ----------------------------------------------------------------------------------
def authorized_keys(cfg: dict[str, str], user: str, fingerprint: str, key_type: str, key: str) -> str:
    """The authorized_keys line for this key, or "" (unknown key, wrong user, controller trouble)."""
    if user != cfg["git_user"]:
        return ""
    if not KEY_TYPE.match(key_type) or not KEY_B64.match(key):
        log.warning("refusing key of type %r: unexpected format", key_type)
        return ""
    try:
        computed = fingerprint_sha256(key)
    except (binascii.Error, ValueError):
        return ""
    if fingerprint and fingerprint.startswith("SHA256:") and fingerprint != computed:
        log.warning("fingerprint %s does not match the key (%s)", fingerprint, computed)
        return ""
    try:
        r = client(cfg).request("GET", "/v2/hooks/key/" + urllib.parse.quote(computed, safe=":"))
        username = (r.json() or {}).get("username")
    except HTTPError as e:
        if e.status == 404:
            log.info("unknown key %s", computed)
        else:
            log.error("controller answered %s for key %s", e.status, computed)
        return ""
    except (OSError, ValueError) as e:
        log.error("controller unreachable for key lookup: %s", e)
        return ""
    if not isinstance(username, str) or not USERNAME.match(username):
        log.error("controller returned an invalid username for %s", computed)
        return ""
    log.info("key %s belongs to %s", computed, username)
    command = f"{cfg['agent']} serve {username}"
    if '"' in command or "\\" in command:
        log.error("agent command line must not contain quotes or backslashes")
        return ""
    line = f'command="{command}",restrict {key_type} {key}\n'
    keycache.remember(cfg["key_cache_dir"], user, fingerprint, line)
    return line


# -- forced command ---------------------------------------------------------------------------------------------
def parse_command(original: str | None) -> tuple[str, str]:
    """SSH_ORIGINAL_COMMAND -> ("receive-pack" | "upload-pack", app)."""
    if not original or not original.strip():
        raise Refused("Interactive shells are not available. This account only accepts git push:\n"
                      "  git push slipway main")
    m = COMMAND.match(original.strip())
    if not m:
        raise Refused(f"Command refused: {original.strip()[:80]!r}. Only git push and git fetch are allowed.")
    verb = m.group(1).replace("git-", "").replace("git ", "")
    arg = m.group(2).strip()
    if len(arg) >= 2 and arg[0] == arg[-1] and arg[0] in "'\"":
        arg = arg[1:-1]
    if ".." in arg:
        raise Refused("Paths with '..' are refused.")
    if arg.startswith("/"):
        arg = arg[1:]
    if arg.endswith("/"):
        arg = arg[:-1]
    if not arg.endswith(".git"):
        arg += ".git"
    app = arg[:-4]
    if not APP_ID.match(app):
        raise Refused(f"{arg!r} is not a Slipway app repository: use <app>.git, with an app id made of "
                      "lower-case letters, digits and dashes.")
    return verb, app


def serve(cfg: dict[str, str], username: str, original: str | None) -> int:
    if not USERNAME.match(username or ""):
        raise Refused("Invalid user.")
    verb, app = parse_command(original)
    action = "push" if verb == "receive-pack" else "fetch"
    try:
        answer = client(cfg).request("POST", "/v2/hooks/push/", {"receive_user": username, "receive_repo": app,
                                                                 "action": action}).json() or {}
    except HTTPError as e:
        if e.status == 403:
            raise Refused(f"You may not push to {app}.") from None
        if e.status == 404:
            raise Refused(f"App {app} does not exist (or user {username} is unknown). "
                          "Create it first: slipway apps:create " + app) from None
        log.error("push check for %s/%s: %s", username, app, e)
        raise Refused("The Slipway controller refused the request; try again later.") from None
    except (OSError, ValueError) as e:
        log.error("push check for %s/%s: controller unreachable: %s", username, app, e)
        raise Refused("The Slipway controller is unreachable; try again later.") from None

    # The repository (and everything else kept per app) is the app's by its UUID: a destroyed app's name, made
    # again by someone else, starts empty.
    uuid, token = str(answer.get("uuid") or ""), str(answer.get("push_token") or "")
    if not UUID.match(uuid) or (action == "push" and not TOKEN.match(token)):
        log.error("push check for %s/%s: the controller's answer lacks the app's uuid or push credential", username, app)
        raise Refused("The Slipway controller refused the request; try again later.")
    env = dict(os.environ, SLIPWAY_APP=app, SLIPWAY_APP_UUID=uuid, SLIPWAY_USER=username)
    if token:
        env["SLIPWAY_PUSH_TOKEN"] = token
    if cfg.get("_config_path"):
        env["SLIPWAY_CONFIG"] = cfg["_config_path"]
    repo = os.path.join(cfg["repos_dir"], uuid + ".git")
    if verb == "upload-pack":
        if not os.path.isdir(os.path.join(repo, "objects")):
            raise Refused(f"{app} has no repository yet: push to it first.")
        log.info("%s fetches %s", username, app)
        os.execvpe("git", ["git", "upload-pack", repo], env)

    from . import receive
    try:
        return receive.receive(cfg, uuid, env)
    except receive.Busy:
        raise Refused(f"Another push to {app} is running; try again when it has finished.") from None
    finally:  # however the push ended (refused, deployed, failed, the pusher gone), its token ends with it
        receive.end_token(cfg, app, token)


# -- pre-receive hook ------------------------------------------------------------------------------------------
def say(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fail(message: str) -> int:
    for line in message.splitlines():
        say(f" !     {line}")
    return 1


def run_deploy(argv: list[str], env: dict[str, str], cwd: str, timeout: float) -> str:
    """Run the deploy command, streaming its output to the pusher; "" on success, else why it failed."""
    import subprocess
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env, cwd=cwd)
    except OSError as e:
        return f"Could not start the deploy: {e}"
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    for raw in iter(proc.stdout.readline, b""):
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        # Heroku-style: headings keep their arrow, everything else is indented under them
        say(text if text.startswith(("----->", " !")) else "       " + text)
        if time.monotonic() > deadline:
            proc.kill()
            break
    try:
        rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    if time.monotonic() > deadline:
        return f"Deploy timed out after {timeout:g}s; the running release is untouched."
    if rc != 0:
        return f"Deploy failed (exit {rc}); push rejected. The running release is untouched."
    return ""


def pre_receive(cfg: dict[str, str], lines: list[str]) -> int:
    import shlex
    import shutil
    import tempfile
    app, user = os.environ.get("SLIPWAY_APP", ""), os.environ.get("SLIPWAY_USER", "")
    uuid, token = os.environ.get("SLIPWAY_APP_UUID", ""), os.environ.get("SLIPWAY_PUSH_TOKEN", "")
    if not APP_ID.match(app) or not USERNAME.match(user) or not UUID.match(uuid) or not TOKEN.match(token):
        return fail("This repository only accepts pushes through Slipway.")
    deploy = None
    for line in lines:
        parts = line.split()
        if len(parts) != 3:
            continue
        old, new, ref = parts
        if ref not in DEPLOY_REFS:
            return fail(f"Only main (or master) deploys; you pushed {ref}.\n"
                        "To deploy this branch, push it as main:  git push slipway HEAD:main")
        if ZERO.match(new):
            return fail(f"Deleting {ref} is not allowed.")
        if not SHA.match(new):
            return fail(f"Unexpected object name {new!r}.")
        if deploy is not None and deploy[1] != new:
            return fail("Push either main or master, not both at once.")
        deploy = (ref, new)
    if deploy is None:
        return 0
    sha = deploy[1]
    command = cfg["deploy_command"]
    if not command:
        return fail("No deploy command is configured on this builder (deploy_command).")
    repo = os.path.abspath(os.environ.get("GIT_DIR", "."))
    ident = f"{app}-{sha[:12]}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}"
    values = {"{app}": app, "{sha}": sha, "{user}": user, "{repo}": repo, "{ident}": ident}
    argv = []
    for word in shlex.split(command):
        for placeholder, value in values.items():
            word = word.replace(placeholder, value)
        argv.append(word)
    # the push's scratch folder (the unpacked commit, build files): ours to remove, whatever the deploy did
    work = tempfile.mkdtemp(prefix=f"slipway-{app}-", dir=cfg["work_dir"] or None)
    env = dict(os.environ, GIT_DIR=repo, SLIPWAY_APP=app, SLIPWAY_APP_UUID=uuid, SLIPWAY_SHA=sha, SLIPWAY_USER=user,
               SLIPWAY_REPO=repo, SLIPWAY_DEPLOY_ID=ident, SLIPWAY_WORKDIR=work, PYTHONUNBUFFERED="1")
    say(f"-----> Deploying {app} ({sha[:8]}) for {user}")
    log.info("deploying %s %s for %s: %s", app, sha, user, argv)
    try:
        failure = run_deploy(argv, env, repo, float(cfg["deploy_timeout"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failure:
        return fail(failure)
    log.info("deployed %s %s for %s", app, sha, user)
    return 0


SHAPES = {"authorized-keys": ("user", "fingerprint", "type", "key"), "serve": ("username",), "pre-receive": ()}


def parse_args(argv: list[str]) -> SimpleNamespace:
    """sshd and git call this up to four times per push: their fixed argument shapes skip building an argparse
    parser (a tenth of the start-up); anything else gets argparse's usage and errors."""
    config = None
    if len(argv) >= 2 and argv[0] == "--config":
        config, argv = argv[1], argv[2:]
    if argv and argv[0] in SHAPES and len(argv) == 1 + len(SHAPES[argv[0]]):
        return SimpleNamespace(config=config, cmd=argv[0], **dict(zip(SHAPES[argv[0]], argv[1:])))
    return _argument_parser().parse_args(([] if config is None else ["--config", config]) + argv)


def _argument_parser():
    import argparse
    ap = argparse.ArgumentParser(prog="slipway-builder", description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--config", help="ini file with a [builder] section")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name, fields in SHAPES.items():
        command = sub.add_parser(name)
        for field in fields:
            command.add_argument(field)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)

    try:
        cfg = load_config("builder", DEFAULTS, args.config)
    except (OSError, ValueError) as e:
        sys.stderr.write(f"slipway-builder: configuration error: {e}\n")
        return 0 if args.cmd == "authorized-keys" else 2
    cfg["_config_path"] = args.config or os.environ.get("SLIPWAY_CONFIG", "")
    # sshd discards the key command's stderr; for serve/pre-receive stderr is the pusher's terminal,
    # so without syslog their logs go nowhere rather than into the push output
    setup_logging("slipway-builder", cfg["log_level"], syslog=True, stderr=args.cmd == "authorized-keys")

    if args.cmd == "authorized-keys":
        try:
            sys.stdout.write(authorized_keys(cfg, args.user, args.fingerprint, args.type, args.key))
        except Exception:  # never let sshd see a crash as anything but "no key"
            log.exception("authorized-keys failed")
        return 0
    if args.cmd == "serve":
        try:
            return serve(cfg, args.username, os.environ.get("SSH_ORIGINAL_COMMAND"))
        except Refused as e:
            sys.stderr.write("\n" + "".join(f" !     {line}\n" for line in str(e).splitlines()) + "\n")
            return 1
    return pre_receive(cfg, sys.stdin.read().splitlines())


if __name__ == "__main__":
    sys.exit(main())
