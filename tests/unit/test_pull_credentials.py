"""Which images an app's private registry credentials go with (services/imagerefs.py, credentials_for)."""
from __future__ import annotations

import pytest

from controller_app.services.imagerefs import credentials_for

CREDS = {"username": "team", "password": "pw"}
PLATFORM = "registry.slipway.test:5000"


@pytest.mark.parametrize("image, credentials, used", [
    ("private.example.com:5443/team/shop:1", CREDS, True),  # no hostname: any registry...
    ("team/shop:1", CREDS, True),  # ...Docker Hub included...
    (f"{PLATFORM}/shop:abc", CREDS, False),  # ...but the platform's own, which authorizes its pulls itself
    ("registry.slipway.test:443/shop:abc", CREDS, False),  # whatever port it is spelled with
    ("private.example.com:5443/team/shop:1", {**CREDS, "hostname": "private.example.com:5443"}, True),
    ("other.example.com/team/shop:1", {**CREDS, "hostname": "private.example.com:5443"}, False),
    ("private.example.com:5443/team/shop:1", None, False),
    ("not a reference", CREDS, False),
])
def test_credentials_go_with_their_registrys_images_only(image, credentials, used):
    assert credentials_for(image, credentials, PLATFORM) == (credentials if used else None)
