#!/usr/bin/env bash
# Start a throwaway PostgreSQL on 127.0.0.1 for the tests; print its URL on stdout.
# Installs Debian's postgresql when it is missing. Runs the server as the
# postgres user when we are root (PostgreSQL refuses to run as root).
set -euo pipefail
PORT="${PGPORT_TEST:-55432}"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing postgresql from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
DATA="$(mktemp -d /tmp/coach-pg.XXXXXX)"
run_as() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = "0" ]; then chown postgres "$DATA"; fi
run_as "$BIN/initdb" -D "$DATA" -A trust -U coach --encoding=UTF8 --locale=C >&2
run_as "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
  -o "-p $PORT -c listen_addresses=127.0.0.1 -k $DATA -c fsync=on" start >&2
run_as "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U coach coach_test >&2
echo "postgresql://coach@127.0.0.1:${PORT}/coach_test"
