#!/usr/bin/env bash
# Build the tiny images the scheduler tests deploy, without pulling anything (the tests need no
# container registry): a root filesystem holding Debian's static busybox (package busybox-static) and
# its applet links, `docker import`-ed.
#
#   scripts/build-test-image.sh            # build slipway-test/web:1 and slipway-test/broken:1 unless present
#   scripts/build-test-image.sh web        # only the web image (also: broken)
#   scripts/build-test-image.sh --force    # rebuild
#
# slipway-test/web:1     busybox httpd on $PORT (default 8080), as CMD:
#                          GET /          200, body: "<MESSAGE or hello> release=<SLIPWAY_RELEASE> host=<hostname>"
#                                         (a CGI script, cgi-bin/index.cgi)
#                          GET /env/NAME  the value of env var NAME (written at start), 404 when unset
# slipway-test/broken:1  the same root filesystem, but its CMD prints a line and sleeps: never listens.
#
# Images carry a label with a hash of this script: an edited script rebuilds, an unchanged one is a
# no-op (well under a second). Needs a running Docker Engine and /bin/busybox from busybox-static.
set -euo pipefail

SELF_HASH=$(sha256sum "$0" | cut -c1-16)
FORCE=0
WANT=()
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    web|broken) WANT+=("$arg") ;;
    *) echo "usage: $0 [--force] [web] [broken]" >&2; exit 2 ;;
  esac
done
[ ${#WANT[@]} -eq 0 ] && WANT=(web broken)

current() {  # image is present and built by this version of the script
  [ "$FORCE" = 0 ] || return 1
  [ "$(docker image inspect --format '{{index .Config.Labels "slipway.test-image"}}' "$1" 2>/dev/null)" = "$SELF_HASH" ]
}

TODO=()
for v in "${WANT[@]}"; do
  current "slipway-test/$v:1" || TODO+=("$v")
done
if [ ${#TODO[@]} -eq 0 ]; then
  exit 0
fi

BUSYBOX=""
for candidate in /bin/busybox /usr/bin/busybox; do
  if [ -x "$candidate" ] && "$candidate" --list >/dev/null 2>&1 && ! ldd "$candidate" >/dev/null 2>&1; then
    BUSYBOX=$candidate; break
  fi
done
if [ -z "$BUSYBOX" ]; then
  # a dynamically linked busybox (package busybox) would not run in an empty root filesystem
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
  BUSYBOX=/bin/busybox
fi

WORK=$(mktemp -d /var/tmp/slipway-test-image.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
R=$WORK/rootfs
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,app,www/cgi-bin,www/env,root}
chmod 1777 "$R/tmp"
cp "$BUSYBOX" "$R/bin/busybox"
for applet in $("$R/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$R/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"

cat >"$R/app/start" <<'EOF'
#!/bin/sh
# Write every env var as /www/env/NAME (served as a static file), then serve on $PORT.
PORT=${PORT:-8080}
rm -f /www/env/*
for name in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p'); do
  eval "printf '%s' \"\${$name}\"" >"/www/env/$name"
done
echo "web: listening on $PORT as $(hostname)"
exec httpd -f -p "$PORT" -h /www
EOF
cat >"$R/www/cgi-bin/index.cgi" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
printf '%s release=%s host=%s\n' "${MESSAGE:-hello}" "${SLIPWAY_RELEASE:-}" "$(hostname)"
EOF
chmod 755 "$R/app/start" "$R/www/cgi-bin/index.cgi"

build() {  # variant cmd-json
  tar -C "$R" -c . | docker import \
    --change "ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin" \
    --change "ENV PORT=8080" \
    --change "LABEL slipway.test-image=$SELF_HASH" \
    --change "EXPOSE 8080" \
    --change "CMD $2" \
    - "slipway-test/$1:1" >/dev/null
  echo "built slipway-test/$1:1"
}
for v in "${TODO[@]}"; do
  case "$v" in
    web) build web '["/app/start"]' ;;
    broken) build broken '["/bin/sh", "-c", "echo broken: never listening; exec sleep 2147483647"]' ;;
  esac
done
