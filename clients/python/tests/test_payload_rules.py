"""The payload rules are the worker's (runtime/core/json_check.c): JSON
text the client accepts is exactly what the worker accepts, so no job is
dead-lettered as invalid_envelope after it was sent. A corpus of texts,
each with the worker's verdict, is checked against the client, and (with
JOBRT_BIN) against the real worker's check through `jobrt exec`. Payload
values JSON cannot hold are refused naming their path, and max_payload
refuses what a worker's --max-payload would dead-letter."""

from __future__ import annotations

import math
import os
import subprocess
from pathlib import Path

import pytest

import jobrt

Q = "q"
DEEP_64 = b"[" * 64 + b"]" * 64
DEEP_65 = b"[" * 65 + b"]" * 65

# (what, JSON text, whether the worker accepts it)
CORPUS = [
    ("object", b'{"a":1}', True),
    ("number out of double range", b"[1e999]", True),
    ("minus zero and exponents", b"[-0,1E+2,0.5e-3]", True),
    ("an int of 5000 digits", b"9" * 5000, True),
    ("surrogate pair escape", b'"\\ud83d\\ude00"', True),
    ("highest pair escape", b'"\\uDBFF\\uDFFF"', True),
    ("NUL escape", b'"\\u0000"', True),
    ("JSON whitespace around", b" \t\n\r[1] \n", True),
    ("duplicate keys", b'{"a":1,"a":2}', True),
    ("2-byte UTF-8", '"\u00e9"'.encode(), True),
    ("4-byte UTF-8", '"\U0001F600"'.encode(), True),
    ("DEL", b'"\x7f"', True),
    ("64 deep", DEEP_64, True),
    ("lone high surrogate escape", b'"\\ud800"', False),
    ("lone low surrogate escape", b'"\\udc00"', False),
    ("high escape then a non-low escape", b'"\\ud800\\u0041"', False),
    ("high escape then a character", b'"\\ud800x"', False),
    ("lone surrogate escape in a key", b'{"\\udfff":1}', False),
    ("NaN", b"NaN", False),
    ("Infinity", b"[Infinity]", False),
    ("-Infinity", b'{"a":-Infinity}', False),
    ("65 deep", DEEP_65, False),
    ("UTF-8 encoded surrogate", b'"\xed\xa0\x80"', False),
    ("overlong UTF-8", b'"\xc0\xaf"', False),
    ("above U+10FFFF", b'"\xf4\x90\x80\x80"', False),
    ("a byte that is no UTF-8", b'"\xff"', False),
    ("truncated UTF-8", b'"\xe2\x82"', False),
    ("UTF-8 BOM", b"\xef\xbb\xbf{}", False),
    ("raw tab in a string", b'"a\tb"', False),
    ("bad escape", b'"\\x41"', False),
    ("truncated \\u escape", b'"\\u12"', False),
    ("trailing comma", b"[1,]", False),
    ("leading zero", b"01", False),
    ("bare fraction", b".5", False),
    ("plus sign", b"+1", False),
    ("single quotes", b"'a'", False),
    ("vertical tab", b"\x0b1", False),
    ("no-break space after", "1\u00a0".encode(), False),
    ("two values", b"1 2", False),
    ("only whitespace", b" \n", False),
    ("empty", b"", False),
]
IDS = [what for what, _, _ in CORPUS]


