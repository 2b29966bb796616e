"""registry:list, registry:set, registry:unset: a private registry's credentials for an app's images (a new
release; the password is never shown back)."""
from __future__ import annotations

import re

from slipway_cli.commands.mapping import Mapping

GROUP = "Registry"
REGISTRY = Mapping("registry", "Registry settings", "registry setting", re.compile(r"(username|password|hostname)\Z"),
                   "username, password or hostname", lambda client, app: client.config(app).get("registry"),
                   lambda client, app, delta: client.set_config(app, registry=delta), note=" (a new release)",
                   echo_values=False)


def register(cmd):
    REGISTRY.register(cmd, "show the app's private registry settings (the password masked)",
                      "set the credentials its images are pulled with, e.g. registry:set username=team password=... "
                      "(hostname=registry.example.com:5000 when the image's name does not say)",
                      "remove them, e.g. registry:unset username password")
