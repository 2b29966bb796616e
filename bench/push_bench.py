#!/usr/bin/env python3
"""Push → serving on the converged all-in-one host (molecule/default, container `slipway-aio`).

    .venv/bin/molecule converge      # once (or let this script converge it)
    .venv/bin/python bench/push_bench.py [--rounds 3] [--host slipway-aio]

Measures, for a fresh user and app, everything run inside the host with `docker exec` against 127.0.0.1:
- a cold push: first push of a new app whose image has a layer nothing has cached (new bare repository,
  full build step, every app layer uploaded to the registry),
- warm pushes: only app.py changes (cached layers but the last one, one small layer to upload),
- buildpack pushes (a static site, no Dockerfile: detect, compile, lay onto the stack image, push) of another
  app: the first, then warm ones changing index.html; totals only,
- config:set → serving: the config POST (it blocks until the new release serves and the router has applied
  it), then a request through the router shows the new value.
A push's time runs from `git push` starting inside the host until the new version first answers through the
router (a watcher asks every 20 ms); when the push command returned is reported beside it. Where each push's
time goes comes from the pusher's timestamped output lines, ansible-runner's job events, the
builder Engine's image events (build done = tag, registry push done = push), the controller's release and
deployment rows, Swarm's task timestamps and the route sync's acknowledgement in its journal.
Prints a markdown table; writes bench/results/push.json. Targets: warm ≤ 3 s, config ≤ 1.5 s.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import shlex
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e import conftest as e2e  # noqa: E402  (host helpers shared with the end-to-end tests)

TARGETS = {"warm push": 3.0, "config:set": 1.5}
# the work a push exists for; everything else of the time to serving is plumbing (at most a third of a warm push)
REAL_WORK = ("build", "registry push", "task start", "health", "router switch")
PHASES = ["ssh + git receive", "runner + ansible start", "unpack + read", "build", "registry push",
          "register build → release", "task start", "health", "router switch", "drain + retire",
          "wrap-up (cleanup, exit, ref update)"]


def ts(value: str) -> float:
    """ISO 8601 (any precision, Z or offset; journald's +0000) → epoch seconds."""
    value = value.strip().replace("Z", "+00:00")
    if len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]
    if "." in value:  # Python wants at most 6 fraction digits
        head, _, rest = value.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        value = f"{head}.{digits[:6]}{rest[len(digits):]}"
    return dt.datetime.fromisoformat(value).timestamp()


def timed_push(user, app: str, path: str, domain: str, banner: str) -> dict:
    """git push with every output line timestamped as it arrives, clocked inside the host (where the pusher
    is: `docker exec`'s own start is not the push's), and a watcher asking the router every 20 ms for the new
    version, so "serving" is when the new version first answers, not when the push command returns."""
    ask = f"curl -s -m 2 -H {shlex.quote('Host: ' + domain)} http://127.0.0.1/ | grep -q ^{shlex.quote(banner)}"
    cmd = (f"cd {path} || exit 1; "
           f"(for i in $(seq 3000); do if {ask}; then echo \"SERVING $(date +%s.%N)\"; break; fi; sleep 0.02; done) & "
           f"w=$!; echo \"START $(date +%s.%N)\"; GIT_SSH_COMMAND={shlex.quote(user.ssh)} "
           f"git push --force git@127.0.0.1:{app}.git HEAD:main 2>&1; rc=$?; echo \"END $(date +%s.%N)\"; "
           "if [ $rc = 0 ]; then wait $w; else kill $w; fi; exit $rc")
    proc = subprocess.Popen(["docker", "exec", e2e.HOST, "bash", "-c", cmd], stdout=subprocess.PIPE, text=True,
                            bufsize=1)
    lines, marks = [], {}
    for line in proc.stdout:
        word, _, value = line.strip().partition(" ")
        if word in ("START", "END", "SERVING") and value.replace(".", "").isdigit():
            marks[word] = float(value)
        else:
            lines.append((time.time(), line.rstrip("\n")))
    rc = proc.wait()
    if rc != 0:
        raise SystemExit("push failed:\n" + "\n".join(l for _, l in lines))
    return {"start": marks["START"], "end": marks["END"], "serving": marks["SERVING"], "lines": lines}


