"""healthchecks:list, healthchecks:set, healthchecks:unset: Deis Workflow's liveness and readiness probes per
process type (httpGet, tcpSocket or exec). Each change sends the type's whole value: the probe given, and the other
one as the app has it. The controller checks every value and fills in the defaults."""
from __future__ import annotations

import math
import shlex

from slipway_cli.context import PROC_TYPE_RE
from slipway_cli.errors import CLIError
from slipway_cli.output import print_json

GROUP = "Health checks"
KINDS = {"liveness": "livenessProbe", "readiness": "readinessProbe"}
HANDLERS = ("httpGet", "tcpSocket", "exec")
# option -> the probe's field: Deis's names, and this CLI's former ones
TIMINGS = {"initial_delay": "initialDelaySeconds", "timeout": "timeoutSeconds", "period": "periodSeconds",
           "success_threshold": "successThreshold", "failure_threshold": "failureThreshold"}
DEFAULT_TYPE = "web"


def register(cmd):
    p = cmd("healthchecks:list", do_list, "show the liveness and readiness probes per process type", app=True,
            json=True)
    p.add_argument("--type", help="only this process type")
    p = cmd("healthchecks:set", do_set,
            "set a probe: liveness|readiness httpGet [PORT] [--path /x] [--header 'Name: value']... | tcpSocket "
            "[PORT] | exec -- COMMAND [ARG]... (a new release); PORT defaults to the process's $PORT", app=True)
    p.add_argument("words", metavar="ARG", nargs="*",
                   help="liveness or readiness, the handler and its arguments; or, the former form, a process "
                        "type whose readiness httpGet probe the options change")
    p.add_argument("--type", help=f"the process type (default {DEFAULT_TYPE}; web/cmd: the app's routable one)")
    p.add_argument("-p", "--path", help="the path httpGet probes GET (default /)")
    p.add_argument("--header", action="append", default=[], metavar="NAME:VALUE", help="an httpGet header")
    p.add_argument("--initial-delay-timeout", "--initial-delay", dest="initial_delay", type=float,
                   help="seconds before the first probe (default 0)")
    p.add_argument("--timeout-seconds", "--timeout", dest="timeout", type=float,
                   help="seconds a probe may take (default 1)")
    p.add_argument("--period-seconds", "--period", "--interval", dest="period", type=float,
                   help="seconds between probes (default 10)")
    p.add_argument("--success-threshold", "--healthy-threshold", dest="success_threshold", type=int,
                   help="passes in a row that make the process ready (default 1; liveness: 1)")
    p.add_argument("--failure-threshold", type=int, help="failures in a row that make it fail (default 3)")
    p = cmd("healthchecks:unset", do_unset,
            "unset probes: liveness|readiness... [--type web], or whole process types (a new release)", app=True)
    p.add_argument("words", metavar="ARG", nargs="*", help="liveness and/or readiness; or process types")
    p.add_argument("--type", help=f"the process type (default {DEFAULT_TYPE})")


def _proc(ctx, name: str | None) -> str:
    """The process type named (web/cmd: the app's routable type, web when its processes have it, else cmd)."""
    name = name or DEFAULT_TYPE
    if name == "web/cmd":
        return "web" if "web" in (ctx.client.app(ctx.app).get("structure") or {}) else "cmd"
    if not PROC_TYPE_RE.match(name):
        raise CLIError(f"invalid process type {name!r}")
    return name


def _port(h: dict) -> str:
    return f"port {h['port']}" if h.get("port") else "$PORT"


def describe(probe) -> str:
    if not isinstance(probe, dict):
        return "none"
    if isinstance(probe.get("httpGet"), dict):
        h = probe["httpGet"]
        what = f"httpGet {h.get('path', '/')} on {_port(h)}"
        what += "".join(f", header {x.get('name')}: {x.get('value')}" for x in h.get("httpHeaders") or [])
    elif isinstance(probe.get("tcpSocket"), dict):
        what = f"tcpSocket on {_port(probe['tcpSocket'])}"
    elif isinstance(probe.get("exec"), dict):
        what = "exec " + shlex.join(str(a) for a in probe["exec"].get("command") or [])
    else:
        what = "unknown handler"
    timings = ", ".join(f"{field} {probe[field]}" for field in TIMINGS.values() if field in probe)
    return f"{what}; {timings}" if timings else what


def _types(ctx) -> dict:
    return ctx.client.config(ctx.app).get("healthcheck") or {}


