"""Slipway controller: the Deis Workflow v2 compatible API server and its scheduler."""

__version__ = "0.1.1"
