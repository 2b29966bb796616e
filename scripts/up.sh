#!/usr/bin/env bash
# Bring up Slipway on this machine (`make up`, after scripts/install.sh) and deploy the sample app with a
# real `git push`:
#   1. Docker Engine here (scripts/dev-services.sh), the Debian 13 systemd host image (scripts/build-host-image.sh),
#   2. the all-in-one platform host `slipway-aio` converged with molecule (store, database, registry, Swarm node,
#      controller, router, builder), skipped when it already runs converged (SLIPWAY_UP_CONVERGE=1 forces it),
#   3. a user `demo` registered by the platform's admin, with an SSH key,
#   4. the app `hello` created and examples/hello pushed over SSH to the builder (port 2222),
#   5. what to open: the app's URL, the dashboard's URL and the sign-in (the platform domain is under `localhost`,
#      which browsers and curl resolve to this machine's loopback address, where the router is published).
# Pushes run from this machine when molecule publishes the builder on 127.0.0.1 (port 12222), otherwise
# from inside the host; requests go through the router's published port (18080), otherwise inside the host; the controller API through
# the router's HTTPS port (18443).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH=$ROOT/.venv/bin:$PATH
HOST=${SLIPWAY_HOST:-slipway-aio}
APP=${SLIPWAY_UP_APP:-hello}
USERNAME=${SLIPWAY_UP_USER:-demo}
STATE=${SLIPWAY_UP_STATE:-$ROOT/.cache/up}
mkdir -p "$STATE"
export SLIPWAY_HOME=$STATE/cli-$HOST  # the CLI profile of this platform
in_host() { docker exec -i "$HOST" bash -c "$1"; }
published() { docker port "$HOST" "$1/tcp" 2>/dev/null | grep -m1 '^127\.0\.0\.1:' | cut -d: -f2 || true; }

converged() {
  [ "$(docker inspect -f '{{.State.Running}}' "$HOST" 2>/dev/null)" = true ] &&
    in_host 'systemctl is-active -q slipway-controller slipway-builder-sshd slipway-routesync nginx docker &&
             test -s /var/lib/slipway/deploy/env/extravars && curl -fsS http://127.0.0.1:8000/readiness' >/dev/null 2>&1
}

echo "-----> Docker Engine and the host image"
scripts/dev-services.sh >/dev/null
scripts/build-host-image.sh
if [ "${SLIPWAY_UP_CONVERGE:-0}" = 1 ] || ! converged; then
  # molecule keeps its own record of the host (~/.ansible/tmp): when the container is gone (removed by hand, or
  # by a run from another checkout) that record says "created" and converge would skip creating it, so forget
  # it; a stopped container (after a reboot) is started again, with its data.
  if ! docker inspect "$HOST" >/dev/null 2>&1; then
    molecule destroy >/dev/null 2>&1 || true
  elif [ "$(docker inspect -f '{{.State.Running}}' "$HOST")" != true ]; then
    echo "-----> Starting the stopped host $HOST"
    docker start "$HOST" >/dev/null
    in_host 'timeout 120 systemctl is-system-running --wait' >/dev/null 2>&1 || true  # booted (degraded is fine)
  fi
  echo "-----> Converging the all-in-one host $HOST (molecule/default; several minutes the first time)"
  molecule converge
fi
converged || { echo "$HOST is not converged" >&2; exit 1; }

# the controller API as users reach it: through the router's HTTPS port, trusting the platform CA
API_PORT=$(published 443)
if [ -n "$API_PORT" ]; then API=https://localhost:$API_PORT; else echo "the router's HTTPS port is not published" >&2; exit 1; fi
in_host 'cat /etc/slipway/tls/ca.crt' > "$STATE/ca.crt"
export SSL_CERT_FILE=$STATE/ca.crt
SSH_PORT=$(published 2222)
HTTP_PORT=$(published 80)

echo "-----> User $USERNAME"
[ -f "$STATE/password" ] || (umask 077 && openssl rand -hex 12 > "$STATE/password")
PW=$(cat "$STATE/password")
if ! slipway whoami >/dev/null 2>&1; then
  # registration is admin_only: the platform's admin (its token as the controller role saved it) registers the user
  python - "$API" "$USERNAME" "$PW" <<'PY'