def do_list(ctx):
    hc = _types(ctx)
    if ctx.args.type:
        hc = {t: v for t, v in hc.items() if t == ctx.args.type or ctx.args.type == "web/cmd" and t in ("web", "cmd")}
    if ctx.json:
        print_json(hc)
        return 0
    print(f"=== {ctx.app} Health checks")
    if not hc:
        print("No probes: the routable type gets the default check (HTTP GET / on $PORT, any answer below 500)")
    for proc, value in sorted(hc.items()):
        print(f"--- {proc}")
        value = value if isinstance(value, dict) else {}
        if value and not set(value) & set(KINDS.values()):  # a controller from before these probes
            value = {"readinessProbe": {"httpGet": {"path": value.get("path", "/")}}}
        for word, key in KINDS.items():
            print(f"{word.capitalize()}: {describe(value.get(key))}")
    return 0


def _seconds(value: float | None) -> int | None:
    return None if value is None else math.ceil(value)


def _timings(a) -> dict:
    given = {field: getattr(a, option) for option, field in TIMINGS.items()}
    given = {k: _seconds(v) if k in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds") else v
             for k, v in given.items()}
    return {k: v for k, v in given.items() if v is not None}


def _number(text: str, what: str) -> int:
    if not text.isdigit():
        raise CLIError(f"{what} must be a port number, not {text!r}")
    return int(text)


def _headers(items: list[str]) -> list[dict]:
    out = []
    for item in items:
        name, sep, value = item.partition(":")
        if not sep:
            raise CLIError(f"a header is NAME:VALUE, not {item!r}")
        out.append({"name": name.strip(), "value": value.strip()})
    return out


def _handler(a, kind: str, rest: list[str]) -> dict:
    if kind == "exec":
        if not rest:
            raise CLIError("exec needs a command: healthchecks:set liveness exec -- COMMAND [ARG]...")
        return {"exec": {"command": rest}}
    if len(rest) > 1:
        raise CLIError(f"{kind} takes one PORT at most, not {' '.join(rest)!r}")
    spec = {"port": _number(rest[0], kind)} if rest else {}
    if kind == "httpGet":
        spec.update({"path": a.path or "/", "httpHeaders": _headers(a.header)})
    return {kind: spec}


def do_set(ctx):
    a = ctx.args
    words = list(a.words)
    if words and words[0] in KINDS:  # Deis's form
        if len(words) < 2 or words[1] not in HANDLERS:
            raise CLIError(f"give the probe's handler after {words[0]}: one of {', '.join(HANDLERS)}")
        proc, key = _proc(ctx, a.type), KINDS[words[0]]
        probe = {**_timings(a), **_handler(a, words[1], words[2:])}
    else:  # the former form: the readiness httpGet probe on $PORT of the type, changed by the options
        if len(words) > 1:
            raise CLIError(f"unexpected arguments {' '.join(words[1:])!r}: liveness|readiness HANDLER ARGS")
        proc, key = _proc(ctx, a.type or (words[0] if words else None)), KINDS["readiness"]
        if not _timings(a) and not a.path and not a.header:
            raise CLIError("nothing to set: give liveness|readiness and a handler (httpGet, tcpSocket, exec), or "
                           "at least one of --path, --timeout, --period, --initial-delay, --success-threshold")
        current = (_types(ctx).get(proc) or {}).get(key) or {}
        http = dict(current.get("httpGet") or {})
        http.update({"path": a.path} if a.path else {}, **({"httpHeaders": _headers(a.header)} if a.header else {}))
        probe = {**{k: v for k, v in current.items() if k in TIMINGS.values()}, **_timings(a), "httpGet": http}
    value = {k: v for k, v in (_types(ctx).get(proc) or {}).items() if k in KINDS.values() and k != key}
    ctx.client.set_config(ctx.app, healthcheck={proc: {**value, key: probe}})
    print(f"{ctx.app} {proc} {key}: {describe(probe)}")
    return 0


def do_unset(ctx):
    a = ctx.args
    if a.words and all(w in KINDS for w in a.words):  # Deis's form: probes of one type
        proc = _proc(ctx, a.type)
        value = dict(_types(ctx).get(proc) or {})
        missing = [w for w in a.words if KINDS[w] not in value]
        if missing:
            raise CLIError(f"{proc} has no {' or '.join(missing)} probe")
        for w in a.words:
            del value[KINDS[w]]
        ctx.client.set_config(ctx.app, healthcheck={proc: value or None})
        print(f"{ctx.app} {proc}: {' and '.join(a.words)} probe unset")
        return 0
    types = [_proc(ctx, t) for t in a.words or [a.type or DEFAULT_TYPE]]  # whole types: back to the default check
    ctx.client.set_config(ctx.app, healthcheck={t: None for t in types})
    print(f"Health checks of {ctx.app} unset: {' '.join(types)}")
    return 0
