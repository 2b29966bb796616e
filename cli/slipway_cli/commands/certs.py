"""certs:list, certs:info, certs:add, certs:remove, certs:attach, certs:detach, and automatic TLS:
certs:auto, certs:auto:list, certs:auto:info, certs:auto:renew, certs:auto:remove."""
from __future__ import annotations

import time

from slipway_cli.errors import CLIError
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
    p = cmd("certs:auto", do_auto, "obtain a certificate for a domain from the platform's ACME CA (HTTP-01), "
            "attach it and keep it renewed", json=True)
    p.add_argument("domain", metavar="DOMAIN")
    p.add_argument("--no-wait", action="store_true", help="return at once; see certs:auto:info")
    p.add_argument("--wait", type=float, default=180, metavar="SECONDS",
                   help="how long to wait for the certificate (default 180)")
    cmd("certs:auto:list", do_auto_list, "list domains under automatic TLS", json=True)
    p = cmd("certs:auto:info", do_auto_info, "show a domain's automatic TLS status", json=True)
    p.add_argument("domain", metavar="DOMAIN")
    p = cmd("certs:auto:renew", do_auto_renew, "renew a domain's automatic certificate now", json=True)
    p.add_argument("domain", metavar="DOMAIN")
    p.add_argument("--no-wait", action="store_true", help="return at once; see certs:auto:info")
    p.add_argument("--wait", type=float, default=180, metavar="SECONDS",
                   help="how long to wait for the certificate (default 180)")
    p = cmd("certs:auto:remove", do_auto_remove, "stop renewing a domain's certificate (it stays attached)")
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


def _auto_block(a: dict) -> str:
    rows = [("Domain", a.get("domain")), ("App", a.get("app")), ("Status", a.get("status")),
            ("Certificate", a.get("cert") or "none yet"), ("Expires", short_date(a.get("expires"))),
            ("Issued", short_date(a.get("issued"))), ("Last attempt", short_date(a.get("last_attempt")))]
    if a.get("error"):
        rows.append(("Error", a.get("error")))
    if a.get("next_attempt"):
        rows.append(("Next attempt", short_date(a.get("next_attempt"))))
    return kv_block(rows, title=f"{a.get('domain')} Automatic TLS")


def _wait(ctx, first: dict) -> dict:
    """Poll until the issuance this command started ended (valid, or failed)."""
    a = ctx.args
    auto = first
    deadline = time.monotonic() + max(0.0, a.wait)
    while auto.get("status") in ("pending", "renewing"):
        if time.monotonic() > deadline:
            raise CLIError(f"no certificate for {a.domain} yet (status {auto.get('status')}); "
                           f"see `slipway certs:auto:info {a.domain}`")
        time.sleep(1)
        auto = ctx.client.auto_cert(a.domain)
    return auto


def _report(ctx, auto: dict) -> int:
    if ctx.json:
        print_json(auto)
    elif auto.get("status") == "valid":
        print(f"Certificate {auto.get('cert')} for {auto.get('domain')} attached "
              f"(expires {short_date(auto.get('expires'))}); renewed automatically")
    elif auto.get("status") in ("pending", "renewing"):
        print(f"Requested a certificate for {auto.get('domain')}; see `slipway certs:auto:info {auto.get('domain')}`")
    if auto.get("status") == "failed":
        raise CLIError(f"no certificate for {auto.get('domain')}: {auto.get('error') or 'the order failed'}")
    return 0


def do_auto(ctx):
    a = ctx.args
    auto = ctx.client.add_auto_cert(a.domain)
    if not a.no_wait:
        auto = _wait(ctx, auto)
    return _report(ctx, auto)


def do_auto_renew(ctx):
    a = ctx.args
    auto = ctx.client.renew_auto_cert(a.domain)
    if not a.no_wait:
        auto = _wait(ctx, auto)
    return _report(ctx, auto)


def do_auto_list(ctx):
    body = ctx.client.auto_certs()
    if ctx.json:
        print_json(body)
        return 0
    autos = body.get("results", [])
    if not autos:
        print("No domains under automatic TLS")
        return 0
    rows = [dict(x, expires=short_date(x.get("expires"))) for x in autos]
    print(records_table(rows, [("DOMAIN", "domain"), ("APP", "app"), ("STATUS", "status"), ("CERT", "cert"),
                               ("EXPIRES", "expires"), ("ERROR", "error")]))
    return 0


def do_auto_info(ctx):
    auto = ctx.client.auto_cert(ctx.args.domain)
    if ctx.json:
        print_json(auto)
    else:
        print(_auto_block(auto))
    return 0


def do_auto_remove(ctx):
    ctx.client.remove_auto_cert(ctx.args.domain)
    print(f"{ctx.args.domain} is no longer under automatic TLS (its certificate stays attached)")
    return 0