import sys
from tests.e2e.conftest import API, admin_token
api, username, password = sys.argv[1:]
status, answer = API(api, admin_token(API(api)))("POST", "/v2/auth/register/", {
    "username": username, "password": password, "email": f"{username}@example.test"}, expect=(201, 409))
PY
  slipway login "$API" --ca "$STATE/ca.crt" --username "$USERNAME" --password "$PW" \
    ${SSH_PORT:+--builder-host 127.0.0.1:$SSH_PORT} >/dev/null
fi

echo "-----> SSH key and app $APP"
WORK=$STATE/hello
rm -rf "$WORK" && mkdir -p "$WORK"
# the app's files (not a __pycache__ folder that a test run may have left beside them)
find examples/hello -maxdepth 1 -type f ! -name '*.pyc' -exec cp -t "$WORK/" {} +
git -C "$WORK" init -q -b main
git -C "$WORK" -c user.email="$USERNAME@example.test" -c user.name="$USERNAME" add -A
git -C "$WORK" -c user.email="$USERNAME@example.test" -c user.name="$USERNAME" commit -qm "hello"
if [ -n "$SSH_PORT" ]; then  # push from this machine
  [ -f "$STATE/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "$USERNAME@slipway-up" -f "$STATE/id_ed25519"
  export GIT_SSH_COMMAND="ssh -i $STATE/id_ed25519 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
  PUSH_DIR=$WORK
else                          # push from inside the host, to its builder on 127.0.0.1:2222
  in_host "mkdir -p /root/slipway-up && { test -f /root/slipway-up/id_ed25519 ||
           ssh-keygen -q -t ed25519 -N '' -C $USERNAME@slipway-up -f /root/slipway-up/id_ed25519; }"
  in_host "cat /root/slipway-up/id_ed25519.pub" > "$STATE/id_ed25519.pub"
  PUSH_DIR=/root/slipway-up/hello
fi
slipway keys:list 2>/dev/null | grep -q "$USERNAME@slipway-up" || slipway keys:add "$STATE/id_ed25519.pub" >/dev/null
slipway apps:info -a "$APP" >/dev/null 2>&1 || slipway apps:create "$APP" --no-remote >/dev/null
DOMAIN=$(slipway apps:info -a "$APP" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["url"].split("://")[-1].strip("/"))')

echo "-----> git push $APP main"
if [ -n "$SSH_PORT" ]; then
  git -C "$WORK" push --force "ssh://git@127.0.0.1:$SSH_PORT/$APP.git" HEAD:main
else
  in_host "rm -rf $PUSH_DIR" && docker cp "$WORK" "$HOST:$PUSH_DIR"
  in_host "cd $PUSH_DIR && GIT_SSH_COMMAND='ssh -i /root/slipway-up/id_ed25519 -p 2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR' git push --force git@127.0.0.1:$APP.git HEAD:main"
fi

echo
if [ -n "$HTTP_PORT" ]; then
  APP_URL="http://$DOMAIN:$HTTP_PORT/"
  ANSWER=$(curl -fsS --retry 5 --retry-connrefused --retry-delay 1 "$APP_URL")
else
  APP_URL="docker exec $HOST curl -H 'Host: $DOMAIN' http://127.0.0.1/"
  ANSWER=$(in_host "curl -fsS -H 'Host: $DOMAIN' http://127.0.0.1/")
fi
cat <<EOF
Slipway is up on $HOST.

  App:        $APP_URL
              -> $ANSWER
  Dashboard:  $API/dashboard/
  Sign in:    $USERNAME / $PW   (the password is kept in $STATE/password)
  TLS:        the platform's own CA signs $API; trust $STATE/ca.crt in your browser
              (or accept its warning once)
  CLI:        SLIPWAY_HOME=$SLIPWAY_HOME .venv/bin/slipway apps:list
  git push:   git push ssh://git@127.0.0.1:${SSH_PORT:-2222}/$APP.git main   (key: $STATE/id_ed25519)
EOF
