"""The producer client: enqueue jobs to a jobrt queue, read their outcome
records, and list or re-drive dead letters, over redis-py. It writes what
`jobrt enqueue` writes (docs/protocol.md, wire format v1): a plain XADD for
most jobs, the runtime's ENQUEUE script for a job with a delay, a due time
or an idempotency key; dead letters go back through its DLQ_RETRY script.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping, NamedTuple, Sequence, Union

import redis as redis_lib

from . import _check, _job, _records, _redis

PIPELINE_BATCH = 1000  # jobs per round trip, as the CLI
DLQ_PAGE = 500  # entries per XREVRANGE
DLQ_SCAN_MAX = 10_000  # entries one dlq_list call looks at, at most
DLQ_RETRY_CHUNK = 100  # ids per DLQ_RETRY call, as the CLI
_WIRE_INT = re.compile(r"0|[1-9][0-9]{0,18}")

Duration = Union[int, float, timedelta]
Time = Union[int, datetime]


@dataclass(frozen=True)
class EnqueueResult:
    """What happened to one job: its id, and created=False when its key
    was used within the dedupe window (id is then the first job's)."""

    id: str
    created: bool


@dataclass(frozen=True)
class DeadLetter:
    """One entry of a queue's dead-letter stream (docs/protocol.md, "Dead
    letters"). fields holds every field of the entry; of a field that
    appears twice, the first value (as the runtime and the Node client
    read it)."""

    entry_id: str
    job_id: str | None
    job: str | None
    v: int | None
    reason: str | None
    error: str | None
    worker: str | None
    at: int | None
    fields: dict[str, str]


class RetryResult(NamedTuple):
    """What dlq_retry did: how many dead letters went back to the stream,
    and the entry ids it kept in the DLQ (encoded ones, see
    docs/protocol.md; ids that were not in the DLQ are neither)."""

    moved: int
    kept: list[str]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Client:
    """A jobrt producer for one Redis and namespace.

    redis is a URL ("redis://host:6379/0", "unix:///run/redis.sock") or an
    existing redis-py client (redis.Redis), which close() leaves open.
    max_payload is the largest payload enqueued, in bytes (default 1 MiB,
    the worker's --max-payload default; 0: no limit): a larger one raises
    ValueError instead of being dead-lettered as payload_too_large.
    """

    def __init__(self, redis: Union[str, Any] = "redis://127.0.0.1:6379",
                 namespace: str = "jobrt", *,
                 max_payload: int = _job.DEFAULT_MAX_PAYLOAD) -> None:
        _check.name("namespace", namespace)
        self.max_payload = _check.integer("max_payload", max_payload, 0,
                                          _check.MAX_PAYLOAD_LIMIT)
        if isinstance(redis, str):
            self._r = redis_lib.Redis.from_url(redis)
            self._owned = True
        elif hasattr(redis, "execute_command") and hasattr(redis, "pipeline"):
            self._r = redis
            self._owned = False
        else:
            raise TypeError("redis must be a URL (str) or a redis-py client, "
                            f"got {type(redis).__name__}")
        self.namespace = namespace
        self._raw: Any = None  # _redis.raw_view(self._r), made when needed
        self._ids = _job.IdMaker()
        self._enqueue_loaded = False

    @property
    def redis(self) -> Any:
        """The redis-py client this one uses."""
        return self._r

    def close(self) -> None:
        """Closes the connection if this client opened it (from a URL)."""
        if self._owned:
            self._r.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _keys(self, queue: str) -> _redis.QueueKeys:
        return _redis.QueueKeys.of(self.namespace, queue)

    # ---- enqueueing -----------------------------------------------------

    def enqueue(self, queue: str, job: str, version: int,
                payload: Any = _job.MISSING, *, id: str | None = None,
                correlation_id: str | None = None,
                max_attempts: int | None = None,
                timeout: Duration | None = None,
                delay: Duration | None = None, at: Time | None = None,
                expires_in: Duration | None = None,
                expires_at: Time | None = None, key: str | None = None,
                dedupe_window: Duration | None = None,
                payload_json: str | bytes | None = None) -> EnqueueResult:
        """Enqueues one job and returns its id.

        payload is any JSON-able value (None is JSON null), or give
        payload_json, JSON text sent as is. Durations (timeout, delay,
        expires_in, dedupe_window) are seconds or a timedelta; at and
        expires_at an aware datetime or ms since the epoch. key makes the
        enqueue idempotent within dedupe_window (default 24 h): a second
        one returns created=False and the first job's id. Invalid input
        raises ValueError or TypeError naming the argument, and nothing is
        sent; a Redis error is redis-py's own exception.
        """
        spec = {"job": job, "v": version, "payload": payload, "id": id,
                "correlation_id": correlation_id,
                "max_attempts": max_attempts, "timeout": timeout,
                "delay": delay, "at": at, "expires_in": expires_in,
                "expires_at": expires_at, "key": key,
                "dedupe_window": dedupe_window, "payload_json": payload_json}
        keys = self._keys(queue)
        prepared = _job.prepare(spec, _now_ms(), self._ids,
                                labels={"v": "version"},
                                max_payload=self.max_payload)
        return self._send(keys, [prepared])[0]

    def enqueue_many(self, queue: str,
                     jobs: Iterable[Mapping[str, Any]]) -> list[EnqueueResult]:
        """Enqueues many jobs, pipelined (at most 1000 per round trip), and
        returns their results in input order.

        Each job is a dict with "job", "v" and "payload" (or
        "payload_json"), and any option of enqueue() under the same name;
        the wire fields of the NDJSON form ("timeout_ms", "not_before",
        "enqueued_at", "idempotency_key", ms values) are accepted too. A
        None value is the same as leaving the key out, except for payload.
        Every job is validated first: an invalid one raises naming its
        index (jobs[3]: ...) and nothing is sent. A Redis error raises
        redis-py's exception; jobs of earlier batches, and others of the
        same batch, may then have been enqueued.
        """
        keys = self._keys(queue)
        now = _now_ms()
        prepared = [_job.prepare(spec, now, self._ids, where=f"jobs[{i}]: ",
                                 max_payload=self.max_payload)
                    for i, spec in enumerate(jobs)]
        results: list[EnqueueResult] = []
        for start in range(0, len(prepared), PIPELINE_BATCH):
            results.extend(self._send(
                keys, prepared[start:start + PIPELINE_BATCH]))
        return results

    def _script_args(self, keys: _redis.QueueKeys,
                     job: _job.PreparedJob) -> tuple[list[str], list[Any]]:
        """KEYS and ARGV of the ENQUEUE script, as runtime/queue/enqueue.c
        append_script passes them."""
        script_keys = [keys.stream, keys.delayed, keys.seq]
        if job.key is not None:
            script_keys.append(keys.idem_prefix + job.key)
        args: list[Any] = [job.delay_ms or 0, job.at_ms or 0, job.window_ms,
                           job.job_id]
        for name, value in job.fields:
            args += [name, value]
        return script_keys, args

    def _send(self, keys: _redis.QueueKeys,
              jobs: Sequence[_job.PreparedJob]) -> list[EnqueueResult]:
        """One round trip for jobs (plus one SCRIPT LOAD the first time a
        job needs the script, and one more for jobs that met NOSCRIPT)."""
        if any(j.scripted for j in jobs) and not self._enqueue_loaded:
            _redis.ENQUEUE.load(self._r)
            self._enqueue_loaded = True
        pipe = self._r.pipeline(transaction=False)
        for job in jobs:
            if job.scripted:
                script_keys, args = self._script_args(keys, job)
                pipe.execute_command("EVALSHA", _redis.ENQUEUE.sha,
                                     len(script_keys), *script_keys, *args)
            else:
                flat: list[Any] = []
                for name, value in job.fields:
                    flat += [name, value]
                pipe.execute_command("XADD", keys.stream, "*", *flat)
        replies = list(pipe.execute(raise_on_error=False))
        for i, job in enumerate(jobs):
            if job.scripted and _redis.is_noscript(replies[i]):
                # The server lost its scripts (SCRIPT FLUSH, a restart):
                # the job was not run, so it is sent again with its text.
                self._enqueue_loaded = False
                script_keys, args = self._script_args(keys, job)
                replies[i] = self._r.eval(_redis.ENQUEUE.text,
                                          len(script_keys), *script_keys,
                                          *args)
        results = []
        for job, reply in zip(jobs, replies):
            if isinstance(reply, Exception):
                raise reply
            if not job.scripted:
                results.append(EnqueueResult(job.job_id or
                                             _redis.text(reply), True))
            elif (isinstance(reply, list) and len(reply) == 2
                  and isinstance(reply[0], int)):
                results.append(EnqueueResult(_redis.text(reply[1]),
                                             reply[0] == 1))
            else:
                raise redis_lib.exceptions.ResponseError(
                    f"unexpected reply from the ENQUEUE script: {reply!r}")
        return results

    # ---- outcomes -------------------------------------------------------

    def status(self, queue: str, id: str) -> dict[str, Any] | None:
        """The outcome record of job id (docs/protocol.md, "Outcome
        records") as a dict, or None while there is none: not finished,
        unknown, or its record expired."""
        keys = self._keys(queue)
        _check.ident("id", id)
        return _records.get(self._r, keys, queue, id)

    def wait(self, queue: str, id: str,
             timeout: Duration = 30) -> dict[str, Any]:
        """Waits for the outcome record of job id and returns it, polling
        (every 50 ms at first, rising to 500 ms). Raises TimeoutError when
        there is none after timeout (seconds or a timedelta)."""
        limit_ms = _check.duration_ms("timeout", timeout, 0,
                                      _check.MAX_DURATION_MS)
        deadline = time.monotonic() + limit_ms / 1000
        interval = 0.05
        while True:
            record = self.status(queue, id)
            if record is not None:
                return record
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"job {id} of queue {queue} has no outcome "
                                   f"record after {limit_ms / 1000:g}s")
            time.sleep(min(interval, left))
            interval = min(interval * 1.5, 0.5)

    # ---- dead letters ---------------------------------------------------

    def dlq_list(self, queue: str, *, reason: str | None = None,
                 job: str | None = None, count: int = 100
                 ) -> list[DeadLetter]:
        """Dead letters of queue, newest first: at most count of those
        matching reason (a dlq_reason of docs/protocol.md) and job (an exact
        job name), like `jobrt dlq list`. Looks at the newest 10 000 entries
        at most."""
        keys = self._keys(queue)
        if reason is not None and reason not in _check.DLQ_REASONS:
            raise ValueError(f"reason {reason!r} is not a dead-letter reason; "
                             f"expected one of "
                             f"{', '.join(sorted(_check.DLQ_REASONS))}")
        if job is not None:
            _check.name("job", job)
        _check.integer("count", count, 1, DLQ_SCAN_MAX)
        if self._raw is None:
            self._raw = _redis.raw_view(self._r)
        out: list[DeadLetter] = []
        start, scanned = "+", 0
        while scanned < DLQ_SCAN_MAX and len(out) < count:
            page = _redis.xrevrange_raw(self._raw, keys.dlq, start,
                                        min(DLQ_PAGE,
                                            DLQ_SCAN_MAX - scanned))
            for entry_id, raw_fields in page:
                scanned += 1
                letter = _dead_letter(entry_id, raw_fields)
                if ((reason is None or letter.reason == reason) and
                        (job is None or letter.job == job)):
                    out.append(letter)
                    if len(out) == count:
                        break
            if len(page) < DLQ_PAGE:
                break
            start = "(" + page[-1][0]
        return out

    def dlq_retry(self, queue: str, entry_ids: Iterable[str]) -> RetryResult:
        """Re-enqueues dead letters by entry id (DeadLetter.entry_id), in
        calls of 100 ids, through the runtime's DLQ_RETRY script: each goes
        back to the stream without attempt, last_error and dlq_* fields.
        Those kept encoded (dlq_fields, dlq_delayed_member, nothing but
        dlq_* fields) stay in the DLQ and are returned in kept."""
        keys = self._keys(queue)
        if isinstance(entry_ids, (str, bytes)):
            raise TypeError("entry_ids must be a list of entry ids, not one "
                            "string")
        ids = [_check.entry_id(f"entry_ids[{i}]", e)
               for i, e in enumerate(entry_ids)]
        moved, kept = 0, []
        for start in range(0, len(ids), DLQ_RETRY_CHUNK):
            reply = _redis.DLQ_RETRY.run(self._r, [keys.dlq, keys.stream],
                                         ids[start:start + DLQ_RETRY_CHUNK])
            if not (isinstance(reply, list) and len(reply) == 2 and
                    isinstance(reply[0], int)):
                raise redis_lib.exceptions.ResponseError(
                    f"unexpected reply from the DLQ_RETRY script: {reply!r}")
            moved += reply[0]
            kept += [_redis.text(k) for k in reply[1]]
        return RetryResult(moved, kept)


def _dead_letter(entry_id: str,
                 raw_fields: Sequence[tuple[bytes, bytes]]) -> DeadLetter:
    """A DeadLetter from one XREVRANGE entry: of a repeated field, the
    first value counts, as in the runtime's dlq_field (runtime/queue/dlq.c)
    and the Node client."""
    fields: dict[str, str] = {}
    for k, v in raw_fields:
        fields.setdefault(_redis.text(k), _redis.text(v))
    return DeadLetter(
        entry_id=entry_id,
        job_id=fields.get("id", fields.get("dlq_source_id")),
        job=fields.get("job"), v=_wire_int(fields.get("v")),
        reason=fields.get("dlq_reason"), error=fields.get("dlq_error"),
        worker=fields.get("dlq_worker"), at=_wire_int(fields.get("dlq_at")),
        fields=fields)


def _wire_int(value: str | None) -> int | None:
    """A decimal integer as the wire format writes it (digits only, no
    leading zero), or None."""
    if value is None or not _WIRE_INT.fullmatch(value):
        return None
    return int(value)
