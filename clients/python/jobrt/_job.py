"""One job to enqueue -> the stream entry fields of wire format v1 and how
to send it, as `jobrt enqueue` builds them (runtime/queue/enqueue_parse.c):
a plain XADD, or the ENQUEUE script for a job with a delay, a due time or
an idempotency key. Everything is validated here, before anything is sent.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping

from . import _check

DEFAULT_DEDUPE_WINDOW_MS = 86_400_000  # 24 h, as the CLI
DEFAULT_MAX_PAYLOAD = 1 << 20  # the worker's --max-payload default, 1 MiB

#: Keys a job of enqueue_many may have: the options of enqueue() under their
#: own names, plus the wire fields of the NDJSON form with their wire values.
JOB_KEYS = (
    "job", "v", "payload", "payload_json", "id", "correlation_id",
    "max_attempts", "timeout", "timeout_ms", "delay", "at", "not_before",
    "expires_in", "expires_at", "enqueued_at", "key", "idempotency_key",
    "dedupe_window",
)
_WORKER_KEYS = ("attempt", "last_error")
_CONFLICTS = (
    ("payload", "payload_json"), ("timeout", "timeout_ms"), ("delay", "at"),
    ("not_before", "delay"), ("not_before", "at"),
    ("expires_in", "expires_at"), ("key", "idempotency_key"),
)

#: What the payload argument is when it is not given at all (None is the
#: JSON payload null).
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


@dataclass
class PreparedJob:
    """A validated job: its fields in wire order and the script's ARGV."""

    fields: list[tuple[str, bytes]]
    job_id: str | None  # its own id; a scripted job always has one
    key: str | None  # idempotency key (deduped), or None
    delay_ms: int | None = None
    at_ms: int | None = None
    window_ms: int = DEFAULT_DEDUPE_WINDOW_MS
    scripted: bool = field(init=False)

    def __post_init__(self) -> None:
        self.scripted = (self.delay_ms is not None or self.at_ms is not None
                         or self.key is not None)


class IdMaker:
    """Ids for scripted jobs without one: "<ms>-<8 hex digits>", a random
    base plus a counter, as the CLI makes them (runtime/queue/enqueue.c)."""

    def __init__(self) -> None:
        self._base = secrets.randbits(32)
        self._seq = 0
        self._lock = threading.Lock()

    def next(self, now_ms: int) -> str:
        """The next id, for a job enqueued at now_ms."""
        with self._lock:
            n = (self._base + self._seq) & 0xFFFFFFFF
            self._seq += 1
        return f"{now_ms}-{n:08x}"


def prepare(spec: Mapping[str, Any], now_ms: int, ids: IdMaker,
            where: str = "", labels: Mapping[str, str] | None = None,
            max_payload: int = DEFAULT_MAX_PAYLOAD) -> PreparedJob:
    """Validates one job (a mapping with the keys of JOB_KEYS; a None value
    is the same as leaving the key out, except for payload) and builds it.
    where prefixes every message (say "jobs[3]: "); labels renames keys in
    messages (enqueue() calls "v" "version"); a payload over max_payload
    bytes (0: no limit) is refused."""
    if not isinstance(spec, Mapping):
        raise TypeError(f"{where}a job must be a dict, got "
                        f"{type(spec).__name__}")
    names = dict(labels or {})

    def label(k: str) -> str:
        return where + names.get(k, k)

    for k in spec:
        if k in _WORKER_KEYS:
            raise ValueError(f"{where}{k!r} is set by the worker, not by "
                             "producers")
        if k not in JOB_KEYS:
            raise ValueError(f"{where}unknown key {k!r} (expected one of "
                             f"{', '.join(JOB_KEYS)})")
    given = {k: v for k, v in spec.items() if v is not None}
    if "payload" in spec and spec["payload"] is not MISSING:
        given["payload"] = spec["payload"]  # None is the payload null
    else:
        given.pop("payload", None)
    for a, b in _CONFLICTS:
        if a in given and b in given:
            raise ValueError(f"{label(a)} and {names.get(b, b)} both given: "
                             "give one of them")
    if "job" not in given:
        raise ValueError(f"{label('job')} is missing")
    if "v" not in given:
        raise ValueError(f"{label('v')} is missing")
    if "payload" not in given and "payload_json" not in given:
        raise ValueError(f"{where}give {names.get('payload', 'payload')} or "
                         "payload_json")

    job = _check.name(label("job"), given["job"])
    version = _check.integer(label("v"), given["v"], 0, _check.MAX_VERSION)
    if "payload_json" in given:
        arg = label("payload_json")
        payload = _check.payload_text(arg, given["payload_json"])
    else:
        arg = label("payload")
        payload = _check.payload_value(arg, given["payload"])
    _check.payload_size(arg, payload, max_payload)
    fields: list[tuple[str, bytes]] = [
        ("job", job.encode()), ("v", str(version).encode()),
        ("payload", payload)]

    def put(name: str, value: str | int) -> None:
        fields.append((name, str(value).encode()))

    job_id = None
    if "id" in given:
        job_id = _check.ident(label("id"), given["id"])
        put("id", job_id)
    if "correlation_id" in given:
        put("correlation_id",
            _check.ident(label("correlation_id"), given["correlation_id"]))
    if "max_attempts" in given:
        put("max_attempts", _check.integer(label("max_attempts"),
                                           given["max_attempts"], 1,
                                           _check.MAX_ATTEMPTS))
    if "timeout" in given:
        put("timeout_ms", _check.duration_ms(label("timeout"),
                                             given["timeout"], 1,
                                             _check.MAX_TIMEOUT_MS))
    elif "timeout_ms" in given:
        put("timeout_ms", _check.integer(label("timeout_ms"),
                                         given["timeout_ms"], 1,
                                         _check.MAX_TIMEOUT_MS))
    enqueued_at = now_ms
    if "enqueued_at" in given:
        enqueued_at = _check.epoch_ms(label("enqueued_at"),
                                      given["enqueued_at"])
    put("enqueued_at", enqueued_at)
    at_ms = None
    if "not_before" in given:
        at_ms = _check.epoch_ms(label("not_before"), given["not_before"])
        put("not_before", at_ms)
    if "expires_at" in given:
        put("expires_at", _check.epoch_ms(label("expires_at"),
                                          given["expires_at"]))
    elif "expires_in" in given:
        put("expires_at", now_ms + _check.duration_ms(
            label("expires_in"), given["expires_in"], 1,
            _check.MAX_DURATION_MS))
    key = None
    for k in ("key", "idempotency_key"):
        if k in given:
            key = _check.ident(label(k), given[k])
            put("idempotency_key", key)
    window = DEFAULT_DEDUPE_WINDOW_MS
    if "dedupe_window" in given:
        if key is None:
            raise ValueError(f"{label('dedupe_window')} needs "
                             f"{names.get('key', 'key')} (an idempotency "
                             "key)")
        window = _check.duration_ms(label("dedupe_window"),
                                    given["dedupe_window"], 1,
                                    _check.MAX_DURATION_MS)
    delay = None
    if "delay" in given:
        delay = _check.duration_ms(label("delay"), given["delay"], 0,
                                   _check.MAX_DURATION_MS)
    if "at" in given:
        at_ms = _check.due_ms(label("at"), given["at"])
    out = PreparedJob(fields, job_id, key, delay, at_ms, window)
    if out.scripted and job_id is None:
        out.job_id = ids.next(now_ms)
        put("id", out.job_id)
    return out
