"""How Docker failures become SchedulerErrors: messages never carry environment values."""
from __future__ import annotations

import contextlib
from typing import Iterable

import docker.errors
import requests.exceptions

from ..base import SchedulerError


def redact(message: str, secrets: Iterable[str]) -> str:
    for value in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        message = message.replace(value, "***")
    return message


@contextlib.contextmanager
def docker_errors(what: str, docker_url: str, secrets: Iterable[str] = ()):
    """Turn Docker SDK / transport errors into SchedulerError (values in `secrets` redacted)."""
    try:
        yield
    except SchedulerError:
        raise
    except docker.errors.APIError as exc:
        detail = exc.explanation or (exc.response.reason if exc.response is not None else str(exc))
        if isinstance(detail, bytes):
            detail = detail.decode(errors="replace")
        raise SchedulerError(f"{what}: {redact(str(detail), secrets)}") from None
    except docker.errors.DockerException as exc:
        raise SchedulerError(f"{what}: {redact(str(exc), secrets)}") from None
    except (requests.exceptions.RequestException, OSError) as exc:
        raise SchedulerError(f"{what}: cannot reach the Docker Engine at {docker_url} "
                             f"({type(exc).__name__})") from None
