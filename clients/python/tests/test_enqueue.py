"""enqueue and enqueue_many against a real redis-server: every option lands
in the stream entry as docs/protocol.md says, delayed jobs in the delayed
set with the right due time, dedupe by key, bulk order."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import redis

import jobrt
from jobrt import _redis

from conftest import wait_until

Q = "emails"
STREAM = "jobrt:{emails}:stream"
DELAYED = "jobrt:{emails}:delayed"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def server_ms(r: redis.Redis) -> int:
    sec, usec = r.time()
    return sec * 1000 + usec // 1000


def entries(r: redis.Redis, stream: str = STREAM):
    """The stream's entries as (entry id, [(field, value), ...]) in order,
    str, read with XRANGE."""
    return [(i.decode(), [(k.decode(), v.decode()) for k, v in f.items()])
            for i, f in r.xrange(stream)]


def delayed(r: redis.Redis):
    """The delayed set as [(token, [(field, value)...], due ms)], decoded
    from cmsgpack {token, {field, value, ...}} by Redis's own Lua."""
    raw = r.eval("local out = {} "
                 "for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1, "
                 "'WITHSCORES')) do out[#out+1] = m end "
                 "local res = {} "
                 "for i = 1, #out, 2 do local t = cmsgpack.unpack(out[i]) "
                 "res[#res+1] = {t[1], t[2], out[i+1]} end return res",
                 1, DELAYED)
    out = []
    for token, flat, score in raw:
        pairs = [(flat[i].decode(), flat[i + 1].decode())
                 for i in range(0, len(flat), 2)]
        out.append((token.decode(), pairs, int(score)))
    return out


def test_plain_job_is_one_xadd_with_the_wire_fields(client, r):
    before = now_ms()
    res = client.enqueue(Q, "invoice_email", 2,
                         {"invoice": "INV-7", "n": [1, 2], "s": "é"},
                         id="inv-7", correlation_id="order-4711",
                         max_attempts=3, timeout=1.5)
    after = now_ms()
    assert res == jobrt.EnqueueResult("inv-7", True)
    [(_, fields)] = entries(r)
    names = [k for k, _ in fields]
    assert names == ["job", "v", "payload", "id", "correlation_id",
                     "max_attempts", "timeout_ms", "enqueued_at"]
    got = dict(fields)
    assert got["job"] == "invoice_email"
    assert got["v"] == "2"
    assert got["payload"] == '{"invoice":"INV-7","n":[1,2],"s":"é"}'
    assert got["correlation_id"] == "order-4711"
    assert got["max_attempts"] == "3"
    assert got["timeout_ms"] == "1500"
    assert before <= int(got["enqueued_at"]) <= after
    assert r.zcard(DELAYED) == 0


def test_without_id_the_entry_id_is_the_job_id(client, r):
    res = client.enqueue(Q, "echo", 1, None)
    [(entry_id, fields)] = entries(r)
    assert res == jobrt.EnqueueResult(entry_id, True)
    assert dict(fields)["payload"] == "null"
    assert "id" not in dict(fields)


def test_payload_json_is_sent_as_is(client, r):
    text = '{ "b" : 1,\n "a": [true, null] }'
    client.enqueue(Q, "echo", 1, payload_json=text)
    assert dict(entries(r)[0][1])["payload"] == text


def test_timedelta_durations_and_datetime_times(client, r):
    at = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    client.enqueue(Q, "echo", 1, {}, timeout=timedelta(minutes=2),
                   expires_at=at)
    got = dict(entries(r)[0][1])
    assert got["timeout_ms"] == "120000"
    assert got["expires_at"] == str(int(at.timestamp() * 1000))
    assert got["expires_at"] == "1893553445678"


def test_expires_at_ms_and_expires_in(client, r):
    client.enqueue(Q, "echo", 1, {}, id="a", expires_at=1234)
    before = now_ms()
    client.enqueue(Q, "echo", 1, {}, id="b", expires_in=60)
    after = now_ms()
    (_, a), (_, b) = entries(r)
    assert dict(a)["expires_at"] == "1234"
    assert before + 60_000 <= int(dict(b)["expires_at"]) <= after + 60_000


def test_delay_goes_to_the_delayed_set_with_its_due_time(client, r):
    t0 = server_ms(r)
    res = client.enqueue(Q, "echo", 1, {"x": 1}, delay=30)
    t1 = server_ms(r)
    assert res.created
    assert r.xlen(STREAM) == 0
    [(token, fields, due)] = delayed(r)
    assert token == "sched-1"
    assert t0 + 30_000 <= due <= t1 + 30_000
    got = dict(fields)
    # a scripted job without an id gets <ms>-<8 hex digits>, in its fields
    assert got["id"] == res.id
    ms, _, hexpart = res.id.partition("-")
    assert abs(int(ms) - t0) < 5_000 and len(hexpart) == 8
    int(hexpart, 16)
    assert [k for k, _ in fields][-1] == "id"
    assert "not_before" not in got


def test_at_goes_to_the_delayed_set_at_that_time(client, r):
    due = datetime.now(timezone.utc) + timedelta(hours=1)
    due_ms = (due - datetime(1970, 1, 1, tzinfo=timezone.utc)) \
        // timedelta(milliseconds=1)
    client.enqueue(Q, "echo", 1, {}, at=due, id="later")
    client.enqueue(Q, "echo", 1, {}, at=due_ms + 5, id="later2")
    (_, f1, d1), (_, f2, d2) = delayed(r)
    assert (d1, d2) == (due_ms, due_ms + 5)
    assert dict(f1)["id"] == "later" and dict(f2)["id"] == "later2"


