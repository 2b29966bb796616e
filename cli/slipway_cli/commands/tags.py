"""tags:list, tags:set, tags:unset (placement constraints on node labels; each change is a new release)."""
from __future__ import annotations

import re

from slipway_cli.commands.mapping import Mapping

GROUP = "Tags"
TAGS = Mapping("tags", "Tags", "tag", re.compile(r"[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?\Z"),
               "letters, digits, . _ / -", lambda client, app: client.config(app).get("tags"),
               lambda client, app, delta: client.set_config(app, tags=delta))


def register(cmd):
    TAGS.register(cmd, "show the app's placement tags",
                  "run the app only on nodes with these labels, e.g. tags:set zone=eu (a new release)",
                  "remove placement tags (a new release)")
