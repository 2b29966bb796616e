"""The end-to-end CLI tests' user shell: the real CLI (a `python -m slipway_cli` subprocess) with its own HOME.

Every run also checks that no token ever shows up in the CLI's output.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from tests.live import ROOT

CLI_DIR = os.path.join(ROOT, "cli")


class Session:
    """One user's shell: its own HOME and SLIPWAY_HOME, running the CLI as a subprocess."""

    def __init__(self, ctl, home):
        self.ctl = ctl
        self.home = str(home)
        self.work = os.path.join(self.home, "work")
        os.makedirs(self.work, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SLIPWAY_")}
        self.env.update({
            "HOME": self.home, "SLIPWAY_HOME": os.path.join(self.home, ".slipway"), "PYTHONPATH": CLI_DIR,
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
        })

    @property
    def profile_path(self):
        return os.path.join(self.home, ".slipway", "client.json")

    def profile(self):
        try:
            with open(self.profile_path) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def run(self, *args, input=None, cwd=None, env=None):
        before = self.profile().get("token")
        r = subprocess.run([sys.executable, "-m", "slipway_cli", *args], env=dict(self.env, **(env or {})),
                           cwd=cwd or self.work, input=input, capture_output=True, text=True, timeout=240)
        after = self.profile().get("token")
        for token in {before, after} - {None}:
            assert token not in r.stdout and token not in r.stderr, f"token printed by {args}"
        return r

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        assert r.returncode == 0, f"slipway {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r.stdout

    def fails(self, *args, match=None, **kw):
        r = self.run(*args, **kw)
        assert r.returncode == 1, f"slipway {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}"
        assert r.stderr.startswith("Error: "), r.stderr
        assert "Traceback" not in r.stderr
        if match:
            assert re.search(match, r.stderr), r.stderr
        return r.stderr

    def json(self, *args, **kw):
        return json.loads(self.ok(*args, "--json", **kw))


def new_user(admin, tmp_path_factory, name):
    """Register NAME through the admin's session (which stays logged in as admin), then log NAME in."""
    out = admin.ok("register", admin.ctl.url, "--username", name, "--password", f"pw-{name}-123")
    assert f"Registered {name}" in out and "Logged in" not in out
    assert admin.profile()["username"] == "admin"
    s = Session(admin.ctl, tmp_path_factory.mktemp(name))
    # the password on stdin, as scripts do it
    assert f"Logged in as {name}" in s.ok("login", admin.ctl.url, "--username", name, input=f"pw-{name}-123\n")
    return s
