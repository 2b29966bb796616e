"""What a tenant's Dockerfile makes the Engine fetch by itself (agents/slipway_agents/dockerfile.py), read as the
Engine's parser reads it: the forms that once passed the sandbox's check (a comment or an empty line inside a
continuation, an escape directive that is no directive, quotes inside a URL) and the images a build starts from."""
from __future__ import annotations

import pytest

from slipway_agents import baseimages, dockerfile

LEAKS = [
    "FROM x\nADD http://127.0.0.1:8888/buckets/ /b\n",
    "FROM x\nADD \\\n# a comment inside the continuation\nhttp://127.0.0.1:8888/buckets/ /b\n",
    "FROM x\nADD \\\n\nhttp://127.0.0.1:8888/buckets/ /b\n",
    "FROM x\nADD \\\n   \n  # indented comment\n  http://127.0.0.1:8888/ /b\n",
    "\n# escape=`\nFROM x\nADD \\\nhttp://127.0.0.1:8888/ /b\n",  # not a directive after an empty line
    "# escape=`\nFROM x\nADD `\nhttp://127.0.0.1:8888/ /b\n",
    "FROM x\nADD http:\"//\"127.0.0.1:8888/ /b\n",
    "FROM x\nADD http:\\//127.0.0.1:8888/ /b\n",
    "FROM x\nADD [\"http://127.0.0.1:8888/\", \"/b\"]\n",
    "FROM x\nadd\t${URL} /u\n",
    "FROM x\nONBUILD ADD git@example.test:a/b /g\n",
    "\ufeffFROM x\nADD https://169.254.169.254/latest/ /m\n",
]


@pytest.mark.parametrize("text", LEAKS)
def test_every_form_of_a_fetched_add_is_found(text):
    assert dockerfile.fetches(text), text


@pytest.mark.parametrize("text", [
    "FROM x\nADD app.tar.gz /srv/\nCOPY . /app\n",
    "FROM x\n# ADD http://example.test/ /x in a comment\nRUN curl -fsS https://example.test/ -o /x\n",
])
def test_what_the_sandbox_fetches_itself_passes(text):
    assert dockerfile.fetches(text) == ""


def test_the_images_a_build_starts_from():
    text = ("ARG BASE=\"debian:trixie\"\nARG TAG=3\nFROM --platform=linux/amd64 $BASE AS build\n"
            "RUN make\nFROM build AS test\nFROM registry.example.test:5000/team/run:${TAG}\n"
            "COPY --from=build /out /out\nCOPY --from=0 /a /a\nCOPY --from=quay.io/x/y:1 /b /b\nFROM scratch\n")
    assert dockerfile.images(text) == ["debian:trixie", "registry.example.test:5000/team/run:3", "quay.io/x/y:1"]


def test_an_image_named_by_a_variable_without_a_default_is_refused():
    with pytest.raises(dockerfile.Unsafe, match="no default"):
        dockerfile.images("ARG BASE\nFROM $BASE\n")


@pytest.mark.parametrize("ref, parts", [
    ("debian", ("docker.io", "debian", "latest")),
    ("debian:trixie", ("docker.io", "debian", "trixie")),
    ("slipway-aio:5000/slipway/stack:trixie", ("slipway-aio:5000", "slipway/stack", "trixie")),
    ("localhost/a", ("localhost", "a", "latest")),
    ("r.example.test/a/b@sha256:" + "0" * 64, ("r.example.test", "a/b", "sha256:" + "0" * 64)),
])
def test_references_parse_as_the_docker_cli_reads_them(ref, parts):
    assert baseimages.parse(ref) == parts


@pytest.mark.parametrize("registry", ["127.0.0.1:5001", "localhost:5001", "[::1]:5001", "0.0.0.0:5000",
                                      "169.254.169.254", "localhost", "x.localhost:80"])
def test_registries_on_the_builder_itself_are_found(registry):
    assert baseimages.on_this_host(registry)


@pytest.mark.parametrize("registry", ["docker.io", "registry.example.test:5000", "192.0.2.10:5000"])
def test_other_registries_are_not_on_the_builder(registry):
    assert not baseimages.on_this_host(registry)


@pytest.mark.parametrize("trigger, problem", [
    ("ADD http://127.0.0.1:8888/ /x", "fetches"),
    ("COPY --from=other/image:1 /a /a", "copies from another image"),
    ("RUN make", ""),
    ("COPY . /app", ""),
])
def test_base_image_triggers(trigger, problem):
    assert problem in dockerfile.trigger_problem(trigger) and bool(dockerfile.trigger_problem(trigger)) == bool(problem)


def test_the_platform_registrys_front_is_allowed_wherever_it_listens():
    platform = {"127.0.0.1:5000": {"username": "push", "password": "t"}}
    assert baseimages.allowed("127.0.0.1:5000", platform)
    assert not baseimages.allowed("127.0.0.1:5001", platform) and not baseimages.allowed("localhost:5000", platform)
    assert baseimages.allowed("registry.example.test", platform)
