# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""slipway.paas.cert runs inside ansible-playbook when its task runs on the control node (plugin_utils.controller_action)."""

from __future__ import annotations

from ansible_collections.slipway.paas.plugins.modules.cert import CertModule
from ansible_collections.slipway.paas.plugins.plugin_utils.controller_action import ControllerAction


class ActionModule(ControllerAction):
    module_class = CertModule
