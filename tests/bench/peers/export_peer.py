"""The Python peer of bench-export: what a script would do to send a lander's leads as a
spreadsheet — psycopg reading the rows through a server-side cursor, XlsxWriter in
constant-memory mode writing the same columns as the generic template (dates in the report's
time zone, numbers as numbers, text as text, never a formula), boto3 uploading the file.

Environment: PEER_DSN, PEER_LANDER, PEER_CUTOFF (ISO time), PEER_FILE, PEER_BUCKET, PEER_KEY.
Prints the number of lead rows written.
"""
import os
from datetime import datetime
from zoneinfo import ZoneInfo

import boto3
import psycopg
import xlsxwriter

CORE = [("Lead", 10), ("Received", 18), ("First name", 16), ("Last name", 16), ("Email", 28), ("Phone", 16)]


def main():
    tz = ZoneInfo("America/New_York")
    path = os.environ["PEER_FILE"]
    lander = os.environ["PEER_LANDER"]
    cutoff = datetime.fromisoformat(os.environ["PEER_CUTOFF"])
    with psycopg.connect(os.environ["PEER_DSN"]) as conn:
        fields = [r[0] for r in conn.execute(
            "SELECT field FROM leads.lander_field WHERE lander_id = %s ORDER BY field", (lander,))]
        fields = [f for f in fields if f not in ("first_name", "last_name", "email", "phone")]
        book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                          "strings_to_numbers": False, "strings_to_urls": False})
        sheet = book.add_worksheet("Leads")
        bold = book.add_format({"bold": True, "bg_color": "#DDEBF7"})
        when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        headers = CORE + [(f, 18) for f in fields]
        for c, (h, w) in enumerate(headers):
            sheet.set_column(c, c, w)
            sheet.write_string(0, c, h, bold)
        sheet.freeze_panes(1, 0)
        row = 0
        with conn.cursor(name="leads") as cur:
            cur.itersize = 2000
            cur.execute(
                "SELECT id, received_at, first_name, last_name, email, phone, fields FROM leads.lead"
                " WHERE lander_id = %s AND NOT is_test AND stored_at < %s ORDER BY received_at, id",
                (lander, cutoff))
            for lead_id, received, first, last, email, phone, extra in cur:
                row += 1
                sheet.write_number(row, 0, lead_id)
                sheet.write_datetime(row, 1, received.astimezone(tz).replace(tzinfo=None), when)
                for c, v in enumerate((first, last, email, phone), start=2):
                    if v:
                        sheet.write_string(row, c, v)
                for c, f in enumerate(fields, start=6):
                    v = extra.get(f)
                    if isinstance(v, bool) or v is None:
                        if v is not None:
                            sheet.write_string(row, c, str(v).lower())
                    elif isinstance(v, (int, float)):
                        sheet.write_number(row, c, v)
                    elif v != "":
                        sheet.write_string(row, c, v if isinstance(v, str) else str(v))
        sheet.autofilter(0, 0, row, len(headers) - 1)
        book.close()
    boto3.client("s3").upload_file(path, os.environ["PEER_BUCKET"], os.environ["PEER_KEY"])
    os.remove(path)
    print(row)


if __name__ == "__main__":
    main()
