"""status, wait, dlq_list and dlq_retry against a real redis-server, with
outcome records and dead letters written as a worker writes them
(docs/protocol.md, "Outcome records" and "Dead letters"); the real worker
writes them in test_worker.py."""

from __future__ import annotations

import json
import threading
import time

import pytest
import redis

import jobrt

Q = "work"
STREAM = "jobrt:{work}:stream"
DLQ = "jobrt:{work}:dlq"


def record(job_id: str, status: str = "succeeded") -> dict:
    return {"id": job_id, "queue": Q, "job": "echo", "v": 1,
            "status": status, "attempts": 1, "deliveries": 1,
            "reason": None, "result": {"ok": True}, "error": None}


def dead_letter(r: redis.Redis, job_id: str | None, job: str, reason: str,
                at: int, **extra: str) -> str:
    """XADDs a dead letter the way a worker does: the original fields, then
    the dlq_* ones. Returns its entry id."""
    fields: dict[str, str] = {}
    if job_id is not None:
        fields["id"] = job_id
    fields.update({"job": job, "v": "2", "payload": '{"n":1}'})
    fields.update(extra)
    fields.update({"dlq_reason": reason, "dlq_error": f"{reason}: why",
                   "dlq_worker": "host-1", "dlq_at": str(at),
                   "dlq_source_id": f"{at}-0"})
    return r.xadd(DLQ, fields).decode()


def test_status_is_none_then_the_record(client, r):
    assert client.status(Q, "job-1") is None
    r.set("jobrt:{work}:job:job-1", json.dumps(record("job-1")), px=60_000)
    assert client.status(Q, "job-1") == record("job-1")
    assert client.status(Q, "job-2") is None


BUILD = {"plugin": "mail", "plugin_version": "2.0.0", "build_id": "b-7",
         "sha256": "a41c09e2b7d3", "generation": 3, "worker": "host-1-42"}


def put_succeeded(r: redis.Redis, start: int, job_id: str,
                  compact: str) -> None:
    """A succeeded record as the worker's COMPLETE script writes it: into
    the bucket of start, with its build and the bucket in the index."""
    r.hset(f"jobrt:{{work}}:done:{start}", job_id, compact)
    r.hset(f"jobrt:{{work}}:done:{start}:builds", "00ab", json.dumps(BUILD))
    r.zadd("jobrt:{work}:done", {str(start): start + 3600})


def test_status_expands_a_bucket_record_to_the_full_record(client, r):
    put_succeeded(r, 1000, "inv-9", '[1,"00ab","invoice_email",2,3,1,'
                  '1795442850699,73,72,71]{"n":12345678901234567890}')
    got = client.status(Q, "inv-9")
    assert got == {
        "id": "inv-9", "queue": Q, "job": "invoice_email", "v": 2,
        "status": "succeeded", "attempts": 3, "deliveries": 1,
        "reason": None, "result": {"n": 12345678901234567890},
        "error": None, "plugin": "mail", "plugin_version": "2.0.0",
        "build_id": "b-7", "sha256": "a41c09e2b7d3", "generation": 3,
        "enqueued_at": 1795442850626, "dispatched_at": 1795442850627,
        "started_at": 1795442850628, "finished_at": 1795442850699,
        "worker": "host-1-42"}
    assert list(got) == ["id", "queue", "job", "v", "status", "attempts",
                         "deliveries", "reason", "result", "error", "plugin",
                         "plugin_version", "build_id", "sha256",
                         "generation", "enqueued_at", "dispatched_at",
                         "started_at", "finished_at", "worker"]


def test_status_takes_the_record_that_finished_later(client, r):
    put_succeeded(r, 1000, "re-1", '[1,"00ab","echo",1,1,1,5000,3,2,1]')
    dead = dict(record("re-1", "dead"), finished_at=4000)
    r.set("jobrt:{work}:job:re-1", json.dumps(dead))
    assert client.status(Q, "re-1")["status"] == "succeeded"  # retried
    r.set("jobrt:{work}:job:re-1", json.dumps(dict(dead, finished_at=6000)))
    assert client.status(Q, "re-1")["status"] == "dead"  # ran again, died


