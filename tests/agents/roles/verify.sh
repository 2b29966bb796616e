#!/usr/bin/env bash
# Runs inside the role test host after converge.
set -euo pipefail
fail() { echo "FAIL: $*"; exit 1; }
for unit in nginx slipway-routesync slipway-builder-sshd docker; do
  systemctl is-active --quiet "$unit" || fail "$unit is not active"
done
ss -ltn | grep -q ':2222 ' || fail "builder sshd not on 2222"

# an app upstream and the stand-in controller
mkdir -p /srv/hello && echo "hello from app" >/srv/hello/index.html
systemd-run --quiet --unit=hello-app --working-directory=/srv/hello python3 -m http.server --bind 127.0.0.1 9001
ssh-keygen -q -t ed25519 -N '' -f /root/alice_key <<<y >/dev/null 2>&1 || true
FP=$(ssh-keygen -l -E sha256 -f /root/alice_key.pub | awk '{print $2}')
cat >/etc/fake-controller.json <<JSON
{"keys": {"$FP": "alice"}, "perms": {"hello": ["alice"], "other": ["bob"]},
 "apps": [{"id": "hello", "domains": ["hello.agents.test"], "certs": {}, "whitelist": [], "maintenance": false,
           "enforce_https": false, "endpoints": [{"address": "127.0.0.1", "port": 9001}]}]}
JSON
systemd-run --quiet --unit=fake-controller python3 /usr/local/bin/fake-controller

ok=""
for _ in $(seq 150); do
  if curl -fsS -H 'Host: hello.agents.test' http://127.0.0.1/ 2>/dev/null | grep -q "hello from app"; then ok=1; break; fi
  sleep 0.2
done
[ -n "$ok" ] || { journalctl -u slipway-routesync --no-pager | tail -30; fail "app not routed"; }
echo "routed: hello.agents.test"
[ "$(stat -c %a /run/slipway-router)" = 700 ] || fail "the endpoint socket's folder is not root-only"
grep -q '"hello":\["127.0.0.1:9001"\]' /etc/nginx/slipway/endpoints.json || fail "no endpoint table file"
echo "endpoints: table file written, socket root-only"
code=$(curl -s -o /tmp/unknown.html -w '%{http_code}' -H 'Host: nope.agents.test' http://127.0.0.1/)
[ "$code" = 503 ] && grep -q "No app here" /tmp/unknown.html || fail "unknown host answered $code"
echo "unknown host: 503 page"
python3 - <<'PY' || fail "no ack from the router"
import json, time
for _ in range(50):
    acks = json.load(open("/run/fake-acks.json"))
    if any(a["router"] == "slipway-agents-host" for a in acks):
        break
    time.sleep(0.2)
else:
    raise SystemExit(1)
PY
echo "ack: received"
code=$(curl -s -o /tmp/ctl.json -w '%{http_code}' --cacert /etc/slipway/tls/ca.crt \
       --resolve slipway.agents.test:443:127.0.0.1 https://slipway.agents.test/nothing)
[ "$code" = 404 ] && grep -q '"detail"' /tmp/ctl.json || fail "controller vhost over TLS answered $code"
echo "controller vhost: TLS with the platform CA, proxied to the controller"
nginx -t -q || fail "nginx -t"

# the builder: a push with a known key deploys (the role's default deploy command: ansible-runner with a
# stand-in deploy playbook), shell and other apps are refused
cat >/var/lib/slipway/deploy/project/deploy.yml <<'YAML'
- name: Stand-in deploy playbook
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Read the pushed commit (still in git's quarantine)
      ansible.builtin.shell: git archive --format=tar {{ slipway_sha }} | tar -t
      args:
        chdir: "{{ slipway_repo }}"
      register: files
    - name: Report
      ansible.builtin.debug:
        msg: "fake deploy of {{ slipway_app }} by {{ slipway_user }}: {{ files.stdout_lines | join(',') }}"
YAML
chown git: /var/lib/slipway/deploy/project/deploy.yml
export GIT_SSH_COMMAND="ssh -i /root/alice_key -p 2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR"
rm -rf /tmp/client && git init -q -b main /tmp/client && cd /tmp/client
git config user.email a@example.test && git config user.name alice
echo hi >README && git add README && git commit -qm first
out=$(git push git@127.0.0.1:hello.git main 2>&1) || { echo "$out"; journalctl -t slipway-builder --no-pager | tail; fail "push"; }
echo "$out" | grep -q "remote: -----> Deploying hello" || { echo "$out"; fail "deploy header"; }
echo "$out" | grep -q "remote: .*fake deploy of hello by alice: README" || { echo "$out"; fail "deploy output not streamed"; }
echo "$out" | grep -q "PLAY RECAP" && { echo "$out"; fail "Ansible banners in the push output (slipway_push callback)"; }
echo "push: deployed"
out=$(git push git@127.0.0.1:other.git main 2>&1) && fail "push to another user's app"
echo "$out" | grep -q "You may not push to other" || { echo "$out"; fail "403 message"; }
out=$($GIT_SSH_COMMAND -T git@127.0.0.1 2>&1) && fail "shell"
echo "$out" | grep -q "Interactive shells are not available" || { echo "$out"; fail "shell message"; }
echo "refusals: ok"
# repositories are kept per app uuid (the stand-in controller's: uuid5 of the app's name)
repo=/var/lib/slipway/repos/$(python3 -c 'import uuid; print(uuid.uuid5(uuid.NAMESPACE_DNS, "hello"))').git
[ "$(stat -c %U "$repo")" = git ] || fail "repo owner"

# the stack image, pushed to the (plain, local) registry
curl -fsS -u builder:unused http://127.0.0.1:5000/v2/slipway/stack/tags/list | grep -q trixie || fail "stack image not in the registry"
docker image inspect slipway/stack:trixie >/dev/null || fail "stack image"
cid=$(docker create slipway/stack:trixie)
docker cp "$cid:/usr/bin/python3" - >/dev/null || fail "python3 in the stack image"
docker rm "$cid" >/dev/null
echo "stack image: slipway/stack:trixie with python3"
