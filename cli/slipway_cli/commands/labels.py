"""labels:list, labels:set, labels:unset: free key/value labels of an app (a setting: no new release)."""
from __future__ import annotations

import re

from slipway_cli.commands.mapping import Mapping

GROUP = "Labels"
# the controller checks labels as Deis (Kubernetes) spells them; this only catches typos early
LABELS = Mapping("labels", "Labels", "label", re.compile(r"([a-z0-9.-]+/)?[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?\Z"),
                 "letters, digits, . _ - (and a prefix/)", lambda client, app: client.settings(app).get("label"),
                 lambda client, app, delta: client.set_settings(app, label=delta))


def register(cmd):
    LABELS.register(cmd, "show the app's labels",
                    "label the app, e.g. labels:set team=shop git_repo=example.com-shop.git", "remove labels")
