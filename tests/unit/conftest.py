"""Make this tree importable as ``ansible_collections.slipway.paas`` for plain pytest runs from the repo root.

ansible-test does this itself (it runs from .../ansible_collections/slipway/paas); plain pytest gets a temp
directory holding ``ansible_collections/slipway/paas`` as a symlink to the repo root.
"""
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _collection_root():
    here = ROOT.replace(os.sep, '/').split('/')
    if len(here) >= 3 and here[-3] == 'ansible_collections':
        return os.sep.join(here[:-3]) or os.sep  # already laid out as a collection
    base = tempfile.mkdtemp(prefix='slipway-collection-')
    os.makedirs(os.path.join(base, 'ansible_collections', 'slipway'))
    os.symlink(ROOT, os.path.join(base, 'ansible_collections', 'slipway', 'paas'))
    return base


try:
    import importlib
    importlib.import_module('ansible_collections.slipway.paas.plugins.module_utils.api')
except ImportError:
    sys.path.insert(0, _collection_root())
    for name in [m for m in sys.modules if m == 'ansible_collections' or m.startswith('ansible_collections.')]:
        del sys.modules[name]