@pytest.mark.parametrize("what,text,accepted", CORPUS, ids=IDS)
def test_payload_json_is_accepted_as_the_worker_would(client, r, what, text,
                                                      accepted):
    forms = [text]
    try:
        forms.append(text.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    for form in forms:
        if accepted:
            client.enqueue(Q, "echo", 1, payload_json=form)
        else:
            with pytest.raises(ValueError, match=r"^payload_json "):
                client.enqueue(Q, "echo", 1, payload_json=form)
    assert r.xlen("jobrt:{q}:stream") == (len(forms) if accepted else 0)


@pytest.mark.parametrize("what,text,accepted", CORPUS, ids=IDS)
def test_the_corpus_is_the_worker_s_own_verdict(what, text, accepted):
    binary = os.environ.get("JOBRT_BIN")
    if not binary:
        pytest.skip("JOBRT_BIN is not set: the path of the jobrt binary "
                    "(ctest -R client_python sets it)")
    if not text:
        pytest.skip("jobrt exec refuses an empty --payload before its JSON "
                    "check (the worker's check refuses it too)")
    plugins = os.environ.get("JOBRT_PLUGIN_DIR") or \
        str(Path(binary).resolve().parent / "plugins")
    run = subprocess.run([binary.encode(), b"exec", b"--plugin-dir",
                          plugins.encode(), b"echo", b"-v", b"1",
                          b"--payload", text],
                         capture_output=True, timeout=30)
    assert run.returncode == (0 if accepted else 1), run.stderr.decode(
        errors="replace")
    if not accepted:
        assert b"payload is not valid JSON" in run.stderr, run.stderr


BAD_VALUES = [
    ({"items": [1, 2, 3, math.inf]}, ValueError,
     r"^payload\.items\[3\] is inf: JSON has no NaN or Infinity$"),
    ({"a b": [0, -math.inf]}, ValueError, r'^payload\["a b"\]\[1\] is -inf'),
    ([{"x": math.nan}], ValueError, r"^payload\[0\]\.x is nan"),
    ({"s": "x\udc00"}, ValueError,
     r"^payload\.s has a lone UTF-16 surrogate \(U\+DC00\), which is not "
     r"valid UTF-8: the worker refuses the payload$"),
    ({"ok": 1, "\ud800k": 1}, ValueError,
     r"^payload has a key that has a lone UTF-16 surrogate \(U\+D800\)"),
    ({math.nan: 1}, ValueError, r"^payload has the key nan"),
    ({(1, 2): 1}, TypeError, r"^payload has a key of type tuple"),
    ({"when": object()}, TypeError,
     r"^payload\.when is of type object, which is not JSON-serializable$"),
    ({"b": b"raw"}, TypeError, r"^payload\.b is of type bytes"),
]


@pytest.mark.parametrize("payload,error,message", BAD_VALUES,
                         ids=[repr(p)[:40] for p, _, _ in BAD_VALUES])
def test_a_bad_payload_value_is_named_by_its_path(client, r, payload, error,
                                                  message):
    with pytest.raises(error, match=message):
        client.enqueue(Q, "echo", 1, payload)
    with pytest.raises(error, match=message.replace("^payload",
                                                    r"^jobs\[1\]: payload")):
        client.enqueue_many(Q, [{"job": "echo", "v": 1, "payload": 1},
                                {"job": "echo", "v": 1, "payload": payload}])
    assert r.dbsize() == 0


def test_what_json_dumps_takes_is_still_taken(client, r):
    client.enqueue(Q, "echo", 1, {"t": (1, 2), 1: True, None: 1.5,
                                  "e": "\U0001F600", "n": 10**40})
    payload = r.xrange("jobrt:{q}:stream")[0][1][b"payload"]
    assert payload == ('{"t":[1,2],"1":true,"null":1.5,"e":"\U0001F600",'
                       '"n":10000000000000000000000000000000000000000}'
                       ).encode()


def test_max_payload_refuses_what_the_worker_would_dead_letter(redis_url, r):
    with jobrt.Client(redis_url, max_payload=10) as c:
        c.enqueue(Q, "echo", 1, "x" * 8)  # '"xxxxxxxx"': 10 bytes
        c.enqueue(Q, "echo", 1, payload_json=b" " * 8 + b"[]")
        with pytest.raises(ValueError, match=r"^payload is 11 bytes, over "
                           r"max_payload \(10 bytes\): a worker with "
                           r"--max-payload 10 dead-letters it as "
                           r"payload_too_large$"):
            c.enqueue(Q, "echo", 1, "x" * 9)
        with pytest.raises(ValueError, match=r"^payload_json is 12 bytes"):
            c.enqueue(Q, "echo", 1, payload_json="[" + " " * 10 + "]")
        with pytest.raises(ValueError, match=r"^jobs\[0\]: payload is 12 "):
            c.enqueue_many(Q, [{"job": "echo", "v": 1, "payload": "é" * 5}])
    assert r.xlen("jobrt:{q}:stream") == 2


def test_max_payload_default_is_the_worker_s_and_0_is_no_limit(redis_url, r):
    mib = 1 << 20
    with jobrt.Client(redis_url) as c:
        assert c.max_payload == mib
        c.enqueue(Q, "echo", 1, payload_json=b'"' + b"x" * (mib - 2) + b'"')
        with pytest.raises(ValueError, match=r"^payload is 1048577 bytes"):
            c.enqueue(Q, "echo", 1, "x" * (mib - 1))
    with jobrt.Client(redis_url, max_payload=0) as c:
        c.enqueue(Q, "echo", 1, "x" * (2 * mib))
    assert r.xlen("jobrt:{q}:stream") == 2


@pytest.mark.parametrize("bad,error,message", [
    (-1, ValueError, r"^max_payload must be 0-536870912, got -1$"),
    (512 * 1024 * 1024 + 1, ValueError, r"^max_payload must be 0-"),
    ("1m", TypeError, r"^max_payload must be an int, got str$"),
    (True, TypeError, r"^max_payload must be an int"),
])
def test_a_bad_max_payload(redis_url, bad, error, message):
    with pytest.raises(error, match=message):
        jobrt.Client(redis_url, max_payload=bad)
