"""keys:list, keys:add, keys:remove."""
from __future__ import annotations

import glob
import os
import re

from slipway_cli.errors import CLIError
from slipway_cli.context import ask, stdin_is_tty
from slipway_cli.output import print_json, records_table

GROUP = "SSH keys"

KEY_TYPES = ("ssh-rsa", "ssh-ed25519", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
             "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")


def register(cmd):
    cmd("keys:list", do_list, "list your SSH keys", json=True)
    p = cmd("keys:add", do_add, "add an SSH public key (default: ~/.ssh/id_*.pub)")
    p.add_argument("path", metavar="FILE", nargs="?", help="public key file")
    p.add_argument("--id", dest="key_id", help="name of the key (default: the key's comment, else the file name)")
    p = cmd("keys:remove", do_remove, "remove an SSH key")
    p.add_argument("key_id", metavar="ID")


def find_default_keys(home: str | None = None) -> list[str]:
    home = home or os.path.expanduser("~")
    return sorted(glob.glob(os.path.join(home, ".ssh", "id_*.pub")))


def parse_public_key(text: str, path: str) -> tuple[str, str | None]:
    """-> (the key line, its comment). Refuses private keys and non-keys."""
    if "PRIVATE KEY" in text:
        raise CLIError(f"{path} is a private key: give the .pub file")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if len(lines) != 1:
        raise CLIError(f"{path} must hold exactly one public key line")
    parts = lines[0].split(None, 2)
    if len(parts) < 2 or parts[0] not in KEY_TYPES or not re.fullmatch(r"[A-Za-z0-9+/]+={0,3}", parts[1]):
        raise CLIError(f"{path} is not an OpenSSH public key (expected e.g. `ssh-ed25519 AAAA... comment`)")
    return lines[0], (parts[2].strip() if len(parts) > 2 else None)


def key_id_for(comment: str | None, path: str) -> str:
    if comment and re.fullmatch(r"[A-Za-z0-9@._+-]{1,128}", comment):
        return comment
    name = os.path.basename(path)
    return name[:-4] if name.endswith(".pub") else name


def do_list(ctx):
    body = ctx.client.keys()
    if ctx.json:
        print_json(body)
        return 0
    keys = body.get("results", [])
    if not keys:
        print("No SSH keys. Add one with `slipway keys:add`.")
        return 0
    rows = [dict(k, public=_short(k.get("public", ""))) for k in keys]
    print(records_table(rows, [("ID", "id"), ("FINGERPRINT", "fingerprint_sha256"), ("KEY", "public")]))
    return 0


def _short(public: str) -> str:
    parts = public.split()
    if len(parts) >= 2 and len(parts[1]) > 20:
        return f"{parts[0]} {parts[1][:8]}...{parts[1][-8:]}"
    return public


def do_add(ctx):
    a = ctx.args
    path = a.path
    if not path:
        found = find_default_keys()
        if not found:
            raise CLIError("no ~/.ssh/id_*.pub found: create one with ssh-keygen, or give the file")
        if len(found) == 1:
            path = found[0]
        elif stdin_is_tty():
            print("Found these SSH public keys:")
            for i, f in enumerate(found, 1):
                print(f"  {i}) {f}")
            choice = ask("Which one to add? ").strip()
            if not choice.isdigit() or not 1 <= int(choice) <= len(found):
                raise CLIError("no key chosen")
            path = found[int(choice) - 1]
        else:
            raise CLIError("several keys found (" + ", ".join(found) + "): give the file")
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise CLIError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    public, comment = parse_public_key(text, path)
    key_id = a.key_id or key_id_for(comment, path)
    key = ctx.client.add_key(key_id, public)
    fp = (key or {}).get("fingerprint_sha256") or (key or {}).get("fingerprint") or ""
    print(f"Added SSH key {key_id} from {path}" + (f" ({fp})" if fp else ""))
    return 0


def do_remove(ctx):
    ctx.client.remove_key(ctx.args.key_id)
    print(f"Removed SSH key {ctx.args.key_id}")
    return 0
