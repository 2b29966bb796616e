"""Profiles: where the CLI keeps the controller URL, the token and the trusted CA.

A profile is a JSON file `<SLIPWAY_HOME>/<name>.json` (SLIPWAY_HOME defaults to ~/.slipway, the profile name
to `client`, chosen with SLIPWAY_PROFILE or --profile). SLIPWAY_PROFILE may also be a path to a .json file.
The file holds a token, so it is written with mode 0600 in a 0700 directory.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile

DEFAULT_PROFILE = "client"


class ProfileError(Exception):
    pass


def home_dir() -> str:
    return os.path.expanduser(os.environ.get("SLIPWAY_HOME") or os.path.join("~", ".slipway"))


def profile_name(explicit: str | None = None) -> str:
    return explicit or os.environ.get("SLIPWAY_PROFILE") or DEFAULT_PROFILE


def profile_path(explicit: str | None = None) -> str:
    name = profile_name(explicit)
    if os.sep in name or name.endswith(".json"):
        return os.path.abspath(os.path.expanduser(name))
    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ProfileError(f"invalid profile name {name!r}")
    return os.path.join(home_dir(), name + ".json")


@dataclasses.dataclass
class Profile:
    path: str
    url: str | None = None
    username: str | None = None
    token: str | None = None
    ca: str | None = None          # path of a PEM bundle to trust for the controller
    builder_host: str | None = None
    builder_port: int = 2222

    @property
    def name(self) -> str:
        base = os.path.basename(self.path)
        return base[:-5] if base.endswith(".json") else base

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("path")
        return {k: v for k, v in d.items() if v is not None}

    def __repr__(self) -> str:  # never show the token, even in a traceback
        return (f"Profile(path={self.path!r}, url={self.url!r}, username={self.username!r}, "
                f"token={'***' if self.token else None}, ca={self.ca!r})")


def load(explicit: str | None = None) -> Profile:
    path = profile_path(explicit)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return Profile(path=path)
    except (OSError, ValueError) as e:
        raise ProfileError(f"cannot read profile {path}: {e}") from e
    if not isinstance(data, dict):
        raise ProfileError(f"profile {path} is not a JSON object")
    # Deis client.json used "controller"; accept it.
    url = data.get("url") or data.get("controller")
    port = data.get("builder_port") or 2222
    return Profile(path=path, url=url, username=data.get("username"), token=data.get("token"),
                   ca=data.get("ca"), builder_host=data.get("builder_host"), builder_port=int(port))


def save(profile: Profile) -> None:
    directory = os.path.dirname(profile.path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".profile-", dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(profile.to_dict(), f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, profile.path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    os.chmod(profile.path, 0o600)


def delete(profile: Profile) -> None:
    try:
        os.unlink(profile.path)
    except FileNotFoundError:
        pass


def store_ca(profile: Profile, ca_file: str) -> str:
    """Copy a CA bundle next to the profile (so the profile keeps working if the original moves)."""
    src = os.path.abspath(os.path.expanduser(ca_file))
    try:
        with open(src, encoding="utf-8") as f:
            pem = f.read()
    except OSError as e:
        raise ProfileError(f"cannot read CA file {ca_file}: {e.strerror or e}") from e
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise ProfileError(f"{ca_file} does not contain a PEM certificate")
    directory = os.path.dirname(profile.path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    dest = os.path.join(directory, profile.name + ".ca.pem")
    if os.path.abspath(dest) != src:
        shutil.copyfile(src, dest)
        os.chmod(dest, 0o644)
    return dest
