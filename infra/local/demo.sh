#!/usr/bin/env bash
# `make run`: the platform's main job end to end on local defaults. Runs inside
# `infra/local/stack.sh exec` (PostgreSQL + moto up, DATABASE_URL / AWS_* exported).
#
# 1. builds the functions and the vendor sandbox; starts the sandbox with its demo data
# 2. creates the queue and secret in moto; applies migrations; seeds the demo form configuration
# 3. runs the functions under `cargo lambda watch`; invokes formstack-intake with the schedule
#    event and the signed (and a forged) webhook from events/, then replays both
# 4. approves the registrations (the staff step), forwards the dedupe queue to company-dedupe as
#    Lambda's event source mapping would, and runs its sweep
# 5. forwards the meetmax-sync queue to meetmax-sync (companies, then attendees into the sandbox's
#    MeetMax event 90199), runs its sweep, and checks companies were created before their people
# 6. prints what happened; stops everything it started
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
VENV=${VENV:-$ROOT/.venv}
PY="$VENV/bin/python"

say() { printf '\n== %s\n' "$*"; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
psql_q() { psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 "$@"; }
wait_tcp() { for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; return 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/platform-run.XXXXXX")
SANDBOX_PID="" WATCH_PID=""
stop_all() {
  set +e
  [ -n "$WATCH_PID" ] && kill -INT "$WATCH_PID" 2>/dev/null && wait "$WATCH_PID" 2>/dev/null
  [ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null && wait "$SANDBOX_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap stop_all EXIT INT TERM

say "building the functions, the vendor sandbox and the migration tool"
cargo build --quiet -p formstack-intake -p company-dedupe -p meetmax-sync -p connector-pull -p session-register -p lead-delivery -p spreadsheet-export -p vendor-sandbox -p platform-warehouse --bins
cargo build --quiet -p integration-tests --bin read-workbook

say "starting the vendor sandbox (demo Formstack and MeetMax data)"
target/debug/vendor-sandbox --demo >"$WORK/sandbox.out" 2>"$WORK/sandbox.err" &
SANDBOX_PID=$!
for _ in $(seq 1 100); do grep -q '^listening ' "$WORK/sandbox.out" 2>/dev/null && break; sleep 0.1; done
SANDBOX_URL=$(sed -n 's/^listening //p' "$WORK/sandbox.out")
[ -n "$SANDBOX_URL" ] || { echo "sandbox did not start" >&2; cat "$WORK/sandbox.err" >&2; exit 1; }
echo "sandbox: $SANDBOX_URL"

say "creating the queue and secret in moto, migrating and seeding the warehouse"
SANDBOX_URL="$SANDBOX_URL" "$PY" infra/local/aws_setup.py >"$WORK/aws.env"
cat "$WORK/aws.env"
# shellcheck disable=SC1091
. "$WORK/aws.env"
if ! target/debug/warehouse-migrate 2>"$WORK/migrate.err"; then
  if grep -q "different than filesystem" "$WORK/migrate.err"; then
    # The demo warehouse predates a change to a migration (development only): start it afresh.
    echo "the demo warehouse predates a migration change; recreating it"
    psql_q -c "DROP SCHEMA IF EXISTS integration, conferences_events, console, connector, leads CASCADE; DROP TABLE IF EXISTS integration_schema_history"
    target/debug/warehouse-migrate
  else
    cat "$WORK/migrate.err" >&2
    exit 1
  fi
fi
psql_q -f infra/local/seed-demo.sql -f infra/local/seed-demo-lander-form.sql
# The sandbox's MeetMax starts empty on every run: point the demo account at it and forget what
# earlier runs sent to their sandboxes (demo warehouse only).
psql_q -v url="$SANDBOX_URL" -v secret="$MEETMAX_SECRET_ID" <<'SQL'
UPDATE integration.meetmax_account SET base_url = :'url', secret_id = :'secret' WHERE name = 'sandbox';
DELETE FROM integration.meetmax_sync;
DELETE FROM integration.meetmax_company;
UPDATE conferences_events.exchange_registration SET meetmax_id = NULL, meetmax_status = NULL
 WHERE meetmax_id IS NOT NULL OR meetmax_status IS NOT NULL;
SQL
RUN_START=$(psql_q -tA -c "SELECT now()")

cat >"$WORK/lambda.env" <<ENV
DATABASE_URL="$DATABASE_URL"
AWS_ENDPOINT_URL="$AWS_ENDPOINT_URL"
AWS_REGION="$AWS_REGION"
AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID"
AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
FORMSTACK_SECRET_ID="$FORMSTACK_SECRET_ID"
FORMSTACK_API_URL="$SANDBOX_URL/api/v2"
DEDUPE_QUEUE_URL="$DEDUPE_QUEUE_URL"
MEETMAX_QUEUE_URL="$MEETMAX_QUEUE_URL"
MEETMAX_TIMEOUT_SECONDS="10"
REVIEW_BUCKET="$REVIEW_BUCKET"
CONNECTOR_QUEUE_URL="$CONNECTOR_QUEUE_URL"
CONNECTOR_BUCKET="$CONNECTOR_BUCKET"
REGISTER_APP_KEYS_SECRET_ID="$REGISTER_APP_KEYS_SECRET_ID"
LEAD_QUEUE_URL="$LEAD_QUEUE_URL"
LEAD_ENDPOINT_KEYS_SECRET_ID="$LEAD_ENDPOINT_KEYS_SECRET_ID"
LEAD_TIMEOUT_SECONDS="5"
LEAD_EMAIL_FROM="$LEAD_EMAIL_FROM"
LEAD_BUCKET="$LEAD_BUCKET"
LEAD_TEAM_EMAIL="$LEAD_TEAM_EMAIL"
EXPORT_QUEUE_URL="$EXPORT_QUEUE_URL"
EXPORT_BUCKET="$EXPORT_BUCKET"
EXPORT_EMAIL_FROM="$EXPORT_EMAIL_FROM"
S3_FORCE_PATH_STYLE="true"
RUST_LOG="warn"
ENV

say "running the functions under cargo lambda watch"
WATCH_PORT=$(free_port)
cargo lambda watch -A 127.0.0.1 -P "$WATCH_PORT" --env-file "$WORK/lambda.env" \
  >"$WORK/watch.log" 2>&1 &
WATCH_PID=$!
wait_tcp "$WATCH_PORT" || { echo "cargo lambda watch did not start" >&2; cat "$WORK/watch.log" >&2; exit 1; }

invoke() {
  cargo lambda invoke formstack-intake -A 127.0.0.1 -P "$WATCH_PORT" --data-file "events/formstack-intake/$1" -o json 2>>"$WORK/invoke.err" \
    || { echo "invoke $1 failed:" >&2; cat "$WORK/invoke.err" "$WORK/watch.log" >&2; exit 1; }
}
status_of() { "$PY" -c 'import json,sys; r=json.load(sys.stdin); print(r["statusCode"], r.get("body", ""))'; }
summary_of() {
  "$PY" -c '
import json, sys
r = json.load(sys.stdin); c = r["counts"]
print("read {}, written {}, skipped {}, failed {}; Formstack calls {}; ids sent to dedupe {}".format(
    c["read"], c["written"], c["skipped"], c["failed"], r["calls"], r["published"]))
for n in c["notes"]:
    print("  note: " + n)'
}

# The signed webhook's raw body and signature, to POST over HTTP to the function URL as Formstack does.
"$PY" - "$WORK" <<'PYEOF'
import base64, json, sys
ev = json.load(open("events/formstack-intake/webhook-valid.json"))
open(sys.argv[1] + "/webhook.body", "wb").write(base64.b64decode(ev["body"]))
open(sys.argv[1] + "/webhook.sig", "w").write(ev["headers"]["x-fs-signature"])
PYEOF
post_webhook() {
  curl -s -o "$WORK/post.out" -w '%{http_code}' -X POST "http://127.0.0.1:$WATCH_PORT/lambda-url/formstack-intake/" \
    -H 'content-type: application/x-www-form-urlencoded; charset=utf-8' \
    -H 'user-agent: FormstackWebhook/1.0 (Form 5095980)' \
    -H "x-fs-signature: $(cat "$WORK/webhook.sig")" --data-binary "@$WORK/webhook.body"
}

for pass in first replay; do
  say "$pass pass: scheduled pull (events/formstack-intake/schedule.json)"
  invoke schedule.json | summary_of
  say "$pass pass: signed webhook (events/formstack-intake/webhook-valid.json)"
  echo "HTTP $(invoke webhook-valid.json | status_of)"
  say "$pass pass: signed webhook of the demo lander form (events/formstack-intake/webhook-lander.json): a lead"
  echo "HTTP $(invoke webhook-lander.json | status_of)"
  say "$pass pass: forged webhook (events/formstack-intake/webhook-forged.json)"
  echo "HTTP $(invoke webhook-forged.json | status_of)"
  say "$pass pass: the same signed webhook POSTed over HTTP to the function URL"
  echo "HTTP $(post_webhook) $(cat "$WORK/post.out")"
done

say "staff approve every active registration (in production a person does this)"
psql_q -c "UPDATE conferences_events.exchange_registration SET approval_status = 'Approved' WHERE registration_status = 'Active' AND approval_status IS NULL"

say "company-dedupe: the dedupe queue forwarded as Lambda's event source mapping would, then the sweep"
"$PY" infra/local/forward_sqs.py "$DEDUPE_QUEUE_URL" company-dedupe "$WATCH_PORT"
cargo lambda invoke company-dedupe -A 127.0.0.1 -P "$WATCH_PORT" --data-file events/company-dedupe/sweep.json -o json 2>>"$WORK/invoke.err" \
  | "$PY" -c 'import json,sys; r=json.load(sys.stdin); print("sweep: {} new names, {} released".format(r["new_names"], r["released"]))'
REVIEW_KEY=$(cargo lambda invoke company-dedupe -A 127.0.0.1 -P "$WATCH_PORT" --data-file events/company-dedupe/export-review.json -o json 2>>"$WORK/invoke.err" \
  | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["review_workbook"])')

say "meetmax-sync: the meetmax queue forwarded to meetmax-sync, then its sweep"
"$PY" infra/local/forward_sqs.py "$MEETMAX_QUEUE_URL" meetmax-sync "$WATCH_PORT"
cargo lambda invoke meetmax-sync -A 127.0.0.1 -P "$WATCH_PORT" --data-file events/meetmax-sync/sweep.json -o json 2>>"$WORK/invoke.err" \
  | "$PY" -c 'import json,sys; r=json.load(sys.stdin); print("sweep: {}, {} MeetMax calls, {} marked waiting".format(r["counts"], r["calls"], r["marked_waiting"]))' \
  || { echo "meetmax-sync sweep failed:" >&2; cat "$WORK/invoke.err" "$WORK/watch.log" >&2; exit 1; }

say "report"
psql_q -v run_start="$RUN_START" <<'SQL'
\pset footer off
SELECT count(*) FILTER (WHERE created_at >= :'run_start') AS registrations_new_in_this_run,
       count(*) AS registrations_in_warehouse,
       count(DISTINCT registration_id) AS distinct_registration_ids
  FROM conferences_events.exchange_registration;
SELECT source, mapping_status, count(*) AS raw_rows
  FROM integration.raw_submission GROUP BY 1, 2 ORDER BY 1, 2;
SELECT submission_id, mapping_error
  FROM integration.raw_submission WHERE mapping_status = 'error' ORDER BY submission_id;
SELECT trigger, status, read_count AS read, written_count AS written, skipped_count AS skipped, failed_count AS failed
  FROM integration.run WHERE started_at >= :'run_start' ORDER BY started_at;
SELECT registration_id, first_name, last_name, organization, registration_type
  FROM conferences_events.exchange_registration ORDER BY registration_id LIMIT 20;
SQL
psql_q <<'SQL'
\pset footer off
SELECT n.original_organization, n.suggested_clean, round(n.suggestion_score::numeric, 2) AS score,
       n.auto_approved, o.reviewed,
       (SELECT count(*) FROM conferences_events.exchange_registration r WHERE r.organization = n.original_organization) AS registrations
  FROM integration.organization_name n
  JOIN conferences_events.exchange_organizations o ON o.id = n.exchange_organization_id
 ORDER BY o.reviewed DESC, n.original_organization;
SELECT count(*) AS released_to_meetmax_sync FROM integration.meetmax_release;
SQL
psql_q <<'SQL'
\pset footer off
SELECT r.registration_id, initcap(r.first_name) || ' ' || initcap(r.last_name) AS name, r.registration_type,
       m.company AS meetmax_company, r.meetmax_id, r.meetmax_status
  FROM conferences_events.exchange_registration r
  LEFT JOIN integration.meetmax_registration m ON m.registration_id = r.registration_id
 WHERE r.form_id = '5095980' ORDER BY r.registration_id;
SELECT company, meetmax_id, adopted FROM integration.meetmax_company ORDER BY company;
SQL
curl -s "$SANDBOX_URL/__sandbox/meetmax/records" | "$PY" -c '
import json, sys
records = [r for r in json.load(sys.stdin) if r["event_id"] == "90199"]
entities = {r["fields"]["company"]: r["id"] for r in records if r["fields"].get("is_entity") == "Y"}
people = [r for r in records if r["fields"].get("is_entity") != "Y"]
reps = [p for p in people if p["fields"].get("attendee_role_id") == "NASPO2_SUPPLIER_ATT"]
late = [p["fields"]["crm_id"] for p in reps if entities.get(p["fields"]["company"], 10**12) > p["id"]]
crm = [p["fields"].get("crm_id") for p in people]
print("sandbox MeetMax event 90199: {} company entities, {} people".format(len(entities), len(people)))
if late:
    sys.exit("supplier attendees created before their company: {}".format(late))
if len(crm) != len(set(crm)):
    sys.exit("DUPLICATE MeetMax records for one registration")
print("every supplier attendee was created after its company; one MeetMax record per registration")'
eligible_without_id=$(psql_q -tA -c "SELECT count(*) FROM integration.meetmax_registration m JOIN integration.meetmax_release x USING (registration_id) WHERE m.approved_active AND m.meetmax_id IS NULL AND m.meetmax_status IS NULL")
if [ "$eligible_without_id" != 0 ]; then echo "$eligible_without_id released registrations hold neither a MeetMax id nor a reason" >&2; exit 1; fi
echo "messages waiting on the dedupe queue: $("$PY" infra/local/queue_depth.py "$DEDUPE_QUEUE_URL")"
echo "messages waiting on the meetmax-sync queue: $("$PY" infra/local/queue_depth.py "$MEETMAX_QUEUE_URL")"
echo "review workbook of what waits for review: s3://$REVIEW_BUCKET/$REVIEW_KEY (edit the decision column, upload under incoming/)"
dups=$(psql_q -tA -c "SELECT count(*) - count(DISTINCT registration_id) FROM conferences_events.exchange_registration")
if [ "$dups" != 0 ]; then echo "DUPLICATE registrations: $dups" >&2; exit 1; fi
echo "no duplicate registrations"

say "connector-pull: the sandbox's demo Aventri, Lenos and Cvent events (plan, then the queue forwarded to connector-pull)"
# Every make run starts the demo connection afresh (demo warehouse only), so the first pull is full.
psql_q <<'SQL'
DELETE FROM connector.schedule WHERE connection IN ('demo-aventri', 'demo-lenos');
DELETE FROM connector.participant WHERE connection IN ('demo-aventri', 'demo-lenos', 'demo-cvent');
DELETE FROM connector.session WHERE connection IN ('demo-aventri', 'demo-lenos', 'demo-cvent');
DELETE FROM connector.presenter WHERE connection IN ('demo-aventri', 'demo-cvent');
DELETE FROM connector.sponsor WHERE connection IN ('demo-aventri', 'demo-cvent');
DELETE FROM connector.sponsor_level WHERE connection IN ('demo-aventri', 'demo-cvent');
DELETE FROM connector.photo WHERE connection IN ('demo-aventri', 'demo-cvent');
DELETE FROM connector.location WHERE connection = 'demo-lenos';
DELETE FROM connector.session_tag WHERE connection = 'demo-lenos';
DELETE FROM connector.register_request WHERE connection = 'demo-lenos';
DELETE FROM connector.register_attempt WHERE connection = 'demo-lenos';
DELETE FROM connector.pacing;
UPDATE connector.stream SET cursor_at = NULL, last_full_pull_at = NULL, pull = NULL, lease_until = NULL, last_run_id = NULL
 WHERE connection IN ('demo-aventri', 'demo-lenos', 'demo-cvent');
SQL
connector_invoke() {
  cargo lambda invoke connector-pull -A 127.0.0.1 -P "$WATCH_PORT" --data-file "events/connector-pull/$1" -o json 2>>"$WORK/invoke.err" \
    || { echo "connector-pull $1 failed:" >&2; cat "$WORK/invoke.err" "$WORK/watch.log" >&2; exit 1; }
}
pull_round() {
  local since
  since=$(psql_q -tA -c "SELECT now()")
  connector_invoke plan.json >/dev/null
  "$PY" infra/local/forward_sqs.py "$CONNECTOR_QUEUE_URL" connector-pull "$WATCH_PORT"
  psql_q -v since="$since" <<'SQL'
SELECT connection, stream, mode, status, requests, read_count AS read, created_count AS created, updated_count AS updated,
       unchanged_count AS unchanged, skipped_count AS skipped, failed_count AS failed
  FROM connector.stream_run WHERE started_at >= :'since' ORDER BY connection, stream;
SELECT connection, stream, key AS skipped_because, value AS records
  FROM connector.stream_run, jsonb_each(skipped_reasons) WHERE started_at >= :'since' ORDER BY 1, 2, 3;
SELECT connection, stream, key AS also_wrote, value ->> 'created' AS created, value ->> 'updated' AS updated
  FROM connector.stream_run, jsonb_each(by_target) WHERE started_at >= :'since' ORDER BY 1, 2, 3;
SELECT connection, stream, jsonb_array_elements_text(notes) AS note
  FROM connector.stream_run WHERE started_at >= :'since' ORDER BY 1, 2;
SQL
}
echo "first pull (full):"
pull_round
psql_q <<'SQL'
SELECT connection, fp_ext_id, title, starts_at, master_ext_id FROM connector.sessions ORDER BY connection, starts_at, fp_ext_id;
SELECT connection, fp_ext_id, s3_key, bytes FROM connector.photo ORDER BY 1, 2;
SELECT connection, fp_status, raw_status, count(*) AS participants FROM connector.participants
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SQL
echo "second pull (Aventri participants incremental from the last pull minus one day, Lenos persons minus 10 minutes, Cvent every stream after the last pull minus an hour (speakers through their filter); the others in full):"
pull_round
echo "preview report:"
connector_invoke preview.json | "$PY" -c 'import json,sys; a=json.load(sys.stdin); print("  s3://platform-local-connectors/" + a["key"]); print("  " + a["url"]); print("  fields seen per stream: " + ", ".join(k + ": " + str(len(v["fields"])) for k, v in a["streams"].items()))'
echo "first contact (what each provider was seen to send where the public record is silent):"
psql_q <<'SQL'
SELECT name AS connection, key AS what, value ->> 'note' AS note
  FROM connector.connection, jsonb_each(first_contact) ORDER BY 1, 2;
SQL
live=$(psql_q -tA -c "SELECT count(*) FROM connector.participants WHERE connection = 'demo-aventri'")
[ "$live" = 7 ] || { echo "expected 7 demo participants, found $live" >&2; exit 1; }
cvent=$(psql_q -tA -c "SELECT (SELECT count(*) FROM connector.participant WHERE connection = 'demo-cvent' AND fp_status = 'active') || '/' || (SELECT count(*) FROM connector.sponsor_level WHERE connection = 'demo-cvent' AND removed_at IS NULL) || '/' || (SELECT manifest FROM connector.stream_run WHERE connection = 'demo-cvent' ORDER BY started_at DESC LIMIT 1)")
case "$cvent" in 3/2/cvent\ v*) echo "Cvent (a manifest only): 3 active attendees, 2 sponsorship levels, pulled by ${cvent#3/2/}" ;;
  *) echo "expected 3 active Cvent attendees and 2 levels, found $cvent" >&2; exit 1 ;; esac
echo "messages waiting on the connector queue: $("$PY" infra/local/queue_depth.py "$CONNECTOR_QUEUE_URL")"

say "two-way session registration: the demo event app asks session-register (its Function URL) to register attendees with Lenos"
register() { # person session request_id: POST the signed request, print the status and answer
  local body
  body=$(printf '{"person_id":"%s","session_id":"%s","request_id":"%s"}' "$1" "$2" "$3")
  "$PY" - "$body" "http://127.0.0.1:$WATCH_PORT/lambda-url/session-register/" <<'PY'
import hashlib, hmac, json, sys, time, urllib.request, urllib.error
body, url = sys.argv[1].encode(), sys.argv[2]
sig = "sha256=" + hmac.new(b"local-demo-app-key", body, hashlib.sha256).hexdigest()
req = urllib.request.Request(url, data=body, method="POST",
                             headers={"content-type": "application/json", "x-app-id": "demo-event-app", "x-signature": sig})
t = time.monotonic()
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        status, text = r.status, r.read().decode()
except urllib.error.HTTPError as e:
    status, text = e.code, e.read().decode()
a = json.loads(text)
print(f"  {json.loads(body)['person_id']} -> {json.loads(body)['session_id']}: HTTP {status} {a.get('answer')}"
      + (f" ({a['reason']})" if a.get("reason") else "") + (" [repeated: answered from the record]" if a.get("repeated") else "")
      + f" in {1000 * (time.monotonic() - t):.0f} ms")
PY
}
lenos_registers() { curl -s "$SANDBOX_URL/__sandbox/requests" | "$PY" -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["method"] == "POST" and r["path"].endswith("/registrations")))'; }
register p6 s6 demo-req-1
register p1 s3 demo-req-2
curl -s -o /dev/null -X POST "$SANDBOX_URL/__sandbox/lenos/switches" -H 'content-type: application/json' -d '{"latency_ms": 4000}'
echo "  (the sandbox's Lenos now answers after 4 s)"
register p2 s6 demo-req-3
curl -s -o /dev/null -X POST "$SANDBOX_URL/__sandbox/lenos/switches" -H 'content-type: application/json' -d '{}'
before=$(lenos_registers)
register p6 s6 demo-req-1
after=$(lenos_registers)
echo "  register calls Lenos received for the repeat: $((after - before))"
[ "$after" = "$before" ] || { echo "the repeated confirmation was sent to Lenos again" >&2; exit 1; }
psql_q <<'SQL'
SELECT request_id, person_ext_id AS person, session_ext_id AS session, answer, reason, attempts FROM connector.register_request
 WHERE connection = 'demo-lenos' ORDER BY request_id;
SELECT fp_ext_id AS registration, fp_status FROM connector.schedule WHERE connection = 'demo-lenos' ORDER BY 1;
SQL
say "lead-delivery: leads from four demo landers to Captorra, ICE and IntakeDesk in the sandbox"
# Three landers post to the signed lead endpoint; the fourth (demo-slip-lp) is the Formstack
# lander form 5211430, whose leads formstack-intake stored above (pull and webhook) and announced.
# The demo's leads and deliveries are kept from run to run: a second run posts the same leads,
# which are duplicates (nothing is delivered or confirmed twice). The sandbox moved: follow it.
psql_q -v url="$SANDBOX_URL" <<'SQL'
UPDATE leads.integration SET endpoint = regexp_replace(endpoint, '^https?://[^/]+', :'url')
 WHERE id LIKE 'demo-%' AND endpoint IS NOT NULL;
SQL
lead_invoke() {
  cargo lambda invoke lead-delivery -A 127.0.0.1 -P "$WATCH_PORT" --data-file "events/lead-delivery/$1" -o json 2>>"$WORK/invoke.err" \
    || { echo "lead-delivery $1 failed:" >&2; cat "$WORK/invoke.err" "$WORK/watch.log" >&2; exit 1; }
}
lead_invoke refresh-states.json | "$PY" -c '
import json, sys
for name, v in sorted(json.load(sys.stdin)["integrations"].items()):
    missing = ", ".join(v["missing"])
    print("  " + name + ": " + v["state"] + (" (missing: " + missing + ")" if missing else ""))
'
post_lead() { # lander lead_id fields-json: the lander's signed POST to the lead endpoint
  "$PY" - "$1" "$2" "$3" "http://127.0.0.1:$WATCH_PORT/lambda-url/lead-delivery/" <<'PY'
import hashlib, hmac, json, sys, urllib.request, urllib.error
lander, lead_id, fields, url = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
body = json.dumps({"lead_id": lead_id, "fields": fields}).encode()
sig = "sha256=" + hmac.new(b"local-demo-lander-key", body, hashlib.sha256).hexdigest()
req = urllib.request.Request(url, data=body, method="POST",
                             headers={"content-type": "application/json", "x-lander-id": lander, "x-signature": sig})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        status, text = r.status, r.read().decode()
except urllib.error.HTTPError as e:
    status, text = e.code, e.read().decode()
print(f"  {lander} {lead_id}: HTTP {status} {text}")
PY
}
post_lead demo-accident-lp acc-1 '{"first_name": " jordan ", "last_name": "Rivera", "phone": "(555) 010-2233", "email": "jordan@example.org", "details": "Rear-ended at a light."}'
post_lead demo-accident-lp acc-2 '{"first_name": "Sam", "email": "sam@example.org", "details": "No last name given."}'
post_lead demo-injury-lp inj-1 '{"first_name": "Alex", "last_name": "Chen", "phone": "555-010-4455"}'
post_lead demo-meso-lp meso-1 '{"first_name": "Pat", "last_name": "Morgan", "phone": "555 010 7788", "email": "pat@example.org"}'
"$PY" infra/local/forward_sqs.py "$LEAD_QUEUE_URL" lead-delivery "$WATCH_PORT"
psql_q <<'SQL'
SELECT l.lander_id, l.source_id AS lead, d.integration_id, d.status, d.response_status AS http, d.vendor_lead_id, d.reason
  FROM leads.delivery d JOIN leads.lead l ON l.id = d.lead_id WHERE l.lander_id LIKE 'demo-%' ORDER BY 1, 2, 3;
SELECT lander_id, integration_id, parser, state, delivered, waiting, failed, reasons FROM leads.lander_status
 WHERE lander_id LIKE 'demo-%' ORDER BY 1, 2;
SQL
echo "leads the sandbox's intake systems received: $(curl -s "$SANDBOX_URL/__sandbox/requests" | "$PY" -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["method"] == "POST" and (r["path"].endswith("api/create") or r["path"].startswith("/intakedesk/"))))')"
echo "confirmation e-mails moto's SES received in this run (one per integration that went live, never a second):"
curl -s "$AWS_ENDPOINT_URL/moto-api/data.json" | "$PY" -c '
import json, sys
msgs = json.load(sys.stdin).get("ses", {}).get("Message", [])
for m in msgs:
    print("  to " + ", ".join(m["destinations"].get("ToAddresses", [])) + ": " + m["subject"])
print("  (" + str(len(msgs)) + " e-mails)")
'
psql_q -c "SELECT integration_id, recipient, sent_at, message_id FROM leads.confirmation WHERE integration_id LIKE 'demo-%' ORDER BY 1"
echo "the to-do report (the afternoon list: integrations awaiting information, the leads waiting on them):"
lead_invoke todo-report.json | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
print("  s3://platform-local-leads/" + r["key"] + ": " + str(r["awaiting"]) + " integration(s) awaiting information, " + str(r["waiting_leads"]) + " lead(s) waiting")
print("  " + r["url"])
'
delivered=$(psql_q -tA -c "SELECT count(*) FROM leads.delivery WHERE integration_id LIKE 'demo-%' AND status = 'delivered'")
[ "$delivered" = 7 ] || { echo "expected 7 delivered demo leads (3 endpoint, 4 Formstack), found $delivered" >&2; exit 1; }

say "spreadsheet-export: the 05:00 UTC morning export of the demo landers (generic and custom templates)"
# The demo's leads arrived just now: the report of tomorrow's date (cut off at tomorrow 05:00 UTC,
# as the schedule will run it) holds them. A second run writes the same objects again and
# e-mails no one twice.
REPORT_DATE=$(psql_q -tA -c "SELECT (now() AT TIME ZONE 'UTC')::date + 1")
printf '{"action": "plan", "date": "%s"}' "$REPORT_DATE" >"$WORK/plan.json"
cargo lambda invoke spreadsheet-export -A 127.0.0.1 -P "$WATCH_PORT" --data-file "$WORK/plan.json" -o json 2>>"$WORK/invoke.err" \
  | "$PY" -c 'import json,sys; r=json.load(sys.stdin); print("plan of " + r["date"] + ": " + ", ".join(r["planned"]) + " planned; refused: " + str(r["refused"]))' \
  || { echo "spreadsheet-export plan failed:" >&2; cat "$WORK/invoke.err" "$WORK/watch.log" >&2; exit 1; }
"$PY" infra/local/forward_sqs.py "$EXPORT_QUEUE_URL" spreadsheet-export "$WATCH_PORT"
psql_q -v d="$REPORT_DATE" <<'SQL'
SELECT subscription_id, report_date, status, s3_key, row_count AS rows, bytes, emailed_at IS NOT NULL AS emailed, error
  FROM leads.export WHERE subscription_id LIKE 'demo-%' AND report_date = :'d' ORDER BY 1;
SQL
psql_q -tA -F ' ' -v d="$REPORT_DATE" >"$WORK/exports.txt" <<'SQL'
SELECT s3_key, row_count, url FROM leads.export
 WHERE subscription_id LIKE 'demo-%' AND report_date = :'d' AND status = 'done' ORDER BY 1;
SQL
[ "$(wc -l <"$WORK/exports.txt")" = 2 ] || { echo "expected 2 demo exports done" >&2; cat "$WORK/exports.txt" >&2; exit 1; }
while read -r key rows url; do
  echo "s3://$EXPORT_BUCKET/$key: $rows leads"
  echo "  $url"
  curl -fs -o "$WORK/export.xlsx" "$url" || { echo "the presigned link of $key does not serve it" >&2; exit 1; }
  target/debug/read-workbook "$WORK/export.xlsx" 3 | tee "$WORK/read.txt"
  read_rows=$(sed -n '1s/.*: \([0-9]*\) data rows/\1/p' "$WORK/read.txt")
  [ "$read_rows" = "$rows" ] || { echo "$key holds $read_rows rows, the record says $rows" >&2; exit 1; }
done <"$WORK/exports.txt"
echo "export e-mails moto's SES received in this run (one per report, never a second):"
curl -s "$AWS_ENDPOINT_URL/moto-api/data.json" | "$PY" -c '
import json, sys
msgs = [m for m in json.load(sys.stdin).get("ses", {}).get("Message", []) if "spreadsheet" in m["subject"]]
for m in msgs:
    print("  to " + ", ".join(m["destinations"].get("ToAddresses", [])) + ": " + m["subject"])
print("  (" + str(len(msgs)) + " e-mails)")
'
echo "make run finished"