def test_status_of_a_bucket_record_it_cannot_read(client, r):
    put_succeeded(r, 1000, "bad-1", "[2,3]")
    with pytest.raises(ValueError, match="record of job bad-1 is not a "
                       "compact record of format 1"):
        client.status(Q, "bad-1")


def test_status_of_a_record_that_is_not_json(client, r):
    r.set("jobrt:{work}:job:x", "{nope")
    with pytest.raises(ValueError, match=r"jobrt:\{work\}:job:x is not JSON"):
        client.status(Q, "x")


def test_status_validates_its_arguments(client):
    with pytest.raises(ValueError, match="id must be"):
        client.status(Q, "a b")
    with pytest.raises(ValueError, match="queue must be"):
        client.status("", "a")


def test_wait_returns_the_record_once_written(client, r):
    def finish() -> None:
        time.sleep(0.3)
        r.set("jobrt:{work}:job:slow", json.dumps(record("slow")))

    t = threading.Thread(target=finish)
    t0 = time.monotonic()
    t.start()
    try:
        assert client.wait(Q, "slow", timeout=10) == record("slow")
    finally:
        t.join()
    assert 0.25 < time.monotonic() - t0 < 5


def test_wait_times_out(client):
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match="job never of queue work has no "
                       "outcome record after 0.4s"):
        client.wait(Q, "never", timeout=0.4)
    assert 0.35 < time.monotonic() - t0 < 3


def test_dlq_list_newest_first_with_every_member(client, r):
    a = dead_letter(r, "a", "echo", "no_handler", 1000)
    b = dead_letter(r, None, "mail", "permanent_failure", 2000)
    c = dead_letter(r, "c", "echo", "permanent_failure", 3000,
                    attempt="3", last_error="boom")
    got = client.dlq_list(Q)
    assert [d.entry_id for d in got] == [c, b, a]
    last = got[0]
    assert isinstance(last, jobrt.DeadLetter)
    assert (last.job_id, last.job, last.v, last.reason, last.error,
            last.worker, last.at) == \
        ("c", "echo", 2, "permanent_failure", "permanent_failure: why",
         "host-1", 3000)
    assert last.fields["attempt"] == "3"
    assert last.fields["payload"] == '{"n":1}'
    assert got[1].job_id == "2000-0"  # no id field: its dlq_source_id


def test_dlq_list_filters_and_count(client, r):
    ids = [dead_letter(r, f"j{i}", "echo" if i % 2 else "mail",
                       "no_handler" if i % 3 else "expired", 1000 + i)
           for i in range(12)]
    echo = client.dlq_list(Q, job="echo")
    assert [d.entry_id for d in echo] == [ids[i] for i in range(11, -1, -1)
                                         if i % 2]
    expired = client.dlq_list(Q, reason="expired")
    assert [d.job_id for d in expired] == ["j9", "j6", "j3", "j0"]
    both = client.dlq_list(Q, reason="expired", job="echo")
    assert [d.job_id for d in both] == ["j9", "j3"]
    assert [d.job_id for d in client.dlq_list(Q, count=2)] == ["j11", "j10"]
    assert client.dlq_list(Q, job="other") == []
    assert client.dlq_list("empty") == []


def test_dlq_list_pages_and_its_scan_bound(client, r):
    pipe = r.pipeline(transaction=False)
    pipe.xadd(DLQ, {"id": "old", "job": "rare", "v": "1",
                    "dlq_reason": "expired"})
    for i in range(10_000):
        pipe.xadd(DLQ, {"id": f"n{i}", "job": "echo", "v": "1",
                        "dlq_reason": "no_handler"})
    pipe.execute()
    page_crossing = client.dlq_list(Q, count=1200)
    assert len(page_crossing) == 1200
    assert page_crossing[0].job_id == "n9999"
    assert page_crossing[1199].job_id == "n8800"
    # the 10 001st newest entry is past what one call looks at
    assert client.dlq_list(Q, job="rare") == []
    r.xdel(DLQ, r.xrevrange(DLQ, count=1)[0][0])
    assert [d.job_id for d in client.dlq_list(Q, job="rare")] == ["old"]


