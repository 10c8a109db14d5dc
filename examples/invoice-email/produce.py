#!/usr/bin/python3
"""produce.py - enqueue invoice_email jobs (payload schema 1 and 2) on a jobrt
queue with redis-py, to try the invoice-email example plugins.

Environment: REDIS_URL (default redis://127.0.0.1:6379), QUEUE (default
emails), NAMESPACE (default jobrt). The stream key is
"$NAMESPACE:{$QUEUE}:stream".
"""
import argparse
import json
import os
import sys

import redis


def v1_payload(i):
    return {"invoice_id": "INV-1%03d" % i,
            "to": "customer%d@example.com" % i,
            "amount_cents": 1250 + i}


def v2_payload(i):
    return {"invoice": {"id": "INV-2%03d" % i,
                        "total": {"amount_cents": 990 + i,
                                  "currency": "EUR"}},
            "recipients": ["x%d@example.com" % r for r in range(i % 3 + 1)]}


def main():
    parser = argparse.ArgumentParser(
        description="Enqueue schema-1 and schema-2 invoice_email jobs.",
        epilog="env: REDIS_URL, QUEUE, NAMESPACE "
               "(key is $NAMESPACE:{$QUEUE}:stream)")
    parser.add_argument("--count", type=int, default=3, metavar="N",
                        help="jobs of each schema version (default 3)")
    args = parser.parse_args()
    if args.count < 0:
        parser.error("--count must be >= 0")

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
    queue = os.environ.get("QUEUE", "emails")
    namespace = os.environ.get("NAMESPACE", "jobrt")
    key = "%s:{%s}:stream" % (namespace, queue)

    r = redis.Redis.from_url(url)
    for i in range(args.count):
        for v, payload in (("1", v1_payload(i)), ("2", v2_payload(i))):
            fields = {"job": "invoice_email", "v": v,
                      "payload": json.dumps(payload, separators=(",", ":"))}
            if i % 2:
                fields["correlation_id"] = "order-%d" % (4700 + i)
            entry = r.xadd(key, fields)
            print(entry.decode())
    print("enqueued %d jobs on %s" % (2 * args.count, key), file=sys.stderr)


if __name__ == "__main__":
    main()
