#!/usr/bin/env bash
# The local stack, installed and run by the project itself.
#
#   infra/local/stack.sh install        install what is missing (idempotent): PostgreSQL server
#                                       binaries (Debian package), a project venv with moto[server],
#                                       cargo-lambda (brings zig) and cfn-lint, a venv with the SAM
#                                       CLI, cargo-nextest
#   infra/local/stack.sh install-peers  the same, plus the benchmarks' Python peers in the venv
#   infra/local/stack.sh exec CMD...    start a private PostgreSQL cluster and moto on free loopback
#                                       ports, export DATABASE_URL / AWS_* for CMD, run it, tear down
#
# STACK_PG_DATA=DIR keeps the cluster's data in DIR across runs (created when missing; the server
# is still stopped at the end). Without it the cluster lives and dies in a temporary directory.
# PG_EXTRA_OPTS adds server options, e.g. PG_EXTRA_OPTS="-c shared_preload_libraries=auto_explain
# -c auto_explain.log_min_duration=5 -c auto_explain.log_analyze=on" to see where a statement's
# time goes (the server log is in the temporary directory, kept only while the stack runs).
#
# Works as root (initdb runs as the postgres user) and as a normal user. Nothing is left running.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV=${VENV:-$ROOT/.venv}
SAM_VENV=${SAM_VENV:-$ROOT/.venv-sam}
PY_TOOLS=("moto[server]==5.2.5" "cargo-lambda==1.9.2" "cfn-lint==1.58.0")
SAM_TOOLS=("aws-sam-cli==1.170.0")
# The Python peers `make bench` measures beside the platform (psycopg, XlsxWriter), in $VENV.
PEER_TOOLS=("psycopg[binary]==3.3.9" "XlsxWriter==3.3.1")

log() { echo "[stack] $*" >&2; }
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else log "root is needed to run: $*"; return 1
  fi
}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

pg_bindir() {
  local d
  for d in "${PGBIN:-}" "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  return 1
}

install() {
  if ! pg_bindir >/dev/null; then
    log "installing PostgreSQL server binaries (Debian packages postgresql, postgresql-contrib)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >/dev/null
  fi
  # LibreOffice (Calc, headless) and poppler print the workbooks in the tests, as a client would.
  if [ "${STACK_NO_OFFICE:-0}" != 1 ] && { ! command -v soffice >/dev/null || ! command -v pdftotext >/dev/null; }; then
    log "installing LibreOffice Calc (headless) and poppler-utils (Debian packages libreoffice-calc-nogui, poppler-utils)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui poppler-utils >/dev/null
  fi
  # Chromium and its WebDriver drive the operator console's browser tests and screenshots.
  if [ "${STACK_NO_BROWSER:-0}" != 1 ] && { ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; }; then
    log "installing Chromium and ChromeDriver (Debian packages chromium, chromium-driver)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    log "creating the postgres user"
    useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
  fi
  if [ ! -x "$VENV/bin/moto_server" ] || [ ! -x "$VENV/bin/cargo-lambda" ] || [ ! -x "$VENV/bin/cfn-lint" ]; then
    log "installing ${PY_TOOLS[*]} into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_TOOLS[@]}"
  fi
  if [ "${STACK_NO_SAM:-0}" != 1 ] && [ ! -x "$SAM_VENV/bin/sam" ]; then
    log "installing ${SAM_TOOLS[*]} into $SAM_VENV"
    python3 -m venv "$SAM_VENV"
    "$SAM_VENV/bin/pip" install -q --disable-pip-version-check "${SAM_TOOLS[@]}"
  fi
  if ! cargo nextest --version >/dev/null 2>&1; then
    log "installing cargo-nextest"
    cargo install cargo-nextest --locked
  fi
}

