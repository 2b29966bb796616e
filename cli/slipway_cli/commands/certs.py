"""certs:list, certs:info, certs:add, certs:remove, certs:attach, certs:detach."""
from __future__ import annotations

from slipway_cli.client import CLIError
from slipway_cli.output import kv_block, print_json, records_table, short_date

GROUP = "Certificates"


def register(cmd):
    cmd("certs:list", do_list, "list TLS certificates", json=True)
    p = cmd("certs:info", do_info, "show a certificate", json=True)
    p.add_argument("name", metavar="NAME")
    p = cmd("certs:add", do_add, "upload a certificate (PEM chain) and its private key")
    p.add_argument("name", metavar="NAME")
    p.add_argument("cert_file", metavar="CERT_FILE")
    p.add_argument("key_file", metavar="KEY_FILE")
    p = cmd("certs:remove", do_remove, "delete a certificate")
    p.add_argument("name", metavar="NAME")
    p = cmd("certs:attach", do_attach, "serve a domain with a certificate")
    p.add_argument("name", metavar="NAME")
    p.add_argument("domain", metavar="DOMAIN")
    p = cmd("certs:detach", do_detach, "stop serving a domain with a certificate")
    p.add_argument("name", metavar="NAME")
    p.add_argument("domain", metavar="DOMAIN")


def do_list(ctx):
    body = ctx.client.certs()
    if ctx.json:
        print_json(body)
        return 0
    certs = body.get("results", [])
    if not certs:
        print("No certificates")
        return 0
    rows = [dict(c, expires=short_date(c.get("expires"))) for c in certs]
    print(records_table(rows, [("NAME", "name"), ("COMMON NAME", "common_name"), ("EXPIRES", "expires"),
                               ("DOMAINS", "domains"), ("SAN", "san")]))
    return 0


def do_info(ctx):
    c = ctx.client.cert(ctx.args.name)
    if ctx.json:
        print_json(c)
        return 0
    print(kv_block([("Name", c.get("name")), ("Common name", c.get("common_name")), ("SAN", c.get("san")),
                    ("Domains", c.get("domains")), ("Fingerprint", c.get("fingerprint")),
                    ("Issuer", c.get("issuer")), ("Subject", c.get("subject")),
                    ("Starts", short_date(c.get("starts"))), ("Expires", short_date(c.get("expires"))),
                    ("Owner", c.get("owner"))], title=f"{c.get('name')} Certificate"))
    return 0


def _read(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise CLIError(f"cannot read {what} {path}: {e.strerror or e}") from None
    if "-----BEGIN" not in text:
        raise CLIError(f"{path} is not a PEM {what}")
    return text


def do_add(ctx):
    a = ctx.args
    cert = _read(a.cert_file, "certificate")
    key = _read(a.key_file, "private key")
    if "PRIVATE KEY" not in key:
        raise CLIError(f"{a.key_file} does not hold a PEM private key")
    c = ctx.client.add_cert(a.name, cert, key)
    print(f"Added certificate {a.name}" + (f" ({c.get('common_name')})" if c and c.get("common_name") else ""))
    return 0


def do_remove(ctx):
    ctx.client.remove_cert(ctx.args.name)
    print(f"Removed certificate {ctx.args.name}")
    return 0


def do_attach(ctx):
    a = ctx.args
    ctx.client.attach_cert(a.name, a.domain)
    print(f"Attached certificate {a.name} to {a.domain}")
    return 0


def do_detach(ctx):
    a = ctx.args
    ctx.client.detach_cert(a.name, a.domain)
    print(f"Detached certificate {a.name} from {a.domain}")
    return 0
