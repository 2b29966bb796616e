#!/usr/bin/env bash
# Inside the monitor test host: Prometheus scrapes the node exporter (on the host's platform address, not all
# addresses), its rules are loaded, the backup alert fires with no backup recorded and clears once the textfile
# collector reports a fresh one. Prints the host's address for the outside check (MONITOR ADDRESS <ip>).
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
ss -ltnH | awk '{print $4}' | grep -x >/dev/null "127.0.0.1:9090" || { echo "FAIL: Prometheus not on loopback"; ss -ltn; exit 1; }
echo "ok: node exporter on $ADDR:9100, Prometheus on 127.0.0.1:9090"

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
only=$(q alerts "sorted(a['labels']['alertname'] for a in j['data']['alerts'])")
[ "$only" = "['SlipwayBackupMissing']" ] || { echo "FAIL: other alerts: $only"; exit 1; }

# a backup recorded through the textfile collector, as the database role writes it
printf 'slipway_backup_last_success_timestamp_seconds{type="base"} %s\n' "$(date +%s)" \
  >/var/lib/prometheus/node-exporter/slipway_backup.prom.tmp
mv /var/lib/prometheus/node-exporter/slipway_backup.prom.tmp /var/lib/prometheus/node-exporter/slipway_backup.prom
cleared() { ! firing; }
wait_for 60 "SlipwayBackupMissing clears once a backup is recorded" cleared
echo "MONITOR OK"
