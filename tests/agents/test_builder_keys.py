"""sshd's key look-ups through slipway-builder-keys, with a real private sshd and real git pushes: one request to
the controller per connection (sshd asks twice), an answer that serves that connection alone, and a deleted key
refused at the next one."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from test_builder import AGENT, GIT_USER, Builder, Client, ensure_git_user, fc, keygen  # noqa: F401 (fixture)

KEYS = os.path.join(os.path.dirname(AGENT), "slipway-builder-keys")


@pytest.fixture
def cached(workdir, fc):
    """A builder whose sshd keeps each connection's key answer, alice's key known to the controller."""
    git = ensure_git_user()
    cache = os.path.join(workdir, "key-cache")
    os.makedirs(cache, mode=0o700)
    os.chown(cache, git.pw_uid, git.pw_gid)
    key = os.path.join(workdir, "alice_key")
    fingerprint = keygen(key)
    fc.keys[fingerprint] = "alice"
    fc.perms = {"myapp": {"alice"}}
    builder = Builder(workdir, fc.url, fc.builder_key, key_cache=cache)
    yield builder, cache, key, fingerprint
    builder.stop()


def test_one_controller_look_up_per_connection(cached, workdir, fc):
    builder, cache, key, fingerprint = cached
    alice = Client(workdir, "alice", builder, key)
    assert alice.push("myapp").returncode == 0
    assert fc.key_lookups == 1  # sshd asked twice, the controller once
    alice.commit("second")
    assert alice.push("myapp").returncode == 0
    assert fc.key_lookups == 2  # a new connection asks again


def test_a_deleted_key_is_refused_at_the_next_connection(cached, workdir, fc):
    builder, cache, key, fingerprint = cached
    alice = Client(workdir, "alice", builder, key)
    assert alice.push("myapp").returncode == 0
    del fc.keys[fingerprint]
    alice.commit("after the key was deleted")
    refused = alice.push("myapp")
    assert refused.returncode != 0 and "Permission denied" in refused.stderr


def test_an_answer_serves_its_own_connection_only(cached, fc):
    """Run as sshd would, from two parents: the second parent (another connection) is not answered from the
    first one's entry, and a user other than the one asked for is never answered from it."""
    builder, cache, key, fingerprint = cached
    key_type, key_b64 = open(key + ".pub").read().split()[:2]
    git = ensure_git_user()
    as_git = ["setpriv", f"--reuid={git.pw_uid}", f"--regid={git.pw_gid}", "--clear-groups"]

    def ask_twice(user: str) -> list[str]:
        """Two look-ups from one parent process (one sshd connection)."""
        script = "for i in 1 2; do \"$@\"; echo ---; done"
        out = subprocess.run([*as_git, "sh", "-c", script, "sh", KEYS, builder.ini, cache, user, fingerprint,
                              key_type, key_b64], capture_output=True, text=True, env={}, timeout=30).stdout
        return out.split("---\n")[:2]

    first, second = ask_twice(GIT_USER)
    assert "serve alice" in first and second == first and fc.key_lookups == 1
    assert len(os.listdir(cache)) == 1
    fc.fail_hooks = True  # the controller failing: a new connection gets no key from the old answer
    assert ask_twice(GIT_USER) == ["", ""]
    fc.fail_hooks = False
    assert ask_twice("root") == ["", ""]  # not the git user: the controller is not even asked
    shutil.rmtree(cache)
    assert "serve alice" in ask_twice(GIT_USER)[0]  # no cache folder: asked every time, still answered
