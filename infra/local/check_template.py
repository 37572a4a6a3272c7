#!/usr/bin/env python3
"""Checks the rules of issue 8 that cfn-lint does not know about, on infra/template.yaml:

- every SQS event source has ReportBatchItemFailures and a MaximumConcurrency;
- every queue a function consumes has VisibilityTimeout >= 6 x that function's Timeout;
- every function has an AWS/Lambda Errors alarm;
- a function with a public Function URL has reserved concurrency;
- no broad managed S3 policy (S3CrudPolicy, S3FullAccessPolicy).
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
    for p in problems:
        print(f"template: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"template: {len(functions)} functions checked: alarms, SQS sources, visibility, URL concurrency, S3 policies")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "infra/template.yaml"))
