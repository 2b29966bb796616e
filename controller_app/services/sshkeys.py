"""OpenSSH public key parsing: validated by loading it, fingerprinted as MD5 colon-hex and SHA256."""
from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.hazmat.primitives.serialization import load_ssh_public_key

ALLOWED = ("ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
           "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")


class BadKey(ValueError):
    pass


def parse(public: str) -> tuple[str, str, str]:
    """Return (normalized "type base64 [comment]", md5 fingerprint, sha256 fingerprint)."""
    parts = public.strip().split()
    if len(parts) < 2 or parts[0] not in ALLOWED:
        raise BadKey("Key contains invalid base64 chars or is not an OpenSSH public key "
                     "(expected e.g. 'ssh-ed25519 AAAA... comment').")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise BadKey("Key contains invalid base64 chars.") from None
    if not parts[0].startswith("sk-"):
        try:
            load_ssh_public_key(f"{parts[0]} {parts[1]}".encode())
        except (ValueError, TypeError) as exc:
            raise BadKey(f"Invalid {parts[0]} key: {exc}") from None
    md5 = hashlib.md5(blob).hexdigest()  # noqa: S324 (fingerprint format, not security)
    md5_fp = ":".join(md5[i:i + 2] for i in range(0, 32, 2))
    sha_fp = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return " ".join(parts[:3]), md5_fp, sha_fp
