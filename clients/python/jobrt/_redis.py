"""Redis-side helpers of the client: the key names of a queue, the two Lua
scripts (byte-for-byte copies of the runtime's, in lua/), run by EVALSHA
with a fall back to EVAL on NOSCRIPT, and reply decoding for clients with
or without decode_responses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis as redis_lib

from . import _check


@dataclass(frozen=True)
class QueueKeys:
    """The Redis keys of one queue (docs/protocol.md, "Keys")."""

    stream: str
    delayed: str
    seq: str
    dlq: str
    idem_prefix: str
    job_prefix: str
    done: str  # the record buckets' index (docs/protocol.md)

    @classmethod
    def of(cls, namespace: str, queue: str) -> "QueueKeys":
        """Keys of queue in namespace; both names are validated as the CLI
        does (1-128 characters of [A-Za-z0-9_.:/-])."""
        _check.name("namespace", namespace)
        _check.name("queue", queue)
        base = f"{namespace}:{{{queue}}}:"
        return cls(stream=base + "stream", delayed=base + "delayed",
                   seq=base + "seq", dlq=base + "dlq",
                   idem_prefix=base + "idem:", job_prefix=base + "job:",
                   done=base + "done")


class Script:
    """One Lua script of lua/, sent by its SHA1 (EVALSHA) and by its text
    (EVAL) when the server does not have it (NOSCRIPT)."""

    def __init__(self, filename: str) -> None:
        self.text: bytes = (resources.files(__package__) / "lua" /
                            filename).read_bytes()
        self.sha: str = hashlib.sha1(self.text).hexdigest()
        self.name = filename

    def run(self, client: Any, keys: list[str], args: list[Any]) -> Any:
        """Runs the script on client (one round trip, two on NOSCRIPT)."""
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except redis_lib.exceptions.NoScriptError:
            return client.eval(self.text, len(keys), *keys, *args)

    def load(self, client: Any) -> None:
        """SCRIPT LOAD, so that a pipeline of EVALSHA finds it."""
        sha = text(client.script_load(self.text))
        if sha != self.sha:
            raise RuntimeError(f"SCRIPT LOAD of {self.name} returned {sha}, "
                               f"expected {self.sha}")


ENQUEUE = Script("enqueue.lua")
DLQ_RETRY = Script("dlq_retry.lua")


def _unparsed(response: Any, **options: Any) -> Any:
    return response


def raw_view(client: Any) -> Any:
    """A redis-py client on client's own connection pool whose XREVRANGE
    replies are Redis's as they are, in bytes: [[id, [f1, v1, f2, v2, ...]],
    ...]. redis-py's own parsing makes an entry's fields a dict, which keeps
    the last value of a repeated field; the runtime (runtime/queue/dlq.c)
    and the Node client keep the first. client itself is not changed."""
    pool = getattr(client, "connection_pool", None)
    if pool is None:
        raise TypeError("dlq_list needs a redis.Redis (or a client with its "
                        f"connection_pool); got {type(client).__name__}")
    view = redis_lib.Redis(connection_pool=pool)
    view.set_response_callback("XREVRANGE", _unparsed)
    return view


def xrevrange_raw(view: Any, key: str, start: str, count: int
                  ) -> list[tuple[str, list[tuple[bytes, bytes]]]]:
    """XREVRANGE key start - COUNT count on a raw_view: the entries, each
    (entry id, [(field, value), ...]) in the entry's own order."""
    reply = view.execute_command("XREVRANGE", key, start, "-", "COUNT",
                                 count, NEVER_DECODE=True)
    entries = []
    for entry_id, flat in reply or []:
        flat = flat or []  # a deleted entry of an old Redis has no fields
        entries.append((text(entry_id),
                        list(zip(flat[0::2], flat[1::2]))))
    return entries


def text(value: Any) -> str:
    """A reply string as str (UTF-8; bytes that are not UTF-8 are replaced
    by U+FFFD)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def is_noscript(value: Any) -> bool:
    """Whether a pipelined reply is a NOSCRIPT error."""
    return isinstance(value, redis_lib.exceptions.NoScriptError) or (
        isinstance(value, redis_lib.exceptions.ResponseError)
        and str(value).startswith("NOSCRIPT"))
