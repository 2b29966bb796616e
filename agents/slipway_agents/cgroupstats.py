"""Per-container CPU and memory, read from the kernel's cgroup files (node agent).

Where a container's cgroup is comes from its init process (`/proc/<pid>/cgroup`) and the cgroup mounts
(`/proc/self/mountinfo`), so cgroup v1, v2 and the hybrid layout, the cgroupfs and systemd drivers and any
cgroup parent are read the same way. When the process cannot be read, the two drivers' usual places are
tried: `<mount>/docker/<id>` (cgroupfs) and `<mount>/system.slice/docker-<id>.scope` (systemd).

- CPU: seconds used since the container started, a counter (v1 `cpuacct.usage`, v2 `cpu.stat` usage_usec).
  A graph or an autoscaler takes its rate between two reports.
- Memory: the working set in bytes, what `docker stats` shows and the OOM killer weighs: usage less the
  inactive file cache (v1 `memory.usage_in_bytes` - `total_inactive_file`, v2 `memory.current` -
  `inactive_file`).
"""
from __future__ import annotations

import dataclasses
import os
import re

OCTAL = re.compile(r"\\([0-7]{3})")


@dataclasses.dataclass(frozen=True)
class Place:
    """A container's cgroup folders: (version, folder) for CPU and for memory."""

    cpu: tuple[int, str] | None
    memory: tuple[int, str] | None


def _unescape(text: str) -> str:
    return OCTAL.sub(lambda m: chr(int(m.group(1), 8)), text)


def mounts(mountinfo: str) -> tuple[dict[str, tuple[str, str]], tuple[str, str] | None]:
    """({v1 controller: (root, mount point)}, (root, mount point) of cgroup2 or None)."""
    v1: dict[str, tuple[str, str]] = {}
    v2 = None
    with open(mountinfo, encoding="utf-8") as fh:
        for line in fh:
            left, sep, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if not sep or len(fields) < 5 or len(tail) < 3:
                continue
            root, point = _unescape(fields[3]), _unescape(fields[4])
            if tail[0] == "cgroup2":
                v2 = (root, point)
            elif tail[0] == "cgroup":
                for option in tail[2].split(","):
                    if option in ("cpuacct", "memory"):
                        v1.setdefault(option, (root, point))
    return v1, v2


def _under(mount: tuple[str, str], path: str) -> str:
    root, point = mount
    rel = os.path.relpath(path, root) if root != "/" else path.lstrip("/")
    return os.path.normpath(os.path.join(point, rel))


class Cgroups:
    def __init__(self, proc: str = "/proc"):
        self.proc = proc
        try:
            self.v1, self.v2 = mounts(os.path.join(proc, "self", "mountinfo"))
        except OSError:
            self.v1, self.v2 = {}, None

    def _mount(self, controller: str) -> tuple[int, tuple[str, str]] | None:
        if controller in self.v1:
            return 1, self.v1[controller]
        if self.v2 is not None:
            return 2, self.v2
        return None

    def locate(self, pid: int, container: str) -> Place:
        found: dict[str, tuple[int, str]] = {}
        paths: dict[str, str] = {}
        try:
            with open(os.path.join(self.proc, str(pid), "cgroup"), encoding="utf-8") as fh:
                for line in fh:
                    hierarchy, _unused, rest = line.rstrip("\n").partition(":")
                    controllers, _unused, path = rest.partition(":")
                    if hierarchy == "0" and not controllers:
                        paths["v2"] = path
                    for c in controllers.split(","):
                        paths[c] = path
        except (OSError, ValueError):
            paths = {}
        for controller in ("cpuacct", "memory"):
            mount = self._mount(controller)
            if mount is None:
                continue
            version, where = mount
            path = paths.get(controller if version == 1 else "v2")
            if path is not None and pid > 0:
                folder = _under(where, path)
            else:
                folder = next((f for f in (os.path.join(where[1], "docker", container),
                                           os.path.join(where[1], "system.slice", f"docker-{container}.scope"))
                               if os.path.isdir(f)), "")
            if folder and os.path.isdir(folder):
                found[controller] = (version, folder)
        return Place(cpu=found.get("cpuacct"), memory=found.get("memory"))


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def _stat(path: str) -> dict[str, int]:
    out = {}
    for line in _read(path).splitlines():
        key, _unused, value = line.partition(" ")
        if value.strip().isdigit():
            out[key] = int(value)
    return out


def cpu_seconds(place: Place) -> float | None:
    if place.cpu is None:
        return None
    version, folder = place.cpu
    try:
        if version == 1:
            return int(_read(os.path.join(folder, "cpuacct.usage"))) / 1e9
        return _stat(os.path.join(folder, "cpu.stat"))["usage_usec"] / 1e6
    except (OSError, ValueError, KeyError):
        return None


def memory_bytes(place: Place) -> int | None:
    if place.memory is None:
        return None
    version, folder = place.memory
    try:
        if version == 1:
            usage = int(_read(os.path.join(folder, "memory.usage_in_bytes")))
            inactive = _stat(os.path.join(folder, "memory.stat")).get("total_inactive_file", 0)
        else:
            usage = int(_read(os.path.join(folder, "memory.current")))
            inactive = _stat(os.path.join(folder, "memory.stat")).get("inactive_file", 0)
    except (OSError, ValueError):
        return None
    return max(0, usage - inactive)
