"""The upgrade test's tools: converge the all-in-one host (molecule/default, created and prepared by molecule)
with an earlier commit of this repository, converge it again with this tree, and read which tasks changed.

Both converges use the scenario's own inventory (molecule's copy of inventories/local, with its secrets
folder), as an operator upgrading keeps their inventory and installs the newer collection over the old one.
"""
from __future__ import annotations

import os
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOST_ROLE = re.compile(r"^(TASK|RUNNING HANDLER) \[(?:(?P<role>[\w.]+) : )?(?P<task>.*?)\] \**$")
CHANGED = re.compile(r"^changed: \[")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def ephemeral_dir() -> pathlib.Path:
    """The default scenario's folder for this checkout, where molecule keeps its inventory and state."""
    given = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
    if given:
        return pathlib.Path(given)
    # imported here: importing molecule sets ANSIBLE_FORCE_COLOR for the whole test process
    from molecule.text import checksum  # pylint: disable=import-outside-toplevel
    return pathlib.Path.home() / ".ansible" / "tmp" / f"molecule.{checksum(ROOT.name, 4)}.default"


def tree(commit: str) -> pathlib.Path:
    """The commit's files in .cache/previous/<commit>, with its own collections path beside them: slipway.paas
    is that tree, the dependencies are this checkout's (molecule/install-collections.sh)."""
    path = ROOT / ".cache" / "previous" / commit
    if not path.is_dir():
        known = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"])
        assert known.returncode == 0, (f"commit {commit} is not in this clone's history: a shallow clone? "
                                       f"(git fetch --unshallow)")
        partial = path.with_suffix(".partial")
        partial.mkdir(parents=True, exist_ok=True)
        archive = subprocess.Popen(["git", "-C", str(ROOT), "archive", commit], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(partial)], stdin=archive.stdout, check=True)
        assert archive.wait() == 0
        partial.rename(path)
    collections = path / ".cache" / "collections" / "ansible_collections"
    (collections / "slipway").mkdir(parents=True, exist_ok=True)
    links = {collections / "slipway" / "paas": path}
    ours = ROOT / ".cache" / "collections" / "ansible_collections"
    links.update({collections / ns.name: ns for ns in ours.iterdir() if ns.name != "slipway"})
    for link, target in links.items():
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
    return path


def playbook(source: pathlib.Path, path: pathlib.Path, log: pathlib.Path, *extra: str) -> int:
    """Run a playbook with the roles, collection and controller code of `source` (this checkout or a commit's
    tree) against the scenario's inventory; the output goes to `log`. The exit code."""
    eph = ephemeral_dir()
    assert (eph / "inventory").is_dir(), f"{eph} holds no inventory: run `molecule create` first"
    collections = source / ".cache" / "collections"
    env = dict(os.environ, PATH=f"{ROOT}/.venv/bin:{os.environ.get('PATH', '')}", ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_CONFIG=str(eph / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_ROLES_PATH=str(source / "roles"),
               MOLECULE_EPHEMERAL_DIRECTORY=str(eph), SLIPWAY_CONTROLLER_SOURCE=str(source / "controller_app"))
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        return subprocess.run(["ansible-playbook", "-i", str(eph / "inventory"), str(path), *extra],
                              cwd=str(source), env=env, stdout=out, stderr=subprocess.STDOUT).returncode


def converge_previous(source: pathlib.Path, log: pathlib.Path) -> int:
    """Converge the host with a commit's tree (see tree) as molecule would, against the scenario's inventory."""
    return playbook(source, source / "molecule" / "default" / "converge.yml", log)


def converge_current(log: pathlib.Path) -> int:
    """`molecule converge` with this checkout (molecule then knows the host converged, for idempotence)."""
    env = dict(os.environ, PATH=f"{ROOT}/.venv/bin:{os.environ.get('PATH', '')}", ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    with log.open("w") as out:
        return subprocess.run(["molecule", "converge"], cwd=str(ROOT), env=env, stdout=out,
                              stderr=subprocess.STDOUT).returncode


def changed_tasks(log: pathlib.Path) -> list[tuple[str, str]]:
    """(role, task) of every task or handler that reported a change; role '' for a play's own tasks."""
    found, current = [], None
    for line in ANSI.sub("", log.read_text()).splitlines():
        line = line.strip()
        banner = HOST_ROLE.match(line)
        if banner:
            role = (banner.group("role") or "").rsplit(".", 1)[-1]
            current = (role, banner.group("task"))
        elif CHANGED.match(line) and current and current not in found:
            found.append(current)
    return found


def changed_files(commit: str) -> list[str]:
    """The repository's files that differ between the commit and this checkout's HEAD."""
    return subprocess.run(["git", "-C", str(ROOT), "diff", "--name-only", commit, "HEAD"], text=True,
                          capture_output=True, check=True).stdout.split()


def code_of(role: str) -> tuple[str, ...]:
    """Where a role's behaviour comes from: its folder, the programs it installs on hosts, and for the builder
    the whole collection (it installs the collection the deploy playbook runs from)."""
    if role == "builder":
        return ("",)
    extra = {"controller": ("controller_app/", "agents/"), "": ("playbooks/", "molecule/default/")}
    agents = ("agents/",) if role in {"common", "monitor", "node", "registry", "router"} else ()
    return (f"roles/{role}/",) + extra.get(role, agents)
