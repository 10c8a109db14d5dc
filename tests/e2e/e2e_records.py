"""Every outcome record of a queue at once, for e2e checks in Python: each
job's own record key and the succeeded records of the record buckets
(docs/protocol.md, "Outcome records"), expanded by the Python client's
reader, the later one winning where a job has both."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.environ["JOBRT_SOURCE_DIR"], "clients",
                                "python"))
from jobrt import _records  # noqa: E402


def all_records(r, queue, namespace="jobrt"):
    """job id -> record (a dict) of every record of queue; r decodes
    responses."""
    base = "%s:{%s}:" % (namespace, queue)
    out = {}

    def put(job_id, rec):
        old = out.get(job_id)
        if old is None or (rec.get("finished_at") or 0) >= \
                (old.get("finished_at") or 0):
            out[job_id] = rec

    for key in r.scan_iter(match=base + "job:*", count=1000):
        put(key[len(base) + 4:], json.loads(r.get(key)))
    for start in r.zrange(base + "done", 0, -1):
        bucket = "%sdone:%s" % (base, start)
        builds = r.hgetall(bucket + ":builds")
        for job_id, compact in r.hgetall(bucket).items():
            head, _ = json.JSONDecoder().raw_decode(compact)
            put(job_id, _records.expand(compact, builds.get(head[1]), job_id,
                                        queue))
    return out