def first_line(push: dict, needle: str) -> float | None:
    return next((t for t, line in push["lines"] if needle in line), None)


def runner_events(app: str, sha: str) -> list[dict]:
    """The job events of this push's ansible-runner artifacts (one JSON object per file)."""
    out = e2e.sh(f"d=$(ls -td /var/lib/slipway/deploy/artifacts/{app}-{sha[:12]}-* | head -1) && "
                 "for f in $d/job_events/*.json; do cat $f; echo; done").stdout
    events = []
    for line in out.splitlines():
        if line.strip():
            o = json.loads(line)
            events.append({"counter": o.get("counter"), "event": o["event"], "created": o["created"],
                           "task": (o.get("event_data") or {}).get("task")})
    return sorted(events, key=lambda e: e["counter"])


def task_time(events: list[dict], prefix: str, event: str) -> float | None:
    for e in events:
        if e["event"] == event and (e.get("task") or "").startswith(prefix):
            return ts(e["created"])
    return None


def image_events(image: str, since: float, until: float) -> dict:
    out = e2e.sh(f"docker events --since {since - 1:.3f} --until {until + 1:.3f} --filter type=image "
                 "--format '{{json .}}'").stdout
    found = {}
    for line in out.splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        actor = ev.get("Actor") or {}
        if image in (actor.get("ID"), ev.get("id"), (actor.get("Attributes") or {}).get("name")):
            found.setdefault(ev.get("Action") or ev.get("status"), ev["timeNano"] / 1e9)
    return found


def controller_times(app: str, version: int) -> dict:
    row = e2e.psql("SELECT extract(epoch from r.created), extract(epoch from d.created), extract(epoch from d.updated), "
               "d.id FROM releases r JOIN apps a ON a.uuid = r.app_uuid JOIN deployments d ON d.app_uuid = a.uuid "
               f"AND d.release_version = r.version WHERE a.id = '{app}' AND r.version = {version} "
               "ORDER BY d.id DESC LIMIT 1")
    rel, dep_created, dep_updated, dep_id = row.split("|")
    running = e2e.sh(
        f"for s in $(docker service ls -q --filter label=slipway.app={app} --filter label=slipway.deployment={dep_id}); do "
        "for t in $(docker service ps -q --no-trunc $s); do docker inspect -f '{{json .Status.Timestamp}}' $t; done; done",
        check=False).stdout.split()
    return {"release": float(rel), "deploy_start": float(dep_created), "healthy": float(dep_updated),
            "task_running": max((ts(x.strip('"')) for x in running), default=None)}


def ack_after(since: float) -> float | None:
    out = e2e.sh(f"journalctl -u slipway-routesync -o short-iso-precise --no-pager --since @{since:.3f} "
                 "| grep 'acknowledged generation' | head -1", check=False).stdout.strip()
    return ts(out.split()[0]) if out else None