def test_dlq_list_validates_its_arguments(client):
    with pytest.raises(ValueError, match="reason 'nope' is not a dead-letter "
                       "reason; expected one of cancelled, "):
        client.dlq_list(Q, reason="nope")
    with pytest.raises(ValueError, match="job must be"):
        client.dlq_list(Q, job="a b")
    with pytest.raises(ValueError, match="count must be 1-10000"):
        client.dlq_list(Q, count=0)


def test_dlq_retry_moves_back_and_keeps_encoded(client, r):
    moved = dead_letter(r, "m", "echo", "retries_exhausted", 1000,
                        attempt="5", last_error="boom", extra_field="kept")
    no_id = dead_letter(r, None, "echo", "no_handler", 2000)
    encoded = r.xadd(DLQ, {"dlq_fields": "3:job,4:echo,1:v,1:1,",
                           "id": "enc", "job": "echo", "v": "1",
                           "dlq_reason": "too_many_fields",
                           "dlq_source_id": "5-0"}).decode()
    only_dlq = r.xadd(DLQ, {"dlq_reason": "invalid_envelope",
                            "dlq_delayed_member": "\x01"}).decode()
    res = client.dlq_retry(Q, [moved, no_id, encoded, only_dlq, "1-1"])
    assert res == jobrt.RetryResult(2, [encoded, only_dlq])
    moved_back, kept = res
    assert (moved_back, kept) == (2, [encoded, only_dlq])
    back = [{k.decode(): v.decode() for k, v in f.items()}
            for _, f in r.xrange(STREAM)]
    assert back == [
        {"id": "m", "job": "echo", "v": "2", "payload": '{"n":1}',
         "extra_field": "kept"},
        {"job": "echo", "v": "2", "payload": '{"n":1}', "id": "2000-0"}]
    assert [d.entry_id for d in client.dlq_list(Q)] == [only_dlq, encoded]


def test_dlq_retry_in_chunks(client, r):
    ids = [dead_letter(r, f"j{i}", "echo", "no_handler", 1000 + i)
           for i in range(250)]
    assert client.dlq_retry(Q, ids) == (250, [])
    assert r.xlen(STREAM) == 250 and r.xlen(DLQ) == 0
    assert client.dlq_retry(Q, []) == (0, [])


def test_dlq_retry_validates_ids_before_sending(client, r):
    keep = dead_letter(r, "k", "echo", "no_handler", 1000)
    with pytest.raises(ValueError, match=r"entry_ids\[1\] must be a stream "
                       "entry id"):
        client.dlq_retry(Q, [keep, "job-id"])
    with pytest.raises(TypeError, match="entry_ids must be a list"):
        client.dlq_retry(Q, keep)
    assert r.xlen(DLQ) == 1 and r.xlen(STREAM) == 0


def test_dlq_list_keeps_the_first_of_a_repeated_field(client, r, redis_url):
    """The runtime (runtime/queue/dlq.c) and the Node client read the first
    value of a field an entry repeats; so does this client, in fields too,
    and its reason/job filters see the same values."""
    entry = r.execute_command(
        "XADD", DLQ, "*", "job", "echo", "id", "first-id", "v", "1",
        "job", "other", "id", "second-id", "v", "2", "payload", "{}",
        "dlq_reason", "no_handler", "dlq_reason", "poison",
        "dlq_at", "5", "dlq_at", "6").decode()
    with jobrt.Client(redis.Redis.from_url(redis_url,
                                           decode_responses=True)) as text:
        for c in (client, text):
            [d] = c.dlq_list(Q)
            assert (d.entry_id, d.job_id, d.job, d.v, d.reason, d.at) == \
                (entry, "first-id", "echo", 1, "no_handler", 5)
            assert (d.fields["job"], d.fields["id"], d.fields["dlq_at"]) == \
                ("echo", "first-id", "5")
            assert len(c.dlq_list(Q, job="echo", reason="no_handler")) == 1
            assert c.dlq_list(Q, job="other") == []
            assert c.dlq_list(Q, reason="poison") == []
