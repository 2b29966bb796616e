#!/usr/bin/env bash
# Install the collections of molecule/requirements.yml into .cache/collections (git-ignored, set as
# collections_path in ansible.cfg), and link this repository there as slipway.paas.
# With an argument, install them into that collections path instead (DIR/ansible_collections/...), without the
# link: the dependencies of the built collection, which `ansible-galaxy collection install --offline` then finds
# there (tests/collection/sanity.sh).
# Without Galaxy (CI and air-gapped sites reach PyPI at most), the collections come from the `ansible` package on PyPI, which
# bundles them at the versions requirements.yml names. Idempotent; fast when already installed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ANSIBLE_PKG=${SLIPWAY_ANSIBLE_PKG_VERSION:-12.3.0}
PY=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || PY=python3
mkdir -p "$ROOT/.cache/pip"
if [ $# -gt 0 ]; then
  mkdir -p "$1/ansible_collections"
  DEST=$(cd "$1/ansible_collections" && pwd)
else
  DEST=$ROOT/.cache/collections/ansible_collections
  mkdir -p "$DEST/slipway"
  ln -sfn "$ROOT" "$DEST/slipway/paas"
fi

"$PY" - "$ROOT" "$DEST" "$ANSIBLE_PKG" <<'PYEOF'
import glob, json, os, shutil, subprocess, sys, zipfile
root, dest, version = sys.argv[1:4]
wanted = {}
name = None
for line in open(os.path.join(root, "molecule", "requirements.yml")):
    line = line.strip()
    if line.startswith("- name:"):
        name = line.split(":", 1)[1].strip()
    elif line.startswith("version:") and name:
        wanted[name] = line.split(":", 1)[1].strip()
def installed(coll):
    path = os.path.join(dest, *coll.split("."), "MANIFEST.json")
    try:
        return json.load(open(path))["collection_info"]["version"]
    except OSError:
        return None
missing = {c: v for c, v in wanted.items() if installed(c) != v}
if not missing:
    sys.exit(0)
cache = os.path.join(root, ".cache", "pip")
wheels = glob.glob(os.path.join(cache, f"ansible-{version}-py3-none-any.whl"))
if not wheels:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", cache,
                    f"ansible=={version}"], check=True)
    wheels = glob.glob(os.path.join(cache, f"ansible-{version}-py3-none-any.whl"))
with zipfile.ZipFile(wheels[0]) as z:
    for coll, want in missing.items():
        prefix = "ansible_collections/" + coll.replace(".", "/") + "/"
        target = os.path.join(dest, *coll.split("."))
        shutil.rmtree(target, ignore_errors=True)
        for member in z.namelist():
            if member.startswith(prefix):
                z.extract(member, os.path.dirname(dest))
        got = installed(coll)
        if got != want:
            sys.exit(f"{coll}: wanted {want}, the ansible {version} package has {got}")
        print(f"installed {coll} {got}")
PYEOF
