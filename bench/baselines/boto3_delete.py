#!/usr/bin/env python3
"""Baseline: empty a bucket the way most scripts do, with boto3's
`Bucket(name).object_versions.delete()`, and print {"versions", "ms"} as JSON.

usage: boto3_delete.py ENDPOINT BUCKET
"""
import json
import sys
import time

import boto3
from botocore.config import Config


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    endpoint, bucket_name = sys.argv[1], sys.argv[2]
    s3 = boto3.resource(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    started = time.monotonic()
    responses = s3.Bucket(bucket_name).object_versions.delete()
    elapsed_ms = round((time.monotonic() - started) * 1000)
    deleted = sum(len(r.get("Deleted", [])) for r in responses)
    errors = sum(len(r.get("Errors", [])) for r in responses)
    print(json.dumps({"versions": deleted, "errors": errors, "requests": len(responses), "ms": elapsed_ms}))


if __name__ == "__main__":
    main()