def breakdown(push: dict, app: str, sha: str, image: str, version: int) -> dict:
    ev = runner_events(app, sha)
    imgs = image_events(image, push["start"], push["end"])
    ctl = controller_times(app, version)
    hook = first_line(push, "-----> Deploying")
    play = ts(next(e["created"] for e in ev if e["event"] == "playbook_on_start"))
    build = task_time(ev, "-----> Building", "playbook_on_task_start")
    # the build step unpacks the commit itself (slipway.paas.sandbox_build): its phase includes the unpack
    unpack = task_time(ev, "-----> Unpacking", "playbook_on_task_start") or build
    release = task_time(ev, "-----> Releasing", "playbook_on_task_start")
    release_end = task_time(ev, "-----> Releasing", "runner_on_ok")
    tagged, pushed = imgs.get("tag"), imgs.get("push")
    ack = ack_after(ctl["healthy"])
    points = [push["start"], hook, unpack, build, tagged, pushed, ctl["release"], ctl["task_running"],
              ctl["healthy"], ack, release_end, push["end"]]
    phases = {}
    # ssh + git receive: until the hook prints; runner + ansible start: until the first task
    seq = [("ssh + git receive", push["start"], hook), ("runner + ansible start", hook, unpack),
           ("unpack + read", unpack, build), ("build", build, tagged), ("registry push", tagged, pushed),
           ("register build → release", pushed or release, ctl["release"]),
           ("task start", ctl["release"], ctl["task_running"]), ("health", ctl["task_running"], ctl["healthy"]),
           ("router switch", ctl["healthy"], ack), ("drain + retire", ack, release_end),
           ("wrap-up (cleanup, exit, ref update)", release_end, push["end"])]
    for name, a, b in seq:
        phases[name] = round(b - a, 3) if a is not None and b is not None else None
    phases["_ansible playbook start"] = round(unpack - play, 3) if unpack else None
    phases["_releasing task"] = round(release_end - release, 3) if release and release_end else None
    return {"total": round(push["serving"] - push["start"], 3), "returned": round(push["end"] - push["start"], 3),
            "phases": phases, "missing": [
        n for n, v in zip(["start", "hook", "unpack", "build", "tag", "push", "release", "task", "healthy", "ack",
                           "release_end", "end"], points) if v is None]}


