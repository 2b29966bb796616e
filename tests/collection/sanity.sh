#!/usr/bin/env bash
# Run `ansible-test sanity` on the collection content only.
# ansible-test needs the tree under .../ansible_collections/slipway/paas/, and the repo also holds code that is
# not collection content (controller_app/, cli/, agents/, scripts/, bench/, their tests, the venv), so this copies
# the collection's own paths into a temp dir and runs there. Extra args go to ansible-test
# (default: --python 3.11 --local). Needs ansible-core from the repo's .venv.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV=${SLIPWAY_VENV:-$ROOT/.venv}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DEST=$WORK/ansible_collections/slipway/paas
mkdir -p "$DEST"
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
cd "$ROOT"
# Collection content: what galaxy.yml ships, minus the non-collection Python trees.
for p in galaxy.yml README.md LICENSE meta plugins roles playbooks changelogs docs \
         tests/unit tests/integration tests/sanity tests/config.yml; do
  [ -e "$p" ] && mkdir -p "$DEST/$(dirname "$p")" && cp -a "$p" "$DEST/$p"
done
find "$DEST" \( -name __pycache__ -o -name .pytest_cache \) -prune -exec rm -rf {} +
cd "$DEST"
export PATH="$VENV/bin:$PATH"
if [ $# -eq 0 ]; then set -- --python 3.11 --local; fi
ansible-test sanity --color no "$@"
