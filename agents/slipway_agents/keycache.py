"""One key look-up per SSH connection: sshd runs its AuthorizedKeysCommand twice for a key (when the client
offers it, then with its signature), and the second answer is the first one's.

An answer is kept in a file named after the sshd process that asked, its start time, the user and the key's
fingerprint; agents/bin/slipway-builder-keys (a shell script: no Python, no request) answers from it. No other
connection has that process and start time, so a deleted key still stops working at the next connection. The
folder is the git user's alone (sshd runs the command as that user); entries older than a minute are removed.
"""
from __future__ import annotations

import os
import re
import time

USER = re.compile(r"^[A-Za-z0-9_-]+$")
FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/=]+$")
KEEP_SECONDS = 60


def entry(directory: str, pid: int, user: str, fingerprint: str) -> str | None:
    """The cache file for this connection's answer, or None (no cache, or values the shell side skips too)."""
    if not directory or not USER.match(user) or not FINGERPRINT.match(fingerprint):
        return None
    try:
        with open(f"/proc/{pid}/stat") as fh:
            started = fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None
    return os.path.join(directory, f"{pid}-{started}-{user}-{fingerprint.translate(str.maketrans('/+', '_-'))}")


def remember(directory: str, user: str, fingerprint: str, line: str) -> None:
    """Keep the answer for the rest of this connection (sshd is our parent); forget the old ones."""
    path = entry(directory, os.getppid(), user, fingerprint)
    if path is None:
        return
    now = time.time()
    try:
        for old in os.scandir(directory):
            if old.stat(follow_symlinks=False).st_mtime < now - KEEP_SECONDS:
                os.unlink(old.path)
        temporary = f"{path}.{os.getpid()}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(line)
        os.rename(temporary, path)
    except OSError:
        pass  # a cache: the next look-up asks the controller again
