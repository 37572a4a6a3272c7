#!/usr/bin/env bash
# `make console`: the operator console served locally over the demo warehouse of `make run`,
# with moto's queues and the vendor sandbox (whose OpenID Connect issuer signs people in).
# Runs inside `infra/local/stack.sh exec`. Stops with Ctrl-C.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
VENV=${VENV:-$ROOT/.venv}
PORT=${CONSOLE_PORT:-8080}
psql_q() { psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 "$@"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/platform-console.XXXXXX")
SANDBOX_PID=""
stop_all() {
  set +e
  [ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null && wait "$SANDBOX_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap stop_all EXIT INT TERM

cargo build --quiet -p operator-console -p vendor-sandbox -p platform-warehouse --bins
target/debug/vendor-sandbox --demo >"$WORK/sandbox.out" 2>"$WORK/sandbox.err" &
SANDBOX_PID=$!
for _ in $(seq 1 100); do grep -q '^listening ' "$WORK/sandbox.out" 2>/dev/null && break; sleep 0.1; done
SANDBOX_URL=$(sed -n 's/^listening //p' "$WORK/sandbox.out")
[ -n "$SANDBOX_URL" ] || { echo "sandbox did not start" >&2; cat "$WORK/sandbox.err" >&2; exit 1; }

SANDBOX_URL="$SANDBOX_URL" "$VENV/bin/python" infra/local/aws_setup.py >"$WORK/aws.env"
# shellcheck disable=SC1091
. "$WORK/aws.env"
export MEETMAX_QUEUE_URL REVIEW_BUCKET CONSOLE_QUEUES FORMSTACK_SECRET_ID DEDUPE_QUEUE_URL LEAD_QUEUE_URL \
  CONNECTOR_QUEUE_URL CONNECTOR_BUCKET EXPORT_QUEUE_URL EXPORT_BUCKET EXPORT_EMAIL_FROM
target/debug/warehouse-migrate
psql_q -f infra/local/seed-demo.sql -f infra/local/seed-demo-lander-form.sql
# The lead integrations deliver to this sandbox.
psql_q -v url="$SANDBOX_URL" <<'SQL'
UPDATE leads.integration SET endpoint = regexp_replace(endpoint, '^https?://[^/]+', :'url') WHERE id LIKE 'demo-%' AND endpoint IS NOT NULL;
SQL
registrations=$(psql_q -tA -c "SELECT count(*) FROM conferences_events.exchange_registration")
# A dead message to look at and redrive (moto starts empty with every run).
"$VENV/bin/python" - <<'PY'
import json, os, boto3
q = [x for x in json.loads(os.environ["CONSOLE_QUEUES"]) if x["name"] == "dedupe"][0]
boto3.client("sqs").send_message(QueueUrl=q["dead_letter_url"], MessageBody=json.dumps(
    {"kind": "registrations.changed", "version": 1, "ids": ["demo-dead-letter"], "run_id": "console-demo"}))
PY

export PUBLIC_URL="http://127.0.0.1:$PORT" CONSOLE_ADDR="127.0.0.1:$PORT"
export OIDC_ISSUER="$SANDBOX_URL/oidc" OIDC_CLIENT_ID=operator-console-local
export DATABASE_ROLE=platform_console S3_FORCE_PATH_STYLE=true RUST_LOG=${RUST_LOG:-info}
cat <<TXT

  Operator console: http://127.0.0.1:$PORT/
  Sign in at the sandbox's identity provider as admin@example.com, operator@example.com or
  viewer@example.com (any other address has no role unless added to console.person).
  The demo warehouse holds $registrations registrations (\`make run\` adds the demo's).
  Ctrl-C stops it.

TXT
target/debug/operator-console
