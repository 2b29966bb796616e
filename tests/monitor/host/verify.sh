#!/usr/bin/env bash
# Inside the monitor test host: Prometheus scrapes the node exporter (on the host's platform address, not all
# addresses), its rules are loaded, the backup alert fires with no backup recorded and clears once the textfile
# collector reports a fresh one; Alertmanager (on loopback, no cluster port) notifies a webhook receiver of both.
# Prints the host's address for the outside check (MONITOR ADDRESS <ip>).
set -euo pipefail
API=http://127.0.0.1:9090/api/v1
q() {  # q <path> <python expression on the JSON as j>: prints the expression's value
  curl -fsS --max-time 5 "$API/$1" | python3 -c "import json, sys; j = json.load(sys.stdin); print($2)"
}
wait_for() {  # wait_for <seconds> <description> <command...>
  local deadline=$(($(date +%s) + $1)) what=$2; shift 2
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "FAIL: $what"; return 1; }
    sleep 2
  done
  echo "ok: $what"
}

ADDR=$(ip -4 route get 1.1.1.1 | sed -n 's/.* src \([0-9.]*\).*/\1/p')
echo "MONITOR ADDRESS $ADDR"
ss -ltnH | awk '{print $4}' | grep -x >/dev/null "$ADDR:9100" || { echo "FAIL: node exporter not on $ADDR:9100"; ss -ltn; exit 1; }
! ss -ltnH | awk '{print $4}' | grep -E >/dev/null '^(0\.0\.0\.0|\*|\[::\]):9100$' || { echo "FAIL: node exporter on all addresses"; exit 1; }
for port in 9090 9093; do
  ss -ltnH | awk '{print $4}' | grep -x >/dev/null "127.0.0.1:$port" || { echo "FAIL: nothing on 127.0.0.1:$port"; ss -ltn; exit 1; }
done
! ss -ltnH | awk '{print $4}' | grep -E >/dev/null ':9094$' || { echo "FAIL: Alertmanager's cluster port is open"; exit 1; }
echo "ok: node exporter on $ADDR:9100, Prometheus on 127.0.0.1:9090, Alertmanager on 127.0.0.1:9093 alone"

# the webhook receiver Alertmanager notifies (converge.yml): every notification's JSON, one per line
cat >/root/hook.py <<'PY'
import http.server, json
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with open("/root/hook.log", "a") as log:
            for a in body["alerts"]:
                log.write(f"{a['status']} {a['labels']['alertname']}\n")
        self.send_response(200); self.end_headers()
http.server.HTTPServer(("127.0.0.1", 9099), Hook).serve_forever()
PY
: >/root/hook.log
systemd-run --quiet --unit=slipway-test-hook python3 /root/hook.py

stat -c '%U %a' /etc/prometheus/metrics.key | grep -x >/dev/null 'prometheus 400' || { echo "FAIL: key file"; exit 1; }
nft list chain inet slipway metrics_slipway_input | grep >/dev/null 'tcp dport 9100' || { echo "FAIL: no metrics wall"; exit 1; }
echo "ok: key file for prometheus alone, metrics wall loaded"

up() { [ "$(q 'query?query=up%7Bjob%3D%22node%22%7D' "[r['value'][1] for r in j['data']['result']]")" = "['1']" ]; }
wait_for 60 "the node exporter target is up" up
rules() { q rules "sorted(r['name'] for g in j['data']['groups'] for r in g['rules'])" | grep >/dev/null SlipwayBackupMissing; }
wait_for 30 "the platform's rules are loaded" rules
q rules "len([r for g in j['data']['groups'] for r in g['rules'] if r['health'] != 'ok'])" | grep -x >/dev/null 0 \
  || { echo "FAIL: a rule does not evaluate"; q rules "j"; exit 1; }
firing() { q alerts "[a['labels']['alertname'] for a in j['data']['alerts'] if a['state'] == 'firing']" \
  | grep >/dev/null SlipwayBackupMissing; }
wait_for 180 "SlipwayBackupMissing fires (no backup, 60 s window)" firing
notified() { grep -qx "$1 SlipwayBackupMissing" /root/hook.log; }
wait_for 60 "Alertmanager notifies the receiver of SlipwayBackupMissing" notified firing
am=$(curl -fsS --max-time 5 http://127.0.0.1:9093/api/v2/alerts | python3 -c 'import json, sys; print(sorted(a["labels"]["alertname"] for a in json.load(sys.stdin)))')
[ "$am" = "['SlipwayBackupMissing']" ] || { echo "FAIL: Alertmanager holds $am"; exit 1; }
only=$(q alerts "sorted(a['labels']['alertname'] for a in j['data']['alerts'])")
[ "$only" = "['SlipwayBackupMissing']" ] || { echo "FAIL: other alerts: $only"; exit 1; }

# a backup recorded through the textfile collector, as the database role writes it
printf 'slipway_backup_last_success_timestamp_seconds{type="base"} %s\n' "$(date +%s)" \
  >/var/lib/prometheus/node-exporter/slipway_backup.prom.tmp
mv /var/lib/prometheus/node-exporter/slipway_backup.prom.tmp /var/lib/prometheus/node-exporter/slipway_backup.prom
cleared() { ! firing; }
wait_for 60 "SlipwayBackupMissing clears once a backup is recorded" cleared
wait_for 60 "Alertmanager notifies the receiver that it is resolved" notified resolved
echo "MONITOR OK"
