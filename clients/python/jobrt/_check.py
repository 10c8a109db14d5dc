"""Validation of producer input, by the rules of docs/protocol.md (wire
format v1) and the runtime's envelope checks (runtime/core/envelope.c,
runtime/queue/enqueue_parse.c): names, ids, versions, durations, due times
and JSON payloads. Every function raises ValueError or TypeError with a
message that names the argument; none of them talks to Redis.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

MAX_NAME = 128
MAX_ID = 128
MAX_VERSION = 2147483647
MAX_ATTEMPTS = 1000
MAX_TIMEOUT_MS = 86_400_000  # 24 h
MAX_DURATION_MS = 366 * 86_400_000  # 366 days
MAX_EPOCH_MS = 2**63 - 1
JSON_MAX_DEPTH = 64
MAX_PAYLOAD_LIMIT = 512 << 20  # the largest --max-payload a worker takes

_NAME_RE = re.compile(r"[A-Za-z0-9_.:/-]{1,128}")
_ID_RE = re.compile(r"[\x21-\x7e]{1,128}")
_ENTRY_ID_RE = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

#: Every dlq_reason a worker writes (docs/protocol.md, "Dead letters").
DLQ_REASONS = frozenset({
    "invalid_envelope", "payload_too_large", "entry_too_large",
    "too_many_fields", "no_handler", "schema_unsupported",
    "retries_exhausted", "permanent_failure", "timeout", "expired",
    "cancelled", "poison", "disabled",
})


def _shown(value: Any) -> str:
    """Up to about 64 columns of a value, for an error message."""
    text = repr(value)
    return text if len(text) <= 64 else text[:61] + "..."


def name(arg: str, value: Any) -> str:
    """A job, queue or namespace name: 1-128 characters of [A-Za-z0-9_.:/-]."""
    if not isinstance(value, str):
        raise TypeError(f"{arg} must be a str, got {type(value).__name__}")
    if not _NAME_RE.fullmatch(value):
        raise ValueError(f"{arg} must be 1-{MAX_NAME} characters of "
                         f"[A-Za-z0-9_.:/-], got {_shown(value)}")
    return value


def ident(arg: str, value: Any) -> str:
    """A job id, correlation id or idempotency key: 1-128 printable ASCII
    characters, no spaces."""
    if not isinstance(value, str):
        raise TypeError(f"{arg} must be a str, got {type(value).__name__}")
    if not _ID_RE.fullmatch(value):
        raise ValueError(f"{arg} must be 1-{MAX_ID} printable ASCII "
                         f"characters without spaces, got {_shown(value)}")
    return value


def entry_id(arg: str, value: Any) -> str:
    """A stream entry id as Redis prints it: <ms>-<seq>."""
    if not isinstance(value, str):
        raise TypeError(f"{arg} must be a str, got {type(value).__name__}")
    if not _ENTRY_ID_RE.fullmatch(value):
        raise ValueError(f"{arg} must be a stream entry id like "
                         f"'1700000000000-0', got {_shown(value)}")
    return value


def integer(arg: str, value: Any, lo: int, hi: int) -> int:
    """An int (not a bool) within [lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{arg} must be an int, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise ValueError(f"{arg} must be {lo}-{hi}, got {value}")
    return value


def duration_ms(arg: str, value: Any, min_ms: int, max_ms: int) -> int:
    """Seconds (int or float) or a timedelta, as whole ms within
    [min_ms, max_ms] (a fraction of a ms is rounded to the nearest)."""
    if isinstance(value, timedelta):
        ms = round(value / timedelta(milliseconds=1))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{arg} must be a finite number of seconds, "
                             f"got {value}")
        ms = round(value * 1000)
    else:
        raise TypeError(f"{arg} must be seconds (int or float) or a "
                        f"datetime.timedelta, got {type(value).__name__}")
    if not min_ms <= ms <= max_ms:
        shown = value if isinstance(value, timedelta) else f"{value}s"
        raise ValueError(f"{arg} must be {_fmt_ms(min_ms)} to "
                         f"{_fmt_ms(max_ms)}, got {shown}")
    return ms


def _fmt_ms(ms: int) -> str:
    if ms % 86_400_000 == 0 and ms > 86_400_000:
        return f"{ms // 86_400_000}d"
    if ms % 3_600_000 == 0 and ms:
        return f"{ms // 3_600_000}h"
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"


# An `at` of 1 to below this many ms (before March 1973) is surely seconds:
# refused, as `jobrt enqueue --at` refuses it, not run at once.
AT_MIN_MS = 100_000_000_000


def due_ms(arg: str, value: Any) -> int:
    """`at`: like epoch_ms, but an int that looks like seconds is refused."""
    ms = epoch_ms(arg, value)
    if not isinstance(value, datetime) and 0 < ms < AT_MIN_MS:
        raise ValueError(f"{arg} is {ms}: that looks like seconds since the "
                         f"Unix epoch; {arg} takes ms ({ms}000) or an aware "
                         "datetime")
    return ms


