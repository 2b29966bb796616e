"""The builder's sshd pieces with a real private sshd (127.0.0.1, high port) and real git pushes.

sshd's AuthorizedKeysCommand runs the agent, which asks a stand-in of the controller's builder hooks
(the live-controller variant is in test_live.py). A throwaway system user plays the `git` user.
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import threading
import time

import pytest

from conftest import AGENTS, SYSTEM_PYTHON, wait_for
from fakes import FakeController, app_uuid, free_port

GIT_USER = "slipway-test-git"


def install_agents() -> str:
    """sshd runs an AuthorizedKeysCommand only from a path whose every folder is root's and writable by no one
    else (a checkout below /tmp is not): the agents copied where the builder role puts them, the same way. One copy
    per pytest-xdist worker: every worker imports this module, and two copying into one folder at once collide."""
    dest = f"/opt/slipway-test/agents-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs("/opt/slipway-test", exist_ok=True)
    shutil.copytree(AGENTS, dest, ignore=shutil.ignore_patterns("__pycache__"))
    for folder in ("/opt/slipway-test", dest):
        os.chmod(folder, 0o755)
    return os.path.join(dest, "bin", "slipway-builder")


AGENT = install_agents()
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"

DEPLOY_SCRIPT = """#!/bin/sh
# stand-in for the deploy playbook: proves it can read the pushed (still quarantined) commit
app=$1 sha=$2 user=$3
echo "-----> Building $app at $sha for $user"
git archive --format=tar "$sha" | tar -t | sed 's/^/file: /'
echo "env app=$SLIPWAY_APP uuid=$SLIPWAY_APP_UUID repo=$SLIPWAY_REPO"
[ -n "$SLIPWAY_PUSH_TOKEN" ] && echo "with a push token"
# the push's scratch folder: empty, writable, removed by the hook afterwards (even after a failure)
[ -d "$SLIPWAY_WORKDIR" ] && [ -z "$(ls -A "$SLIPWAY_WORKDIR")" ] && echo scratch > "$SLIPWAY_WORKDIR/file" &&
  echo "workdir $SLIPWAY_WORKDIR"
if [ -e "$WD/slow" ]; then
    touch "$WD/deploying"
    i=0; while [ ! -e "$WD/release" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
fi
if [ -e "$WD/fail" ]; then echo "build exploded" >&2; exit 3; fi
echo "-----> Launched $app"
"""


def ensure_git_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(GIT_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--create-home", "--home-dir", f"/var/tmp/{GIT_USER}",
                        "--shell", "/bin/sh", GIT_USER], check=True)
        subprocess.run(["usermod", "-p", "*", GIT_USER], check=True)  # no password, but not locked
        return pwd.getpwnam(GIT_USER)


def keygen(path: str) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", os.path.basename(path), "-f", path],
                   check=True)
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", path + ".pub"], check=True,
                         capture_output=True, text=True).stdout
    return out.split()[1]


class Builder:
    """A private sshd + agent config in a temp dir."""

    def __init__(self, wd: str, controller_url: str, builder_key: str, key_cache: str | None = None):
        """key_cache: sshd asks through slipway-builder-keys, keeping a connection's answer there."""
        self.wd = wd
        self.user = ensure_git_user()
        self.port = free_port()
        self.repos = os.path.join(wd, "repos")
        os.makedirs(self.repos)
        os.chown(self.repos, self.user.pw_uid, self.user.pw_gid)
        self.signals = os.path.join(wd, "signals")  # files the tests and the deploy stand-in exchange
        os.makedirs(self.signals)
        os.chown(self.signals, self.user.pw_uid, self.user.pw_gid)
        deploy = os.path.join(wd, "deploy.sh")
        with open(deploy, "w") as fh:
            fh.write(DEPLOY_SCRIPT)
        os.chmod(deploy, 0o755)
        self.ini = os.path.join(wd, "builder.ini")
        with open(self.ini, "w") as fh:
            fh.write(f"""[builder]
controller_url = {controller_url}
builder_key = {builder_key}
git_user = {GIT_USER}
repos_dir = {self.repos}
agent = {AGENT} --config {self.ini}
deploy_command = env WD={self.signals} {deploy} {{app}} {{sha}} {{user}}
deploy_timeout = 60
""")
        os.chmod(self.ini, 0o644)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{wd}/host_key"], check=True)
        self.sshd_config = os.path.join(wd, "sshd_config")
        with open(self.sshd_config, "w") as fh:
            fh.write(f"""Port {self.port}
ListenAddress 127.0.0.1
HostKey {wd}/host_key
PidFile {wd}/sshd.pid
AllowUsers {GIT_USER}
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AuthorizedKeysFile none
AuthorizedKeysCommand {self.key_command(key_cache)}
AuthorizedKeysCommandUser {GIT_USER}
UsePAM no
PermitTTY no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTunnel no
PermitUserEnvironment no
AcceptEnv GIT_PROTOCOL
PrintMotd no
LogLevel VERBOSE
""")
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.log = os.path.join(wd, "sshd.log")
        self.logfh = open(self.log, "w")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", self.sshd_config], stdout=self.logfh,
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: self._listening(), what="sshd")

    def key_command(self, key_cache: str | None) -> str:
        if key_cache is None:
            return f"{AGENT} --config {self.ini} authorized-keys %u %f %t %k"
        return f"{os.path.dirname(AGENT)}/slipway-builder-keys {self.ini} {key_cache} %u %f %t %k"

    def _listening(self) -> bool:
        import socket
        assert self.proc.poll() is None, open(self.log).read()
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def ssh_command(self, key: str) -> str:
        return (f"ssh -i {key} -p {self.port} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no "
                f"-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR")

    def ssh(self, key: str, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.ssh_command(key).split() + ["-T", f"{GIT_USER}@127.0.0.1", *command],
                              capture_output=True, text=True, timeout=60)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.logfh.close()


