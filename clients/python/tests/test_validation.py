"""Every input rule of enqueue and enqueue_many (docs/protocol.md): each
bad argument raises ValueError or TypeError naming it, and nothing at all
reaches Redis."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

import jobrt

Q = "q"
NEST_65 = [[[[]]]]
for _ in range(61):
    NEST_65 = [NEST_65]

# (keyword arguments of enqueue beyond queue/job/version/payload, error type,
#  what the message must contain)
BAD_OPTIONS = [
    ({"id": ""}, ValueError, "id must be 1-128 printable"),
    ({"id": "a b"}, ValueError, "id must be"),
    ({"id": "x" * 129}, ValueError, "id must be"),
    ({"id": "é"}, ValueError, "id must be"),
    ({"id": 7}, TypeError, "id must be a str"),
    ({"correlation_id": "tab\there"}, ValueError, "correlation_id must be"),
    ({"key": "sp ace"}, ValueError, "key must be"),
    ({"max_attempts": 0}, ValueError, "max_attempts must be 1-1000"),
    ({"max_attempts": 1001}, ValueError, "max_attempts must be 1-1000"),
    ({"max_attempts": 2.0}, TypeError, "max_attempts must be an int"),
    ({"max_attempts": True}, TypeError, "max_attempts must be an int"),
    ({"timeout": 0}, ValueError, "timeout must be 1ms to 24h"),
    ({"timeout": 0.0004}, ValueError, "timeout must be 1ms to 24h"),
    ({"timeout": 86_400.001}, ValueError, "timeout must be 1ms to 24h"),
    ({"timeout": "5s"}, TypeError, "timeout must be seconds"),
    ({"delay": -1}, ValueError, "delay must be 0s to 366d"),
    ({"delay": timedelta(days=367)}, ValueError, "delay must be 0s to 366d"),
    ({"delay": math.inf}, ValueError, "delay must be a finite number"),
    ({"delay": math.nan}, ValueError, "delay must be a finite number"),
    ({"expires_in": 0}, ValueError, "expires_in must be 1ms to 366d"),
    ({"expires_in": 366 * 86400 + 1}, ValueError, "expires_in must be"),
    ({"dedupe_window": 10}, ValueError, "dedupe_window needs key"),
    ({"dedupe_window": 0, "key": "k"}, ValueError,
     "dedupe_window must be 1ms to 366d"),
    ({"at": datetime(2030, 1, 1)}, ValueError, "at must be a timezone-aware"),
    ({"at": -1}, ValueError, "at must be ms since the Unix epoch"),
    ({"at": 1733000000}, ValueError,
     "at is 1733000000: that looks like seconds since the Unix epoch"),
    ({"at": "2030-01-01T00:00:00Z"}, TypeError, "at must be an aware"),
    ({"expires_at": 1.5}, TypeError, "expires_at must be an aware"),
    ({"delay": 5, "at": 10**13}, ValueError, "delay and at both given"),
    ({"expires_in": 5, "expires_at": 10**13}, ValueError,
     "expires_in and expires_at both given"),
    ({"payload_json": "{"}, ValueError, "payload_json is not valid JSON"),
    ({"payload_json": "1 2"}, ValueError, "payload_json is not valid JSON"),
    ({"payload_json": "NaN"}, ValueError, "payload_json is not valid JSON"),
    ({"payload_json": b"\"\xff\""}, ValueError,
     "payload_json is not valid UTF-8"),
    ({"payload_json": "\"\ud800\""}, ValueError,
     "payload_json is not valid UTF-8"),
    ({"payload_json": "[" * 65 + "]" * 65}, ValueError,
     "payload_json is nested deeper than 64"),
    ({"payload_json": {"a": 1}}, TypeError, "payload_json must be JSON text"),
]


@pytest.mark.parametrize("options,error,message", BAD_OPTIONS,
                         ids=[repr(o) for o, _, _ in BAD_OPTIONS])
def test_bad_option_raises_naming_it_and_sends_nothing(client, r, options,
                                                       error, message):
    payload = {} if "payload_json" not in options else jobrt.client._job.MISSING
    with pytest.raises(error, match=message.replace("(", r"\(")):
        client.enqueue(Q, "echo", 1, payload, **options)
    assert r.dbsize() == 0


BAD_ARGS = [
    (("", "echo", 1, {}), ValueError, "queue must be 1-128 characters"),
    (("a{b}", "echo", 1, {}), ValueError, "queue must be"),
    (("q" * 129, "echo", 1, {}), ValueError, "queue must be"),
    ((Q, "", 1, {}), ValueError, "job must be 1-128 characters"),
    ((Q, "bad name", 1, {}), ValueError, "job must be"),
    ((Q, "j" * 129, 1, {}), ValueError, "job must be"),
    ((Q, None, 1, {}), ValueError, "job is missing"),
    ((Q, "echo", -1, {}), ValueError, "version must be 0-2147483647"),
    ((Q, "echo", 2147483648, {}), ValueError, "version must be"),
    ((Q, "echo", "1", {}), TypeError, "version must be an int"),
    ((Q, "echo", 1.0, {}), TypeError, "version must be an int"),
    ((Q, "echo", 1, {"x": {1, 2}}), TypeError,
     "payload.x is of type set, which is not JSON-serializable"),
    ((Q, "echo", 1, [math.nan]), ValueError,
     "payload\\[0\\] is nan: JSON has no NaN or Infinity"),
    ((Q, "echo", 1, NEST_65), ValueError, "payload is nested deeper than 64"),
    ((Q, "echo", 1, "\ud800"), ValueError,
     "payload has a lone UTF-16 surrogate \\(U\\+D800\\)"),
    ((Q, "echo", 1), ValueError, "give payload or payload_json"),
]


@pytest.mark.parametrize("args,error,message", BAD_ARGS,
                         ids=[repr(a)[:60] for a, _, _ in BAD_ARGS])
def test_bad_argument_raises_naming_it_and_sends_nothing(client, r, args,
                                                         error, message):
    with pytest.raises(error, match=message):
        client.enqueue(*args)
    assert r.dbsize() == 0


def test_payload_and_payload_json_together(client, r):
    with pytest.raises(ValueError, match="payload and payload_json both"):
        client.enqueue(Q, "echo", 1, {}, payload_json="{}")
    assert r.dbsize() == 0


def test_a_64_deep_payload_is_fine(client, r):
    client.enqueue(Q, "echo", 1, payload_json="[" * 64 + "]" * 64)
    client.enqueue(Q, "echo", 1, NEST_65[0])
    assert r.xlen("jobrt:{q}:stream") == 2


def test_bad_namespace(redis_url):
    with pytest.raises(ValueError, match="namespace must be"):
        jobrt.Client(redis_url, namespace="a b")
    with pytest.raises(TypeError, match="redis must be a URL"):
        jobrt.Client(42)


BAD_MANY = [
    ({"v": 1, "payload": 1}, ValueError, "jobs\\[1\\]: job is missing"),
    ({"job": "echo", "payload": 1}, ValueError, "jobs\\[1\\]: v is missing"),
    ({"job": "echo", "v": 1}, ValueError,
     "jobs\\[1\\]: give payload or payload_json"),
    ({"job": "echo", "v": 1, "payload": 1, "x": 1}, ValueError,
     "jobs\\[1\\]: unknown key 'x'"),
    ({"job": "echo", "v": 1, "payload": 1, "attempt": 2}, ValueError,
     "jobs\\[1\\]: 'attempt' is set by the worker"),
    ({"job": "echo", "v": 1, "payload": 1, "last_error": "x"}, ValueError,
     "jobs\\[1\\]: 'last_error' is set by the worker"),
    ({"job": "echo", "v": 1, "payload": 1, "key": "a",
      "idempotency_key": "b"}, ValueError,
     "jobs\\[1\\]: key and idempotency_key both given"),
    ({"job": "echo", "v": 1, "payload": 1, "not_before": 5, "delay": 1},
     ValueError, "jobs\\[1\\]: not_before and delay both given"),
    ({"job": "echo", "v": 1, "payload": 1, "not_before": 5, "at": 1},
     ValueError, "jobs\\[1\\]: not_before and at both given"),
    ({"job": "echo", "v": 1, "payload": 1, "timeout": 1, "timeout_ms": 5},
     ValueError, "jobs\\[1\\]: timeout and timeout_ms both given"),
    ({"job": "echo", "v": 1, "payload": 1, "timeout_ms": 0}, ValueError,
     "jobs\\[1\\]: timeout_ms must be 1-86400000"),
    ({"job": "echo", "v": 1, "payload": 1, "enqueued_at": -5}, ValueError,
     "jobs\\[1\\]: enqueued_at must be ms"),
    ({"job": "echo", "v": 1, "payload": 1, "dedupe_window": 5}, ValueError,
     "jobs\\[1\\]: dedupe_window needs key"),
    (["job", "echo"], TypeError, "jobs\\[1\\]: a job must be a dict"),
]


@pytest.mark.parametrize("bad,error,message", BAD_MANY,
                         ids=[repr(b)[:60] for b, _, _ in BAD_MANY])
def test_enqueue_many_names_the_bad_job_and_sends_nothing(client, r, bad,
                                                          error, message):
    good = {"job": "echo", "v": 1, "payload": 1}
    with pytest.raises(error, match=message):
        client.enqueue_many(Q, [good, bad, good])
    assert r.dbsize() == 0


@pytest.mark.parametrize("key,value", [
    ("delay", "30s"), ("expires_in", "1h"), ("dedupe_window", "7d"),
    ("at", "2030-01-01T00:00:00Z"), ("expires_at", "1700000000000")])
def test_enqueue_many_refuses_ndjson_strings(client, r, key, value):
    """An NDJSON line's strings are never read some other way: a bare
    number is seconds here as there, and a string is refused."""
    job = {"job": "echo", "v": 1, "payload": 1, key: value}
    if key == "dedupe_window":
        job["key"] = "k"
    with pytest.raises(TypeError, match=rf"^jobs\[0\]: {key} must be "):
        client.enqueue_many(Q, [job])
    assert r.dbsize() == 0
