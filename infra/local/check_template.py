#!/usr/bin/env python3
"""Checks the rules of the template that cfn-lint does not know about, on infra/template.yaml:

- every SQS event source has ReportBatchItemFailures and a MaximumConcurrency;
- every queue a function consumes has VisibilityTimeout >= 6 x that function's Timeout;
- every function has an AWS/Lambda Errors alarm and an alarm on its EMF `Partial` metric, its
  code is `make build`'s artifact of that function, and the dashboard shows it;
- every queue a function consumes has an alarm on the age of its oldest message, and every
  dead-letter queue (of a queue or of a schedule) an alarm on its depth;
- every alarm notifies the alarm topic (the stack's own, or AlarmTopicArn);
- the functions write their metrics to the namespace the alarms read;
- a function with a public Function URL has reserved concurrency;
- no broad managed S3 policy (S3CrudPolicy, S3FullAccessPolicy);
- every data bucket writes server access logs to the access-log bucket;
- every IAM access key can be replaced (a `Serial` parameter).
"""
import sys

import yaml


class Loader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    return {suffix: loader.construct_mapping(node, deep=True)}


Loader.add_multi_constructor("!", _tag)


def main(path):
    with open(path) as f:
        t = yaml.load(f, Loader=Loader)
    res = t["Resources"]
    default_timeout = t.get("Globals", {}).get("Function", {}).get("Timeout", 3)
    problems = []
    functions = {k: v for k, v in res.items() if v["Type"] == "AWS::Serverless::Function"}
    alarmed = set()
    for v in res.values():
        if v["Type"] == "AWS::CloudWatch::Alarm" and v["Properties"].get("MetricName") == "Errors":
            for d in v["Properties"].get("Dimensions", []):
                if d.get("Name") == "FunctionName":
                    alarmed.add(d["Value"].get("Ref"))
    for name, fn in functions.items():
        props = fn["Properties"]
        timeout = props.get("Timeout", default_timeout)
        if name not in alarmed:
            problems.append(f"{name}: no Errors alarm")
        if "FunctionUrlConfig" in props and "ReservedConcurrentExecutions" not in props:
            problems.append(f"{name}: public Function URL without reserved concurrency")
        for policy in props.get("Policies", []):
            if isinstance(policy, dict) and ({"S3CrudPolicy", "S3FullAccessPolicy"} & set(policy)):
                problems.append(f"{name}: broad S3 policy {sorted(policy)}")
        for ev_name, ev in props.get("Events", {}).items():
            if ev["Type"] != "SQS":
                continue
            p = ev["Properties"]
            if "ReportBatchItemFailures" not in p.get("FunctionResponseTypes", []):
                problems.append(f"{name}.{ev_name}: no ReportBatchItemFailures")
            if not p.get("ScalingConfig", {}).get("MaximumConcurrency"):
                problems.append(f"{name}.{ev_name}: no MaximumConcurrency")
            queue = p["Queue"]["GetAtt"].split(".")[0]
            visibility = res[queue]["Properties"].get("VisibilityTimeout", 30)
            if visibility < 6 * timeout:
                problems.append(f"{queue}: VisibilityTimeout {visibility} < 6 x {name} Timeout {timeout}")
    problems += alarm_problems(t, functions)
    for name, v in res.items():
        if v["Type"] == "AWS::S3::Bucket" and name != "AccessLogBucket":
            target = v["Properties"].get("LoggingConfiguration", {}).get("DestinationBucketName")
            if target != {"Ref": "AccessLogBucket"}:
                problems.append(f"{name}: no server access logs to AccessLogBucket")
        if v["Type"] == "AWS::IAM::AccessKey" and "Ref" not in (v["Properties"].get("Serial") or {}):
            problems.append(f"{name}: an access key without a Serial parameter cannot be rotated")
    for p in problems:
        print(f"template: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"template: {len(functions)} functions checked: alarms and their topic, metrics, dashboard, artifacts, SQS sources, visibility, URL concurrency, S3 policies, access logs, key rotation")
    return 0


def ref_of(value):
    """The resource a `!Ref X` or `!GetAtt X.Attr` names."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "GetAtt" in value:
            return value["GetAtt"].split(".")[0]
    return None


def alarm_problems(t, functions):
    res = t["Resources"]
    problems = []
    alarms = {k: v["Properties"] for k, v in res.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    topic_action = {"If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}
    for name, a in alarms.items():
        if a.get("AlarmActions") != [topic_action]:
            problems.append(f"{name}: does not notify the alarm topic")
    if res.get("AlarmTopic", {}).get("Type") != "AWS::SNS::Topic":
        problems.append("no AlarmTopic")
    namespace = t.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}).get("METRICS_NAMESPACE")
    if namespace != {"Sub": "platform/${Stage}"}:
        problems.append("Globals: METRICS_NAMESPACE is not platform/${Stage}")

    def alarmed(metric, dim, key):
        return {
            key(d["Value"])
            for a in alarms.values()
            if a.get("MetricName") == metric
            for d in a.get("Dimensions", [])
            if d.get("Name") == dim
        }

    partial = alarmed("Partial", "Function", lambda v: v)
    aged = alarmed("ApproximateAgeOfOldestMessage", "QueueName", ref_of)
    deep = alarmed("ApproximateNumberOfMessagesVisible", "QueueName", ref_of)
    dashboard = str(res.get("FlowsDashboard", {}).get("Properties", {}).get("DashboardBody", ""))
    dead_letters = set()
    for name, fn in functions.items():
        props = fn["Properties"]
        short = props["FunctionName"]["Sub"].removeprefix("platform-${Stage}-")
        if short not in partial:
            problems.append(f"{name}: no Partial alarm for {short}")
        if f'"Function", "{short}"' not in dashboard:
            problems.append(f"{name}: not on the dashboard")
        if props.get("CodeUri") != f"../target/lambda/{short}/" or "Metadata" in fn:
            problems.append(f"{name}: CodeUri is not make build's artifact ../target/lambda/{short}/")
        for ev_name, ev in props.get("Events", {}).items():
            p = ev.get("Properties", {})
            if ev["Type"] == "SQS":
                queue = p["Queue"]["GetAtt"].split(".")[0]
                if queue not in aged:
                    problems.append(f"{queue}: no alarm on the age of its oldest message")
            dlq = ref_of(p.get("DeadLetterConfig", {}).get("Arn"))
            if dlq:
                dead_letters.add(dlq)
    for name, v in res.items():
        if v["Type"] == "AWS::SQS::Queue":
            target = ref_of(v["Properties"].get("RedrivePolicy", {}).get("deadLetterTargetArn"))
            if target:
                dead_letters.add(target)
    for dlq in sorted(dead_letters - deep):
        problems.append(f"{dlq}: a dead-letter queue without a depth alarm")
    return problems


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "infra/template.yaml"))
