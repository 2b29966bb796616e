#!/usr/bin/env bash
# Run `ansible-test sanity` on the collection as users get it: build the artifact (`ansible-galaxy collection
# build`), install it with `ansible-galaxy collection install --offline` into a temp collections path that already
# holds its dependencies (taken the way molecule/install-collections.sh takes them), and run ansible-test in the
# installed copy. Extra args go to ansible-test (default: --python 3.11 --local).
# Environment: SLIPWAY_VENV (default: the repo's .venv) holds ansible-core; SLIPWAY_SANITY_DIR, when set, is used
# (and kept) instead of a temp dir, so its tarball and installed tree can be inspected afterwards.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV=${SLIPWAY_VENV:-$ROOT/.venv}
if [ -n "${SLIPWAY_SANITY_DIR:-}" ]; then
  WORK=$SLIPWAY_SANITY_DIR
  rm -rf "$WORK/dist" "$WORK/collections/ansible_collections/slipway"
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
fi
export PATH="$VENV/bin:$PATH"
# Only this run's collections path and settings: not the repo's ansible.cfg, nor collections installed elsewhere.
printf '[defaults]\n' > "$WORK/ansible.cfg"
export ANSIBLE_CONFIG=$WORK/ansible.cfg ANSIBLE_COLLECTIONS_PATH=$WORK/collections
# ansible-test bootstraps pip in its sanity venvs with a get-pip script from a host that a CI machine with
# only PyPI cannot reach; an equivalent built on Python's own ensurepip (then pip from PyPI) does the same job.
PIP_VERSION=$(grep -ho "pip='[0-9.]*'" "$VENV"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py \
  | head -n 1 | tr -dc '0-9.')
GET_PIP=$HOME/.ansible/test/cache/get_pip_${PIP_VERSION//./_}.py
if [ ! -s "$GET_PIP" ]; then
  mkdir -p "$(dirname "$GET_PIP")"
  cat > "$GET_PIP" <<'PY'
"""Stand-in for get-pip.py: ensurepip, then `pip install` with the given arguments."""
import subprocess
import sys
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade'], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)
PY
fi
ansible-galaxy collection build --output-path "$WORK/dist" "$ROOT" >/dev/null
TARBALL=$(ls "$WORK"/dist/slipway-paas-*.tar.gz)
PYTHON="$VENV/bin/python" "$ROOT/molecule/install-collections.sh" "$WORK/collections" >/dev/null
ansible-galaxy collection install --offline -p "$WORK/collections" "$TARBALL" >/dev/null
cd "$WORK/collections/ansible_collections/slipway/paas"
if [ $# -eq 0 ]; then set -- --python 3.11 --local; fi
ansible-test sanity --color no "$@"
