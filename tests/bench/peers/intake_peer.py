"""The Python peer of bench-intake's database step: what the scripts this platform replaces do
with fetched Formstack submissions — psycopg, each submission's raw record stored and its
registration upserted (`INSERT … ON CONFLICT`), mapped through the same form field map, in
1,000-submission transactions, into the same tables. Two ways:

- `row`: one `INSERT … ON CONFLICT` at a time, per submission (the scripts' way);
- `many`: the same statements through `executemany` per transaction (psycopg 3 pipelines them).

Environment: PEER_DSN, PEER_RECORDS (a file of one API record per line), PEER_FORM,
PEER_MODE (`row` or `many`), PEER_BATCH (default 1000). Prints the submissions written.
"""
import hashlib
import json
import os
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg

NUMERIC = {"supplier_registration_fee", "small_business_registration_fee", "total_price"}
INTEGER = {"supplier_registration_quantity", "small_business_registration_quantity", "meetings"}


def text_of(value, sub):
    """A field's text, or one sub-field of a compound value (`first = Jane` lines or an object)."""
    if isinstance(value, dict):
        value = value.get("value", value)
    if sub:
        if isinstance(value, dict):
            value = next((v for k, v in value.items() if k.lower() == sub.lower()), None)
        elif isinstance(value, str):
            value = next((line.split("=", 1)[1].strip() for line in value.splitlines()
                          if "=" in line and line.split("=", 1)[0].strip().lower() == sub.lower()), None)
        else:
            value = None
    if isinstance(value, list):
        value = "\n".join(str(v) for v in value)
    if value is None or str(value).strip() == "":
        return None
    return str(value)


def normalise(column, text):
    if column in NUMERIC:
        return re.sub(r"[$, \u00a0]", "", text)
    if column in INTEGER:
        return int(text.strip())
    return text


def main():
    mode = os.environ.get("PEER_MODE", "row")
    batch = int(os.environ.get("PEER_BATCH", "1000"))
    form = os.environ["PEER_FORM"]
    with open(os.environ["PEER_RECORDS"]) as f:
        records = [json.loads(line) for line in f]
    with psycopg.connect(os.environ["PEER_DSN"]) as conn:
        rules = conn.execute(
            "SELECT field_id, subfield, target_column FROM integration.form_field_map WHERE form_id = %s"
            " ORDER BY position, field_id, subfield", (form,)).fetchall()
        tz = ZoneInfo(conn.execute("SELECT time_zone FROM integration.form_config WHERE form_id = %s",
                                   (form,)).fetchone()[0])
        columns = list(dict.fromkeys(r[2] for r in rules))
        upsert = (
            "INSERT INTO conferences_events.exchange_registration (form_id, registration_id, submitted_at, "
            + ", ".join(columns) + ") VALUES (%s, %s, %s, " + ", ".join(["%s"] * len(columns)) + ")"
            " ON CONFLICT (registration_id) DO UPDATE SET submitted_at = excluded.submitted_at, "
            + ", ".join(f"{c} = excluded.{c}" for c in columns) + ", updated_at = now()")
        raw = ("INSERT INTO integration.raw_submission (form_id, submission_id, source, content_type, raw_body,"
               " body_sha256, signature_verified, mapping_status, mapped_at)"
               " VALUES (%s, %s, 'pull', 'application/json', %s, %s, false, 'mapped', now())"
               " ON CONFLICT (form_id, submission_id, body_sha256) DO NOTHING")
        written = 0
        for start in range(0, len(records), batch):
            raws, rows = [], []
            for rec in records[start:start + batch]:
                body = json.dumps(rec).encode()
                raws.append((form, str(rec["id"]), body, hashlib.sha256(body).digest()))
                values = {}
                for field_id, sub, column in rules:
                    if values.get(column) is None:
                        t = text_of(rec.get("data", {}).get(field_id), sub)
                        values[column] = normalise(column, t) if t is not None else None
                submitted = datetime.strptime(rec["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz)
                rows.append((form, str(rec["id"]), submitted, *[values.get(c) for c in columns]))
            with conn.transaction():
                with conn.cursor() as cur:
                    if mode == "many":
                        cur.executemany(raw, raws)
                        cur.executemany(upsert, rows)
                    else:
                        for r, row in zip(raws, rows):
                            cur.execute(raw, r)
                            cur.execute(upsert, row)
            written += len(rows)
    print(written)


if __name__ == "__main__":
    main()