def plumbing_share(run: dict) -> float | None:
    """The part of a push's time to serving that is not REAL_WORK; None when a phase went unseen."""
    work = [run["phases"].get(name) for name in REAL_WORK]
    if None in work or not run["total"]:
        return None
    return round((run["total"] - sum(work)) / run["total"], 3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="warm pushes and config changes (default 3)")
    ap.add_argument("--buildpack-rounds", type=int, default=3, help="warm buildpack pushes (default 3; 0: none)")
    ap.add_argument("--host", default=e2e.HOST)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "push.json"))
    args = ap.parse_args()
    e2e.HOST = args.host
    aio = e2e.platform()
    user = e2e.User(aio, e2e.unique("bench"))
    app = e2e.unique("bench-")
    user.api("POST", "/v2/apps/", {"id": app})
    domain = user.api("GET", f"/v2/apps/{app}/")[1]["url"].split("://")[-1].strip("/")
    src = f"{e2e.WORK}/bench-{app}"
    hello = (ROOT / "examples" / "hello" / "app.py").read_text()
    nonce = os.urandom(8).hex()
    dockerfile = (f"FROM {aio['registry']}/slipway/stack:trixie\n"
                  f"RUN head -c 4000000 /dev/urandom > /opt/cold-{nonce} && echo {nonce}\n"
                  "COPY app.py /app/app.py\nCMD [\"python3\", \"-u\", \"/app/app.py\"]\n")
    results = {"host": e2e.HOST, "app": app, "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "runs": []}

    def one(kind: str, banner: str) -> None:
        e2e.git_repo(src, {"Dockerfile": dockerfile, "app.py": hello.replace('body = (f"', f'body = (f"{banner} ')},
                     banner)
        sha = e2e.sh(f"git -C {src} rev-parse HEAD").stdout.strip()
        push = timed_push(user, app, src, domain, banner)
        served = e2e.get(domain)[1]
        assert served.startswith(banner), served
        version = user.api("GET", f"/v2/apps/{app}/releases/")[1]["results"][0]["version"]
        image = f"{aio['registry']}/{app}:git-{sha[:8]}"
        info = breakdown(push, app, sha, image, version)
        info.update(kind=kind, version=version)
        results["runs"].append(info)
        print(f"{kind}: serving after {info['total']:.2f} s, push returned after {info['returned']:.2f} s  "
              f"{info['phases']}", flush=True)

    one("cold push", "cold")
    for i in range(args.rounds):
        one("warm push", f"warm{i}")
    if args.buildpack_rounds:
        static_app = e2e.unique("bench-static-")
        user.api("POST", "/v2/apps/", {"id": static_app})
        static_domain = user.api("GET", f"/v2/apps/{static_app}/")[1]["url"].split("://")[-1].strip("/")
        static_src = f"{e2e.WORK}/bench-{static_app}"
        for i in range(args.buildpack_rounds + 1):
            kind, banner = ("buildpack push, first", "static") if i == 0 else ("buildpack push", f"static{i}")
            e2e.git_repo(static_src, {"index.html": f"{banner} <p>a static site</p>"}, banner)
            push = timed_push(user, static_app, static_src, static_domain, banner)
            info = {"kind": kind, "total": round(push["serving"] - push["start"], 3),
                    "returned": round(push["end"] - push["start"], 3), "phases": {}}
            results["runs"].append(info)
            print(f"{kind}: serving after {info['total']:.2f} s, push returned after {info['returned']:.2f} s",
                  flush=True)
    for i in range(args.rounds):
        t0 = time.time()
        user.api("POST", f"/v2/apps/{app}/config/", {"values": {"GREETING": f"config{i}"}})
        t1 = time.time()
        body = e2e.get(domain)[1]
        assert f"config{i}" in body, body
        version = user.api("GET", f"/v2/apps/{app}/releases/")[1]["results"][0]["version"]
        ctl = controller_times(app, version)
        ack = ack_after(ctl["healthy"])
        phases = {"request → release": round(ctl["release"] - t0, 3),
                  "task start": round(ctl["task_running"] - ctl["release"], 3) if ctl["task_running"] else None,
                  "health": round(ctl["healthy"] - ctl["task_running"], 3) if ctl["task_running"] else None,
                  "router switch": round(ack - ctl["healthy"], 3) if ack else None,
                  "drain + retire": round(t1 - ack, 3) if ack else None}
        results["runs"].append({"kind": "config:set", "total": round(t1 - t0, 3), "version": version,
                                "phases": phases})
        print(f"config:set: {t1 - t0:.2f} s  {phases}", flush=True)

    summary = {}
    for kind in ("cold push", "warm push", "buildpack push, first", "buildpack push", "config:set"):
        totals = [r["total"] for r in results["runs"] if r["kind"] == kind]
        if not totals:
            continue
        summary[kind] = {"n": len(totals), "median": round(statistics.median(totals), 3), "min": min(totals),
                         "max": max(totals), "target": TARGETS.get(kind)}
        returned = [r["returned"] for r in results["runs"] if r["kind"] == kind and "returned" in r]
        if returned:
            summary[kind]["returned_median"] = round(statistics.median(returned), 3)
        shares = [plumbing_share(r) for r in results["runs"] if r["kind"] == kind and "returned" in r]
        if shares and None not in shares:
            summary[kind]["plumbing_share_median"] = round(statistics.median(shares), 3)
    results["summary"] = summary
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.out).write_text(json.dumps(results, indent=2) + "\n")

    print("\n| measure | n | median s | min s | max s | target s | push returned, median s |\n"
          "|---|---|---|---|---|---|---|")
    for kind, s in summary.items():
        target = f"≤ {s['target']}" if s["target"] else "–"
        returned = f"{s['returned_median']:.2f}" if "returned_median" in s else "–"
        print(f"| {kind} | {s['n']} | {s['median']:.2f} | {s['min']:.2f} | {s['max']:.2f} | {target} | {returned} |")
    for kind, s in summary.items():
        if "plumbing_share_median" in s:
            print(f"{kind}: plumbing (time to serving but {', '.join(REAL_WORK)}) "
                  f"{100 * s['plumbing_share_median']:.1f} % (median of the runs)")
    for kind in ("cold push", "warm push", "config:set"):
        runs = [r for r in results["runs"] if r["kind"] == kind]
        names = [n for n in (PHASES if kind != "config:set" else runs[0]["phases"]) if not n.startswith("_")]
        print(f"\n{kind}: where the time goes (median s)\n\n| phase | s |\n|---|---|")
        for name in names:
            values = [r["phases"].get(name) for r in runs if r["phases"].get(name) is not None]
            print(f"| {name} | {statistics.median(values):.2f} |" if values else f"| {name} | n/a |")
    print(f"\nwritten: {os.path.relpath(args.out, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