run_with_stack() {
  moto_pid=""
  pgdata=""
  pgbin=$(pg_bindir) || { log "PostgreSQL binaries missing: run '$0 install'"; exit 1; }
  [ -x "$VENV/bin/moto_server" ] || { log "moto missing: run '$0 install'"; exit 1; }
  work=$(mktemp -d "${TMPDIR:-/tmp}/platform-stack.XXXXXX")
  cleanup() {
    set +e
    if [ -f "$pgdata/postmaster.pid" ]; then as_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1; fi
    if [ -n "$moto_pid" ]; then kill "$moto_pid" 2>/dev/null; wait "$moto_pid" 2>/dev/null; fi
    rm -rf "$work"
  }
  trap cleanup EXIT INT TERM

  moto_port=$(free_port)
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
  moto_pid=$!

  mkdir -p "$work/pg"
  if [ "$(id -u)" = 0 ]; then chmod 755 "$work"; chown postgres:postgres "$work/pg"; fi
  pgdata=${STACK_PG_DATA:-$work/pg/data}
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    mkdir -p "$(dirname "$pgdata")"
    if [ "$(id -u)" = 0 ]; then chmod 755 "$(dirname "$pgdata")"; chown postgres:postgres "$(dirname "$pgdata")"; fi
    as_pg "$pgbin/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$work/initdb.log" 2>&1 \
      || { cat "$work/initdb.log" >&2; exit 1; }
  fi
  pg_port=$(free_port)
  as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$work/pg/server.log" -w -t 30 \
    -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 ${PG_EXTRA_OPTS:-}" \
    start >/dev/null || { cat "$work/pg/server.log" >&2; exit 1; }

  local ok=0
  for _ in $(seq 1 100); do
    if curl -fs -o /dev/null "http://127.0.0.1:$moto_port/moto-api/"; then ok=1; break; fi
    sleep 0.1
  done
  [ "$ok" = 1 ] || { log "moto did not answer on port $moto_port"; cat "$work/moto.log" >&2; exit 1; }
  # moto 5.2.5's state dump (/moto-api/data.json, where tests and make run read the e-mails SES
  # "sent") fails once a multipart upload exists: its part objects belong to no bucket, and
  # reading their Glacier-restore state looks their bucket up. Objects are never restored here,
  # so that state is held still.
  curl -fs -o /dev/null -X POST "http://127.0.0.1:$moto_port/moto-api/state-manager/set-transition" \
    -H 'content-type: application/json' \
    -d '{"model_name": "s3::keyrestore", "transition": {"progression": "manual", "times": 1000000000}}' \
    || { log "moto refused the state-manager setting"; exit 1; }

  export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  unset AWS_PROFILE AWS_SESSION_TOKEN
  export DATABASE_URL="host=127.0.0.1 port=$pg_port user=postgres dbname=postgres"
  # Restarts this PostgreSQL (same port and options, from postmaster.opts): `make chaos` restarts
  # it in the middle of a run.
  local as=""
  if [ "$(id -u)" = 0 ]; then as="runuser -u postgres --"; fi
  printf '#!/usr/bin/env bash\nset -e\n%s "%s/pg_ctl" -D "%s" -m fast -w -t 30 restart >/dev/null\n' "$as" "$pgbin" "$pgdata" >"$work/pg-restart"
  chmod 755 "$work/pg-restart"
  export STACK_PG_RESTART="$work/pg-restart"
  export PATH="$VENV/bin:$SAM_VENV/bin:$PATH"
  export SAM_CLI_TELEMETRY=0
  log "postgres: $DATABASE_URL  moto: $AWS_ENDPOINT_URL"
  "$@"
}

install_peers() {
  if ! "$VENV/bin/python" -c 'import psycopg, xlsxwriter' >/dev/null 2>&1; then
    log "installing the benchmarks' Python peers ${PEER_TOOLS[*]} into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "${PEER_TOOLS[@]}"
  fi
}

case "${1:-}" in
  install) install ;;
  install-peers) install; install_peers ;;
  exec) shift; run_with_stack "$@" ;;
  *) echo "usage: $0 install | install-peers | exec CMD..." >&2; exit 2 ;;
esac
