"""The app id rule: a DNS label that starts with a letter (a-z, 0-9 and '-', at most 63 characters, no '-' at
either end), since an app is served at `<app>.<platform domain>` and names its Swarm services.

The CLI, the collection and the host agents hold the same pattern (they never import the controller);
tests/codebase/test_app_id_pattern.py compares them.
"""
import re

APP_ID_PATTERN = r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
APP_ID = re.compile(APP_ID_PATTERN)
