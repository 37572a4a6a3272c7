"""Creates (idempotently) the AWS resources the local run needs, in moto, and prints them as
KEY=VALUE lines: the dedupe and meetmax-sync queues (with DLQs), the review bucket, the
Formstack secret and the sandbox MeetMax account's credentials."""
import json
import sys

import boto3

formstack_secret = {
    "api_token": "sandbox-formstack-token",
    "webhook_hmac_keys": {"5095980": "sandbox-hmac-key"},
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

s3 = boto3.client("s3")
try:
    s3.create_bucket(Bucket="platform-local-review")
except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
    pass

print(f"DEDUPE_QUEUE_URL={queue}")
print("REVIEW_BUCKET=platform-local-review")
print(f"MEETMAX_QUEUE_URL={meetmax}")
print("FORMSTACK_SECRET_ID=platform/local/formstack")
print("MEETMAX_SECRET_ID=platform/local/meetmax")
sys.stdout.flush()
