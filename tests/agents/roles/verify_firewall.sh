#!/usr/bin/env bash
# Runs inside the role test host after the builder converged: the platform's firewall (nftables table
# inet slipway, here with the builder's walls) outlives what a host goes through.
#   verify_firewall.sh record         a Docker Engine restart, and a restart of Debian's nftables.service (whose
#                                     configuration flushes every rule) leave the table as it was; keeps a copy
#   verify_firewall.sh after-reboot   after the host restarted, the table is loaded again, as it was
#   verify_firewall.sh after-converge after the table was deleted by hand, the role's next run loaded it again
set -euo pipefail
fail() { echo "FAIL: $*"; exit 1; }
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND exited $?"' ERR
SAVED=/var/lib/slipway-firewall-test.nft
table() { nft -s list table inet slipway; }

case $1 in
record)
  before=$(table)
  grep -q 'iifname "slipway-build"' <<<"$before" || fail "the builder's walls are not in the table"
  systemctl restart docker
  [ "$(table)" = "$before" ] || fail "a Docker Engine restart changed the firewall"
  echo "docker restart: the table as it was"
  grep -q "flush ruleset" /etc/nftables.conf || fail "/etc/nftables.conf does not flush the ruleset"
  systemctl restart nftables.service
  [ "$(table)" = "$before" ] || fail "after nftables.service flushed the ruleset, the table was not loaded again"
  echo "nftables.service restart (flush ruleset): the table loaded again"
  systemctl stop nftables.service  # its stop flushes every rule too
  [ "$(table)" = "$before" ] || fail "after nftables.service stopped, the table was not loaded again"
  echo "nftables.service stop (flush ruleset): the table loaded again"
  systemctl restart docker  # Docker's own rules went with the flushes
  printf '%s\n' "$before" >"$SAVED"
  ;;
after-reboot)
  for _ in $(seq 120); do  # systemd's bus comes up a moment after the container starts
    case $(systemctl is-system-running --wait 2>/dev/null) in running | degraded) break ;; esac
    sleep 1
  done
  [ "$(table)" = "$(cat "$SAVED")" ] || fail "after a reboot the table is not the one loaded before"
  systemctl is-active --quiet slipway-firewall docker || fail "slipway-firewall or docker is not active"
  echo "reboot: the table loaded at boot, as it was"
  ;;
after-converge)
  [ "$(table)" = "$(cat "$SAVED")" ] || fail "the role ran again and left the table deleted by hand missing"
  echo "table deleted by hand: the role's next run loaded it again"
  ;;
*) fail "usage: verify_firewall.sh record|after-reboot|after-converge" ;;
esac
