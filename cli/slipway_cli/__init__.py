"""The `slipway` command-line client. Talks to the controller over HTTP only."""
__version__ = "0.1.1"