def epoch_ms(arg: str, value: Any) -> int:
    """A time: an aware datetime, or ms since the Unix epoch as an int."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{arg} must be a timezone-aware datetime "
                             "(say datetime.now(timezone.utc)), got a naive "
                             "one")
        ms = (value - _EPOCH) // timedelta(milliseconds=1)
        if ms < 0:
            raise ValueError(f"{arg} must not be before 1970, got "
                             f"{value.isoformat()}")
        return ms
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{arg} must be an aware datetime or ms since the "
                        f"Unix epoch (int), got {type(value).__name__}")
    if not 0 <= value <= MAX_EPOCH_MS:
        raise ValueError(f"{arg} must be ms since the Unix epoch, 0 or more, "
                         f"got {value}")
    return value


_LONE_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_IDENTIFIER_RE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def _json_key(key: Any) -> str:
    """A dict key as json.dumps writes it."""
    if key is True or key is False:
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, float):
        return float.__repr__(key)
    return str(key)


def _path(arg: str, node: Any) -> str:
    """The path of a value inside arg, as the Node client writes it:
    payload.items[3]["a b"]. node is (parent node, key or index) or None."""
    parts = []
    while node is not None:
        node, step = node
        if isinstance(step, int) and not isinstance(step, bool):
            parts.append(f"[{step}]")
        elif _IDENTIFIER_RE.fullmatch(step):
            parts.append("." + step)
        else:
            parts.append("[" + json.dumps(step, ensure_ascii=False) + "]")
    return arg + "".join(reversed(parts))


def _surrogate_message(where: str, text: str) -> str:
    found = _LONE_SURROGATE_RE.search(text)
    assert found is not None
    code = ord(found.group())
    return (f"{where} has a lone UTF-16 surrogate (U+{code:04X}), which is "
            "not valid UTF-8: the worker refuses the payload")


def _walk(arg: str, value: Any) -> None:
    """Checks a payload value as the worker's json_check will see it once
    serialized (runtime/core/json_check.c): no lone surrogate in a string
    or key (not valid UTF-8, or a lone \\uD800 escape), no NaN or Infinity,
    containers nested at most 64 deep, and only what JSON can hold. Raises
    naming the path of the bad value (payload.items[3]). Iterative, so a
    hostile value cannot blow the stack; visits values in document order."""
    stack: list[tuple[Any, int, Any]] = [(value, 1, None)]
    while stack:
        item, level, node = stack.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE_RE.search(item):
                raise ValueError(_surrogate_message(_path(arg, node), item))
            continue
        if item is None or isinstance(item, int):  # bool is an int
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError(f"{_path(arg, node)} is {item!r}: JSON has "
                                 "no NaN or Infinity")
            continue
        if isinstance(item, (dict, list, tuple)) and level > JSON_MAX_DEPTH:
            raise ValueError(f"{arg} is nested deeper than {JSON_MAX_DEPTH}")
        if isinstance(item, dict):
            children = []
            for k, v in item.items():
                if not (k is None or isinstance(k, (str, int, float))):
                    raise TypeError(f"{_path(arg, node)} has a key of type "
                                    f"{type(k).__name__}: JSON keys are "
                                    "strings")
                key = _json_key(k)
                if isinstance(k, float) and not math.isfinite(k):
                    raise ValueError(f"{_path(arg, node)} has the key {k!r}:"
                                     " JSON has no NaN or Infinity")
                if _LONE_SURROGATE_RE.search(key):
                    raise ValueError(_surrogate_message(
                        f"{_path(arg, node)} has a key that", key))
                children.append((v, level + 1, (node, key)))
            stack.extend(reversed(children))
        elif isinstance(item, (list, tuple)):
            stack.extend((v, level + 1, (node, i))
                         for i, v in reversed(list(enumerate(item))))
        else:
            raise TypeError(f"{_path(arg, node)} is of type "
                            f"{type(item).__name__}, which is not "
                            "JSON-serializable")


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _number(text: str) -> int:
    """Numbers of payload_json are only checked, never converted (Python
    would refuse an int of more than 4300 digits; the worker takes it)."""
    return 0


def payload_text(arg: str, value: Any) -> bytes:
    """JSON text given as is (str or bytes): checked to be one JSON value
    the worker accepts (runtime/core/json_check.c): valid UTF-8, no lone
    surrogate escape, no NaN or Infinity, nested at most 64 deep. Returns
    its bytes."""
    if isinstance(value, str):
        try:
            raw = value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError(f"{arg} is not valid UTF-8: {e.reason}") from None
    elif isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    else:
        raise TypeError(f"{arg} must be JSON text (str or bytes), got "
                        f"{type(value).__name__}")
    try:
        decoded = json.loads(raw.decode("utf-8"), parse_constant=_no_constant,
                             parse_int=_number, parse_float=_number)
    except UnicodeDecodeError as e:
        raise ValueError(f"{arg} is not valid UTF-8: {e.reason}") from None
    except RecursionError:
        raise ValueError(f"{arg} is nested deeper than {JSON_MAX_DEPTH}") \
            from None
    except ValueError as e:
        raise ValueError(f"{arg} is not valid JSON: {e}") from None
    _walk(arg, decoded)
    return raw


def payload_value(arg: str, value: Any) -> bytes:
    """Any JSON-able value, serialized compactly as UTF-8 JSON text; what
    JSON cannot hold raises naming its path (payload.items[3])."""
    _walk(arg, value)
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{arg} is not JSON-serializable: {e}") from None
    return text.encode("utf-8")


def payload_size(arg: str, payload: bytes, max_bytes: int) -> bytes:
    """A serialized payload of at most max_bytes (0: no limit), the
    worker's --max-payload."""
    if max_bytes and len(payload) > max_bytes:
        raise ValueError(f"{arg} is {len(payload)} bytes, over max_payload "
                         f"({max_bytes} bytes): a worker with --max-payload "
                         f"{max_bytes} dead-letters it as payload_too_large")
    return payload
