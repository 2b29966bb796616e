#!/usr/bin/env bash
# Bring up Slipway on this machine and deploy a sample app.
#
# Today this runs what exists: the controller (uvicorn) on 127.0.0.1:8000 with its PostgreSQL and the
# Swarm scheduler on this machine's Docker Engine, a user `admin` logged in with the `slipway` CLI, and
# the sample app deployed from the test image. The all-in-one systemd host (molecule/default) with the
# builder, router and registry replaces this as those roles land (issues 4 and 5).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
STATE=$ROOT/.cache/up
mkdir -p "$STATE"
PG=$(scripts/dev-services.sh)
scripts/build-test-image.sh web
DB_URL=${PG%/postgres}/slipway
psql "$PG" -qtAc "SELECT 1 FROM pg_database WHERE datname='slipway'" | grep -q 1 || psql "$PG" -qc "CREATE DATABASE slipway"

[ -f "$STATE/env" ] || cat > "$STATE/env" <<ENV
SLIPWAY_DATABASE_URL=$DB_URL
SLIPWAY_PLATFORM_DOMAIN=slipway.local
SLIPWAY_BUILDER_KEY=$(openssl rand -hex 24)
SLIPWAY_ROUTER_KEY=$(openssl rand -hex 24)
SLIPWAY_NODE_ADDRESS=127.0.0.1
ENV
chmod 600 "$STATE/env"
set -a; . "$STATE/env"; set +a
.venv/bin/python -m controller_app.migrate
if ! curl -fsS http://127.0.0.1:8000/healthz >/dev/null 2>&1; then
  nohup .venv/bin/uvicorn controller_app.main:app --host 127.0.0.1 --port 8000 >"$STATE/controller.log" 2>&1 &
  for _ in $(seq 100); do curl -fsS http://127.0.0.1:8000/readiness >/dev/null 2>&1 && break; sleep 0.2; done
fi

export SLIPWAY_HOME=$STATE/cli
[ -f "$STATE/password" ] || (openssl rand -hex 12 > "$STATE/password" && chmod 600 "$STATE/password")
PW=$(cat "$STATE/password")
slipway=".venv/bin/slipway"
$slipway whoami >/dev/null 2>&1 || \
  $slipway register http://127.0.0.1:8000 --username admin --password "$PW" --email admin@slipway.local >/dev/null 2>&1 || \
  $slipway login http://127.0.0.1:8000 --username admin --password "$PW" >/dev/null
$slipway apps:info -a hello >/dev/null 2>&1 || $slipway apps:create hello --no-remote >/dev/null
TOKEN=$(.venv/bin/python -c "import json,glob; print(json.load(open(glob.glob('$SLIPWAY_HOME/*.json')[0]))['token'])")
curl -fsS -o /dev/null -H "Authorization: token $TOKEN" -H 'Content-Type: application/json' \
  -d '{"image": "slipway-test/web:1"}' http://127.0.0.1:8000/v2/apps/hello/builds/ || true
$slipway config:set MESSAGE="Hello from Slipway" -a hello >/dev/null 2>&1 || true
PORT=$(curl -fsS -H "X-Slipway-Router-Auth: $SLIPWAY_ROUTER_KEY" http://127.0.0.1:8000/v2/routes | \
  .venv/bin/python -c "import json,sys; a=[x for x in json.load(sys.stdin)['apps'] if x['id']=='hello'][0]; print(a['endpoints'][0]['port'])")
echo "Controller:  http://127.0.0.1:8000   (CLI: SLIPWAY_HOME=$SLIPWAY_HOME .venv/bin/slipway apps:list)"
echo "Sample app:  http://127.0.0.1:$PORT/  ->  $(curl -fsS http://127.0.0.1:$PORT/)"
