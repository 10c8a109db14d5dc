"""Outcome records as a reader finds them (docs/protocol.md, "Outcome
records"): a record key of its own (a dead or cancelled job), or a compact
succeeded record in one of the queue's record buckets, expanded here into
the same JSON object `jobrt status` prints."""

from __future__ import annotations

import json
from typing import Any

import redis as redis_lib

from . import _redis

MAX_BUCKETS = 4096  # buckets looked in, newest first, as the runtime
_DECODER = json.JSONDecoder()


def expand(compact: str, build: str | None, id: str,
           queue: str) -> dict[str, Any]:
    """The full record of job id from its compact form and the JSON of the
    build it names (None when the build table lacks it)."""
    bad = f"the record of job {id} is not a compact record of format 1"
    try:
        head, end = _DECODER.raw_decode(compact)
        rest = compact[end:]
        result = json.loads(rest) if rest else None
    except ValueError as e:
        raise ValueError(f"{bad}: {e}") from None
    if not (isinstance(head, list) and len(head) >= 10 and head[0] == 1):
        raise ValueError(bad)
    try:
        b = json.loads(build) if build else None
    except ValueError:
        b = None
    if not isinstance(b, dict):
        b = None
    fin = head[6]

    def moment(delta: Any) -> int | None:
        if isinstance(fin, int) and isinstance(delta, int):
            return fin - delta
        return None

    record: dict[str, Any] = {
        "id": id, "queue": queue, "job": head[2], "v": head[3],
        "status": "succeeded", "attempts": head[4], "deliveries": head[5],
        "reason": None, "result": result, "error": None}
    if b is not None:
        for field in ("plugin", "plugin_version", "build_id", "sha256",
                      "generation"):
            record[field] = b.get(field)
    record.update(enqueued_at=moment(head[7]), dispatched_at=moment(head[8]),
                  started_at=moment(head[9]), finished_at=fin,
                  worker=b.get("worker") if b is not None else None)
    return record


def get(r: redis_lib.Redis, keys: _redis.QueueKeys, queue: str,
        id: str) -> dict[str, Any] | None:
    """The record of job id: its own key (a dead or cancelled job) or the
    newest record bucket's, the one that finished later when both have
    one; None when there is none."""
    key = keys.job_prefix + id
    raw = r.get(key)
    own = None
    if raw is not None:
        try:
            own = json.loads(_redis.text(raw))
        except ValueError as e:
            raise ValueError(f"the outcome record {key} is not JSON: "
                             f"{e}") from None
        if not isinstance(own, dict):
            raise ValueError(f"the outcome record {key} is not a JSON "
                             "object")
    found = _from_buckets(r, keys, queue, id)
    if found is None or (own is not None and
                         (own.get("finished_at") or 0) >
                         (found.get("finished_at") or 0)):
        return own
    return found


def _from_buckets(r: redis_lib.Redis, keys: _redis.QueueKeys, queue: str,
                  id: str) -> dict[str, Any] | None:
    # ZRANGE ... REV, not ZREVRANGE: the producer's ACL rule has ZRANGE
    newest = r.execute_command("ZRANGE", keys.done, 0, MAX_BUCKETS - 1,
                               "REV")
    starts = sorted((int(_redis.text(s)) for s in newest), reverse=True)
    if not starts:
        return None
    pipe = r.pipeline(transaction=False)
    for start in starts:
        pipe.hget(f"{keys.done}:{start}", id)
    # the one that finished last (more than one only if the id ran again)
    best, best_fin, best_head = None, None, None
    for start, value in zip(starts, pipe.execute()):
        if value is None:
            continue
        compact = _redis.text(value)
        try:
            head, _ = _DECODER.raw_decode(compact)
        except ValueError:
            head = None
        fin = head[6] if isinstance(head, list) and len(head) > 6 and \
            isinstance(head[6], int) else -1
        if best is None or fin > best_fin:
            best, best_fin, best_head = (start, compact), fin, head
    if best is None:
        return None
    start, compact = best
    build = None
    if isinstance(best_head, list) and len(best_head) > 1 and best_head[1]:
        raw_build = r.hget(f"{keys.done}:{start}:builds", str(best_head[1]))
        build = _redis.text(raw_build) if raw_build else None
    return expand(compact, build, id, queue)  # says what is wrong, if any