class Client:
    """A local git working copy that pushes with one key."""

    def __init__(self, wd: str, name: str, builder: Builder, key: str):
        self.dir = os.path.join(wd, name)
        self.builder = builder
        self.key = key
        os.makedirs(self.dir)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", f"{name}@example.test")
        self.git("config", "user.name", name)
        self.commit("first")

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ, GIT_SSH_COMMAND=self.builder.ssh_command(self.key), LC_ALL="C")
        r = subprocess.run(["git", "-C", self.dir, *args], capture_output=True, text=True, env=env, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {r.stdout}{r.stderr}")
        return r

    def commit(self, msg: str) -> str:
        with open(os.path.join(self.dir, "README"), "a") as fh:
            fh.write(msg + "\n")
        self.git("add", "README")
        self.git("commit", "-q", "-m", msg)
        return self.git("rev-parse", "HEAD").stdout.strip()

    def push(self, app: str, refspec: str = "main", url_style: str = "scp") -> subprocess.CompletedProcess:
        url = (f"{GIT_USER}@127.0.0.1:{app}.git" if url_style == "scp"
               else f"ssh://{GIT_USER}@127.0.0.1:{self.builder.port}/{app}.git")
        return self.git("push", url, refspec, check=False)

    def push_async(self, app: str) -> subprocess.Popen:
        env = dict(os.environ, GIT_SSH_COMMAND=self.builder.ssh_command(self.key), LC_ALL="C")
        return subprocess.Popen(["git", "-C", self.dir, "push", f"{GIT_USER}@127.0.0.1:{app}.git", "main"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


@pytest.fixture
def fc():
    with FakeController() as fake:
        yield fake


@pytest.fixture
def setup(workdir, fc):
    keys = {}
    for who in ("alice", "bob", "mallory"):
        keys[who] = os.path.join(workdir, f"{who}_key")
        fp = keygen(keys[who])
        if who != "mallory":
            fc.keys[fp] = who
    fc.perms = {"myapp": {"alice"}, "bobapp": {"bob"}}
    b = Builder(workdir, fc.url, fc.builder_key)
    yield b, keys
    b.stop()


def test_authorized_keys_command(setup, fc):
    b, keys = setup

    def run(user, pub_path, fp=None):
        kt, kb = open(pub_path).read().split()[:2]
        fp = fp or subprocess.run(["ssh-keygen", "-lf", pub_path, "-E", "sha256"], capture_output=True,
                                  text=True).stdout.split()[1]
        return subprocess.run([AGENT, "--config", b.ini, "authorized-keys", user, fp, kt, kb],
                              capture_output=True, text=True, env={})

    r = run(GIT_USER, keys["alice"] + ".pub")
    kt, kb = open(keys["alice"] + ".pub").read().split()[:2]
    assert r.returncode == 0
    assert r.stdout == f'command="{AGENT} --config {b.ini} serve alice",restrict {kt} {kb}\n'
    assert run(GIT_USER, keys["mallory"] + ".pub").stdout == ""  # unknown key
    assert run("root", keys["alice"] + ".pub").stdout == ""  # not the git user
    assert run(GIT_USER, keys["alice"] + ".pub", fp="SHA256:forged").stdout == ""
    fc.fail_hooks = True
    r = run(GIT_USER, keys["alice"] + ".pub")
    assert r.returncode == 0 and r.stdout == ""  # controller failing: no key, exit 0
    fc.fail_hooks = False
    # controller down entirely
    with open(b.ini) as fh:
        ini = fh.read()
    with open(b.ini, "w") as fh:
        fh.write(ini.replace(fc.url, "http://127.0.0.1:9"))
    r = run(GIT_USER, keys["alice"] + ".pub")
    assert r.returncode == 0 and r.stdout == ""


def assert_scratch_removed(out: str) -> None:
    """The deploy got its own scratch folder, and it is gone once the push ended."""
    folders = re.findall(r"remote: +workdir (\S+)", out)
    assert len(folders) == 1, out
    assert os.path.basename(folders[0]).startswith("slipway-myapp-") and not os.path.exists(folders[0])


def test_push_deploys_and_streams_output(setup, workdir, fc):
    b, keys = setup
    alice = Client(workdir, "alice", b, keys["alice"])
    r = alice.push("myapp")
    out = r.stdout + r.stderr
    sha = alice.git("rev-parse", "HEAD").stdout.strip()
    assert r.returncode == 0, out
    assert f"remote: -----> Deploying myapp ({sha[:8]}) for alice" in out
    assert f"remote: -----> Building myapp at {sha} for alice" in out
    assert "remote:        file: README" in out  # the deploy can read the pushed commit
    # the repository is the app's by its uuid (a destroyed app's name, made again, starts empty)
    uuid = app_uuid("myapp")
    assert f"remote:        env app=myapp uuid={uuid} repo={b.repos}/{uuid}.git" in out
    assert "remote:        with a push token" in out
    assert "remote: -----> Launched myapp" in out
    assert_scratch_removed(out)
    assert fc.push_tokens == {}  # the push is over: its token ended with it
    repo = os.path.join(b.repos, f"{uuid}.git")
    assert os.path.isfile(os.path.join(repo, "hooks", "pre-receive"))
    assert os.stat(repo).st_uid == b.user.pw_uid
    assert subprocess.run(["git", "-c", "safe.directory=*", "-C", repo, "rev-parse", "main"], capture_output=True,
                          text=True).stdout.strip() == sha
    # the second push (ssh:// URL style, leading slash) deploys the new sha; fetch works too
    sha2 = alice.commit("second")
    r = alice.push("myapp", url_style="ssh")
    assert r.returncode == 0 and f"Building myapp at {sha2}" in r.stderr, r.stderr
    r = alice.git("fetch", f"{GIT_USER}@127.0.0.1:myapp.git", "main", check=False)
    assert r.returncode == 0, r.stderr
    # master deploys too
    r = alice.push("myapp", "main:master")
    assert r.returncode == 0 and "Launched myapp" in r.stderr, r.stderr


def test_refusals(setup, workdir, fc):
    b, keys = setup
    mallory = Client(workdir, "mallory", b, keys["mallory"])
    r = mallory.push("myapp")
    assert r.returncode != 0 and "Permission denied (publickey)" in r.stderr

    alice = Client(workdir, "alice", b, keys["alice"])
    r = alice.push("bobapp")
    assert r.returncode != 0 and "You may not push to bobapp." in r.stderr
    assert not os.path.exists(os.path.join(b.repos, "bobapp.git"))
    r = alice.push("nosuchapp")
    assert r.returncode != 0 and "App nosuchapp does not exist" in r.stderr

    r = b.ssh(keys["alice"])  # an interactive shell
    assert r.returncode != 0 and "Interactive shells are not available" in r.stderr
    r = b.ssh(keys["alice"], "cat /etc/passwd")
    assert r.returncode != 0 and "Command refused" in r.stderr and "root:" not in r.stdout
    r = b.ssh(keys["alice"], "git-receive-pack '../../etc/myapp.git'")
    assert r.returncode != 0 and "'..' are refused" in r.stderr
    r = b.ssh(keys["alice"], "git-receive-pack 'some/path/myapp.git'")
    assert r.returncode != 0 and "is not a Slipway app repository" in r.stderr
    r = b.ssh(keys["alice"], "git-receive-pack 'Bad_App.git'")
    assert r.returncode != 0 and "is not a Slipway app repository" in r.stderr
    r = b.ssh(keys["alice"], "git-receive-pack 'myapp.git'; sh")
    assert r.returncode != 0
    r = b.ssh(keys["alice"], "git-upload-pack 'myapp.git'")  # nothing pushed yet
    assert r.returncode != 0 and "push to it first" in r.stderr
    # ssh options the forced command line forbids
    r = subprocess.run(b.ssh_command(keys["alice"]).split() + ["-W", f"127.0.0.1:{b.port}",
                       f"{GIT_USER}@127.0.0.1"], capture_output=True, text=True, timeout=30, input="")
    assert r.returncode != 0 and "forwarding failed" in r.stderr, r.stderr

    # a branch other than main/master is refused with the hint
    alice.git("checkout", "-q", "-b", "feature")
    r = alice.push("myapp", "feature")
    assert r.returncode != 0
    assert "Only main (or master) deploys; you pushed refs/heads/feature." in r.stderr
    assert "git push slipway HEAD:main" in r.stderr
    assert "pre-receive hook declined" in r.stderr
    # tags too
    alice.git("tag", "v1")
    r = alice.push("myapp", "v1")
    assert r.returncode != 0 and "HEAD:main" in r.stderr
    assert fc.push_tokens == {}  # refused pushes' tokens ended too


def test_failing_deploy_rejects_push(setup, workdir, fc):
    b, keys = setup
    alice = Client(workdir, "alice", b, keys["alice"])
    assert alice.push("myapp").returncode == 0
    open(os.path.join(b.signals, "fail"), "w").close()
    alice.commit("broken")
    r = alice.push("myapp")
    assert r.returncode != 0
    assert "remote:        build exploded" in r.stderr
    assert "Deploy failed (exit 3); push rejected" in r.stderr
    assert_scratch_removed(r.stderr)
    repo = os.path.join(b.repos, f"{app_uuid('myapp')}.git")
    head = subprocess.run(["git", "-c", "safe.directory=*", "-C", repo, "rev-parse", "main"], capture_output=True, text=True).stdout.strip()
    assert head != alice.git("rev-parse", "HEAD").stdout.strip()  # the ref was not updated


def test_concurrent_push_gets_lock_message(setup, workdir, fc):
    b, keys = setup
    fc.perms["myapp"].add("bob")
    alice = Client(workdir, "alice", b, keys["alice"])
    bob = Client(workdir, "bob", b, keys["bob"])
    open(os.path.join(b.signals, "slow"), "w").close()
    first = alice.push_async("myapp")
    wait_for(lambda: os.path.exists(os.path.join(b.signals, "deploying")), timeout=30, what="first deploy")
    t0 = time.monotonic()
    r = bob.push("myapp")
    assert time.monotonic() - t0 < 10
    assert r.returncode != 0 and "Another push to myapp is running" in r.stderr, r.stderr
    assert list(fc.push_tokens.values()) == ["myapp"]  # the refused push's token ended, the running one's not
    # the deploy's output reaches the pusher while it runs, line by line (not at the end)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(first.stdout.readline, "")), daemon=True)
    reader.start()
    wait_for(lambda: any("remote: -----> Building myapp" in line for line in lines), timeout=10,
             what="streamed output before the deploy finished")
    assert not any("Launched myapp" in line for line in lines)
    open(os.path.join(b.signals, "release"), "w").close()
    first.wait(60)
    reader.join(10)
    out = "".join(lines)
    assert first.returncode == 0, out
    assert "Launched myapp" in out
    os.unlink(os.path.join(b.signals, "slow"))
    r = bob.push("myapp", "+main")  # lock released: bob's push goes through (forced: his own history)
    assert r.returncode == 0 and "Launched myapp" in r.stderr, r.stderr


def test_agents_use_only_the_system_python():
    """The agents must import with the hosts' interpreter (stdlib only)."""
    r = subprocess.run([SYSTEM_PYTHON, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                        "import slipway_agents.builder, slipway_agents.routesync", AGENTS],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
