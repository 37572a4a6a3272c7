"""Creates (idempotently) the AWS resources the local run needs, in moto, and prints them as
KEY=VALUE lines: the dedupe and meetmax-sync queues (with DLQs), the review bucket, the
Formstack secret, the sandbox MeetMax account's credentials, the connector queue and bucket,
the sandbox Aventri connection's credentials (endPoint from SANDBOX_URL), the lead and
spreadsheet-export queues, the leads bucket and the SES identity."""
import json
import os
import sys

import boto3

formstack_secret = {
    "api_token": "sandbox-formstack-token",
    "webhook_hmac_keys": {"5095980": "sandbox-hmac-key", "5211430": "sandbox-hmac-key"},
}

meetmax_secret = {"consumer_key": "sandbox-meetmax-key", "consumer_secret": "sandbox-meetmax-secret"}

sqs = boto3.client("sqs")
sm = boto3.client("secretsmanager")


def queue_with_dlq(name):
    """A queue whose messages move to `<name>-dlq` after five receives; returns its URL."""
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
    return sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": redrive})["QueueUrl"]


queue = queue_with_dlq("platform-local-company-dedupe")
meetmax = queue_with_dlq("platform-local-meetmax-sync")


def secret(name, value):
    try:
        sm.create_secret(Name=name, SecretString=json.dumps(value))
    except sm.exceptions.ResourceExistsException:
        sm.put_secret_value(SecretId=name, SecretString=json.dumps(value))


secret("platform/local/formstack", formstack_secret)
secret("platform/local/meetmax", meetmax_secret)
sandbox = os.environ.get("SANDBOX_URL", "http://127.0.0.1:9")
secret(
    "platform/local/aventri",
    {
        "endPoint": f"{sandbox}/api/v2",
        "accountid": "sandbox-aventri-account",
        "key": "sandbox-aventri-key",
        "eventid": "52301",
        "personPhotoEndpoint": f"{sandbox}/image.php?acc={{accountid}}&id={{id}}",
        "presenterPhotoEndpoint": f"{sandbox}/image.php?acc={{accountid}}&id=",
    },
)
secret(
    "platform/local/lenos",
    {
        "endPoint": f"{sandbox}/lenos",
        "username": "platform-sync",
        "password": "lenos-demo-password",
        "eventId": "ev-2027",
        "authMode": "basic",
    },
)
secret(
    "platform/local/cvent",
    {
        "endPoint": f"{sandbox}/cvent/ea",
        "clientId": "platform-sync-client",
        "clientSecret": "cvent-demo-client-secret",
        "eventId": "3db28cfc-db22-11eb-8d19-0242ac130003",
    },
)
# Two-way registration: the demo event app's HMAC key.
secret("platform/local/register-app-keys", {"demo-event-app": "local-demo-app-key"})
connector = queue_with_dlq("platform-local-connector-pull")
# lead-delivery: the demo landers' endpoint keys and the lead queue.
secret(
    "platform/local/lead-endpoint-keys",
    {"demo-accident-lp": "local-demo-lander-key", "demo-injury-lp": "local-demo-lander-key", "demo-meso-lp": "local-demo-lander-key"},
)
leads_queue = queue_with_dlq("platform-local-lead-delivery")
# spreadsheet-export: its job queue (the workbooks go to the leads bucket, under exports/).
export_queue = queue_with_dlq("platform-local-spreadsheet-export")
# The confirmation e-mails' sender, verified in moto's SES.
boto3.client("sesv2").create_email_identity(EmailIdentity="leads@agency.local")

s3 = boto3.client("s3")
try:
    s3.create_bucket(Bucket="platform-local-review")
except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
    pass
for bucket in ("platform-local-connectors", "platform-local-leads"):
    try:
        s3.create_bucket(Bucket=bucket)
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        pass

print(f"DEDUPE_QUEUE_URL={queue}")
print("REVIEW_BUCKET=platform-local-review")
print(f"MEETMAX_QUEUE_URL={meetmax}")
print("FORMSTACK_SECRET_ID=platform/local/formstack")
print("MEETMAX_SECRET_ID=platform/local/meetmax")
print(f"CONNECTOR_QUEUE_URL={connector}")
print("CONNECTOR_BUCKET=platform-local-connectors")
print("REGISTER_APP_KEYS_SECRET_ID=platform/local/register-app-keys")
print(f"LEAD_QUEUE_URL={leads_queue}")
print("LEAD_ENDPOINT_KEYS_SECRET_ID=platform/local/lead-endpoint-keys")
print("LEAD_EMAIL_FROM=leads@agency.local")
print("LEAD_BUCKET=platform-local-leads")
print("LEAD_TEAM_EMAIL=dev-team@agency.local")
print(f"EXPORT_QUEUE_URL={export_queue}")
# The queues the operator console watches, with their dead-letter queues.
console_queues = [
    {"name": n, "url": u, "dead_letter_url": u.rsplit("/", 1)[0] + "/" + u.rsplit("/", 1)[1] + "-dlq"}
    for n, u in [("dedupe", queue), ("meetmax", meetmax), ("connectors", connector), ("leads", leads_queue), ("export", export_queue)]
]
print(f"CONSOLE_QUEUES='{json.dumps(console_queues)}'")
print("EXPORT_BUCKET=platform-local-leads")
print("EXPORT_EMAIL_FROM=leads@agency.local")
sys.stdout.flush()
