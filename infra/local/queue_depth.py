"""Prints the number of messages waiting on a queue (argument: queue URL)."""
import sys

import boto3

attrs = boto3.client("sqs").get_queue_attributes(
    QueueUrl=sys.argv[1], AttributeNames=["ApproximateNumberOfMessages"]
)["Attributes"]
print(attrs["ApproximateNumberOfMessages"])
