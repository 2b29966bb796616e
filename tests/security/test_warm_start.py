"""The deploy's warm start (slipway-warmstart forks ansible-runner and ansible-playbook with the hook's
environment): what a stranger's ssh client sends cannot steer the Ansible that runs their deploy. sshd accepts
GIT_PROTOCOL alone; an ANSIBLE_* variable would pick a template of the stranger's choosing and run their
vault password "file" on the builder. (The builds' view of the warm-start socket: probes.py, test_build_sandbox.)"""
from __future__ import annotations

import shlex

import pytest

from tests.e2e.conftest import push, sh

from .tenant import Marker, hello, push_tree, stranger, tree

pytestmark = pytest.mark.timeout(900)


def templates() -> int:
    """How many templates the warm-start server made: one per Ansible environment it was asked to run under."""
    journal = sh("journalctl -u slipway-warmstart -o cat", check=False).stdout
    return journal.count("for a new Ansible environment")


def test_a_pushers_environment_never_reaches_the_deploys_ansible(aio, user_factory):
    world = stranger(aio, user_factory, "env")
    rc, out = push_tree(world, hello(aio["registry"], "first"))
    assert rc == 0, out[-3000:]
    before = templates()
    marker = Marker()
    evil = f"{marker.path}.sh"
    sh(f"printf '#!/bin/sh\\n{marker.command}\\necho secret\\n' > {evil} && chmod 755 {evil}")
    tree(world["src"], hello(aio["registry"], "second"))
    # single-quoted: git runs GIT_SSH_COMMAND through a shell here, and the `$(...)` must reach the builder as text
    sent = (f"-o SetEnv=ANSIBLE_VAULT_PASSWORD_FILE={evil} -o SetEnv=ANSIBLE_CONFIG={evil} "
            f"-o 'SetEnv=GIT_PROTOCOL=version=2:$(sh${{IFS}}{evil})'")
    owner = world["owner"]
    ssh = owner.ssh + " " + sent
    p = sh(f"cd {world['src']} && GIT_SSH_COMMAND={shlex.quote(ssh)} git push --force "
           f"git@127.0.0.1:{world['app']}.git HEAD:main 2>&1", check=False, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:]
    assert not marker.made(), "a pusher's environment ran on the builder"
    assert templates() == before  # the deploy forked from the platform's own template
    assert push(owner, world["app"], world["src"])[0] == 0
