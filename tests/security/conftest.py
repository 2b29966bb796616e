"""The adversarial suite's ground: the converged all-in-one host (tests/e2e's fixtures), strangers with fresh
accounts (tenant.py), and the outside server standing for the internet (tests/e2e/outside.py). Probes from tenant
code aim only at the test's own host containers, one connection per port.
"""
from tests.e2e.conftest import aio, user_factory  # noqa: F401  (the fixtures)
from tests.e2e.outside import outside  # noqa: F401
