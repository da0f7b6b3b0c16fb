#!/usr/bin/env python3
"""What the S3 tests do to a test server besides running embcache: set moto
up, put decoys, list and read objects. Runs with the python of the venv that
Scripts/test-tools makes (boto3 comes with moto). Keys go on the wire as
given: botocore neither removes nor resolves "." and ".." segments.

  ENDPOINT setup-moto BUCKET...   an IAM user allowed everything, its keys
                                  printed as "ACCESS SECRET", and the buckets
  ENDPOINT list BUCKET PREFIX     every key under PREFIX, one a line (JSON
                                  strings, so any byte shows)
  ENDPOINT get BUCKET KEY         the object to stdout (exit 3 if missing)
  ENDPOINT put BUCKET KEY         stdin into the object

The credentials of all but setup-moto come from AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY.
"""
import json
import os
import sys

import boto3
from botocore.config import Config


def client(endpoint, service, access="setup", secret="setup"):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def main():
    endpoint, command, *args = sys.argv[1:]
    if command == "setup-moto":
        # Exactly as many actions as the server's INITIAL_NO_AUTH_ACTION_COUNT
        # (3 + buckets) go unsigned; every request after them is checked.
        iam = client(endpoint, "iam")
        iam.create_user(UserName="embcache")
        allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        iam.put_user_policy(UserName="embcache", PolicyName="all", PolicyDocument=json.dumps(allow))
        key = iam.create_access_key(UserName="embcache")["AccessKey"]
        s3 = client(endpoint, "s3")
        for bucket in args:
            s3.create_bucket(Bucket=bucket)
        print(key["AccessKeyId"], key["SecretAccessKey"])
        return
    s3 = client(endpoint, "s3", os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    if command == "list":
        bucket, prefix = args
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                print(json.dumps(item["Key"]))
    elif command == "get":
        bucket, key = args
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            sys.exit(3)
        sys.stdout.buffer.write(body)
    elif command == "put":
        bucket, key = args
        s3.put_object(Bucket=bucket, Key=key, Body=sys.stdin.buffer.read())
    else:
        sys.exit(f"s3_objects.py: unknown command {command}")


if __name__ == "__main__":
    main()