def test_a_due_time_in_the_past_or_delay_0_is_added_at_once(client, r):
    client.enqueue(Q, "echo", 1, {}, at=100_000_000_000, id="past")
    client.enqueue(Q, "echo", 1, {}, delay=0, id="now")
    assert [dict(f)["id"] for _, f in entries(r)] == ["past", "now"]
    assert r.zcard(DELAYED) == 0


def test_key_dedupes_within_the_window_and_not_after(client, r):
    first = client.enqueue(Q, "echo", 1, {"n": 1}, key="order-1",
                           dedupe_window=0.3)
    again = client.enqueue(Q, "echo", 1, {"n": 2}, key="order-1",
                           dedupe_window=0.3, id="other")
    assert first.created and not again.created
    assert again.id == first.id
    [(_, fields)] = entries(r)
    assert dict(fields)["idempotency_key"] == "order-1"
    assert r.get("jobrt:{emails}:idem:order-1").decode() == first.id
    ttl = r.pttl("jobrt:{emails}:idem:order-1")
    assert 0 < ttl <= 300
    wait_until("the dedupe key to expire", 5,
               lambda: r.exists("jobrt:{emails}:idem:order-1") == 0)
    later = client.enqueue(Q, "echo", 1, {"n": 3}, key="order-1")
    assert later.created and later.id != first.id
    assert r.xlen(STREAM) == 2
    assert 86_000_000 < r.pttl("jobrt:{emails}:idem:order-1") <= 86_400_000


def test_key_with_delay_is_deduped_too(client, r):
    a = client.enqueue(Q, "echo", 1, {}, key="k", delay=60)
    b = client.enqueue(Q, "echo", 1, {}, key="k", delay=60)
    assert (a.created, b.created, b.id) == (True, False, a.id)
    assert r.zcard(DELAYED) == 1


def test_namespace_and_queue_keys(redis_url, r):
    with jobrt.Client(redis_url, namespace="staging") as c:
        c.enqueue("q.1:x/y-z", "echo", 1, {})
    assert r.xlen("staging:{q.1:x/y-z}:stream") == 1


def test_an_existing_redis_client_is_used_and_left_open(redis_url, r):
    conn = redis.Redis.from_url(redis_url, decode_responses=True)
    c = jobrt.Client(conn)
    assert c.redis is conn
    res = c.enqueue(Q, "echo", 1, {}, key="k")
    assert c.enqueue(Q, "echo", 1, {}, key="k") == \
        jobrt.EnqueueResult(res.id, False)
    c.close()
    assert conn.ping()
    conn.close()


def test_noscript_falls_back_to_eval(client, r):
    client.enqueue(Q, "echo", 1, {}, delay=60, id="one")
    r.script_flush()
    assert r.script_exists(_redis.ENQUEUE.sha) == [False]
    res = client.enqueue(Q, "echo", 1, {}, delay=60, id="two")
    assert res == jobrt.EnqueueResult("two", True)
    assert r.zcard(DELAYED) == 2


def test_enqueue_many_2000_in_input_order(client, r):
    jobs = [{"job": "echo", "v": 1, "payload": {"i": i}} for i in range(2000)]
    jobs[7]["delay"] = 60
    jobs[1500]["key"] = "k-1500"
    res = client.enqueue_many(Q, jobs)
    assert len(res) == 2000 and all(x.created for x in res)
    got = entries(r)
    assert len(got) == 1999
    stream_ids = [i for i, _ in got]
    payloads = [json.loads(dict(f)["payload"])["i"] for _, f in got]
    assert payloads == [i for i in range(2000) if i != 7]
    # plain jobs' ids are their entry ids, in input order
    plain = [x.id for i, x in enumerate(res) if i not in (7, 1500)]
    assert plain == [s for s, p in zip(stream_ids, payloads) if p != 1500]
    assert dict(got[1499][1])["id"] == res[1500].id
    assert dict(got[1499][1])["idempotency_key"] == "k-1500"
    [(_, fields, _)] = delayed(r)
    assert dict(fields)["id"] == res[7].id


def test_enqueue_many_wire_keys_and_duplicates(client, r):
    res = client.enqueue_many(Q, [
        {"job": "echo", "v": 1, "payload_json": "[1]", "timeout_ms": 250,
         "enqueued_at": 42, "idempotency_key": "dup", "id": "m1"},
        {"job": "echo", "v": 1, "payload": None, "key": "dup", "id": "m2",
         "delay": None},
        {"job": "echo", "v": 3, "payload": "x", "not_before": 1},
    ])
    assert [(x.id, x.created) for x in res] == \
        [("m1", True), ("m1", False), (res[2].id, True)]
    (_, a), (_, b) = entries(r)
    assert dict(a) == {"job": "echo", "v": "1", "payload": "[1]",
                       "id": "m1", "timeout_ms": "250", "enqueued_at": "42",
                       "idempotency_key": "dup"}
    assert dict(b)["not_before"] == "1" and dict(b)["payload"] == '"x"'


def test_enqueue_many_of_nothing(client, r):
    assert client.enqueue_many(Q, []) == []


def test_redis_errors_surface_as_redis_exceptions(client, r):
    r.set(STREAM, "not a stream")
    with pytest.raises(redis.exceptions.ResponseError, match="WRONGTYPE"):
        client.enqueue(Q, "echo", 1, {})
    with pytest.raises(redis.exceptions.ResponseError, match="WRONGTYPE"):
        client.enqueue_many(Q, [{"job": "echo", "v": 1, "payload": 1}])
