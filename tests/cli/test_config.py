"""Profiles: location, environment variables, file modes, CA storage."""
from __future__ import annotations

import json
import os
import stat

import pytest

from slipway_cli import config

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_default_location(home):
    p = config.load()
    assert p.path == str(home / ".slipway" / "client.json")
    assert p.url is None and p.token is None


def test_home_and_profile_env(home, tmp_path, monkeypatch):
    monkeypatch.setenv("SLIPWAY_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("SLIPWAY_PROFILE", "staging")
    assert config.load().path == str(tmp_path / "elsewhere" / "staging.json")
    assert config.load("prod").path == str(tmp_path / "elsewhere" / "prod.json")  # --profile wins
    monkeypatch.setenv("SLIPWAY_PROFILE", str(tmp_path / "x" / "p.json"))
    assert config.load().path == str(tmp_path / "x" / "p.json")


def test_bad_profile_name(home, monkeypatch):
    monkeypatch.setenv("SLIPWAY_PROFILE", "a b;c")
    with pytest.raises(config.ProfileError):
        config.load()


def test_save_modes_and_roundtrip(home):
    p = config.load()
    p.url, p.username, p.token, p.builder_host = "https://s.example.com", "alice", "secret-token", "b.example.com"
    config.save(p)
    assert mode(p.path) == 0o600
    assert mode(os.path.dirname(p.path)) == 0o700
    q = config.load()
    assert (q.url, q.username, q.token, q.builder_host, q.builder_port) == \
        ("https://s.example.com", "alice", "secret-token", "b.example.com", 2222)
    assert json.load(open(p.path))["token"] == "secret-token"
    # no temp files left behind
    assert os.listdir(os.path.dirname(p.path)) == ["client.json"]


def test_save_tightens_existing_file_mode(home):
    p = config.load()
    os.makedirs(os.path.dirname(p.path))
    with open(p.path, "w") as f:
        f.write("{}")
    os.chmod(p.path, 0o644)
    p.token = "t"
    config.save(p)
    assert mode(p.path) == 0o600


def test_repr_hides_token(home):
    p = config.load()
    p.token = "supersecret"
    assert "supersecret" not in repr(p)


def test_deis_style_controller_key(home):
    path = config.profile_path()
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as f:
        json.dump({"controller": "http://d.example.com", "token": "t", "username": "u"}, f)
    assert config.load().url == "http://d.example.com"


def test_corrupt_profile(home):
    path = config.profile_path()
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as f:
        f.write("{not json")
    with pytest.raises(config.ProfileError):
        config.load()


def test_store_ca_copies_into_home(home, tmp_path):
    src = tmp_path / "ca.pem"
    src.write_text(PEM)
    p = config.load()
    dest = config.store_ca(p, str(src))
    assert dest == str(home / ".slipway" / "client.ca.pem")
    assert open(dest).read() == PEM
    bad = tmp_path / "bad.pem"
    bad.write_text("hello")
    with pytest.raises(config.ProfileError):
        config.store_ca(p, str(bad))
    with pytest.raises(config.ProfileError):
        config.store_ca(p, str(tmp_path / "missing.pem"))
