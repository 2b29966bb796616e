"""Slipway host agents: the router's route sync and the builder's sshd pieces.

Standard library only (plus what Debian ships as python3-* packages): hosts have no PyPI.
Runs on Python 3.11-3.13. These programs talk to the controller over HTTP only.
"""

__version__ = "0.1.1"
