"""Local stand-in for Lambda's SQS event source mapping: receives batches of up to 10 messages
from a queue, invokes a function under `cargo lambda watch` with the SQS event, deletes the
messages that succeeded and leaves the reported failures to the queue's redrive policy.

usage: forward_sqs.py QUEUE_URL FUNCTION WATCH_PORT
"""
import json
import subprocess
import sys
import tempfile

import boto3

queue_url, function, port = sys.argv[1], sys.argv[2], sys.argv[3]
sqs = boto3.client("sqs")
arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
batches = forwarded = failed = 0
while True:
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])
    messages = got.get("Messages", [])
    if not messages:
        break
    event = {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1",
    } for m in messages]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(event, f)
    out = subprocess.run(
        ["cargo", "lambda", "invoke", function, "-A", "127.0.0.1", "-P", port, "--data-file", f.name, "-o", "json"],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        sys.exit(f"invoking {function} failed: {out.stderr}")
    failures = {f["itemIdentifier"] for f in json.loads(out.stdout).get("batchItemFailures", [])}
    for m in messages:
        if m["MessageId"] not in failures:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    batches += 1
    forwarded += len(messages)
    failed += len(failures)
print(f"forwarded {forwarded} messages in {batches} batches to {function}; {failed} reported failed")
