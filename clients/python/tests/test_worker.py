"""End to end with the real worker: `jobrt run --workers 0` on the
first-party plugins (echo serves job "echo" v1-1000000 and returns its
payload) against the test's redis-server. Jobs enqueued by the client are
run and their records read with wait(); unserved ones are dead-lettered
(--park-ttl 0), listed with dlq_list and re-driven with dlq_retry.

Needs JOBRT_BIN (the jobrt binary; ctest sets it) and JOBRT_PLUGIN_DIR
(the built first-party plugins; default: plugins/ beside JOBRT_BIN)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
import redis

import jobrt

from conftest import wait_until

Q = "e2e"


@pytest.fixture
def worker(redis_url: str, r: redis.Redis,
           tmp_path: Path) -> Iterator[subprocess.Popen]:
    """A running `jobrt run --workers 0` on queue e2e, stopped (SIGTERM)
    after the test; its log is printed when the test fails."""
    binary = os.environ.get("JOBRT_BIN")
    if not binary:
        pytest.skip("JOBRT_BIN is not set: the path of the jobrt binary "
                    "(ctest -R client_python sets it)")
    plugins = os.environ.get("JOBRT_PLUGIN_DIR") or \
        str(Path(binary).resolve().parent / "plugins")
    if not (Path(plugins) / "echo.so").is_file():
        pytest.skip(f"no echo.so in {plugins}: set JOBRT_PLUGIN_DIR to the "
                    "built first-party plugins")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBRT_")}
    env["TMPDIR"] = str(tmp_path)
    log_path = tmp_path / "worker.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [binary, "run", "--workers", "0", "--park-ttl", "0",
         "--plugin-dir", plugins, "--redis", redis_url, "--queue", Q],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env=env)

    def registered() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"jobrt run exited with {proc.returncode}:\n"
                        f"{log_path.read_text()}")
        return r.zcard("jobrt:{e2e}:workers") > 0

    try:
        wait_until("the worker to register (jobrt:{e2e}:workers)", 15,
                   registered)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        print(f"--- worker log ({log_path}) ---\n{log_path.read_text()}")


def test_jobs_run_on_the_real_worker(client: jobrt.Client, worker, r):
    payloads = [{"n": 1}, [1, "two", None], "text", 42, None,
                {"nested": {"a": [True, False]}, "é": "ü"}]
    ids = [client.enqueue(Q, "echo", 1, p).id for p in payloads]
    many = client.enqueue_many(Q, [
        {"job": "echo", "v": 7, "payload": {"bulk": i}, "id": f"bulk-{i}"}
        for i in range(20)])
    delayed = client.enqueue(Q, "echo", 1, {"later": True}, delay=0.3)
    keyed = client.enqueue(Q, "echo", 1, {"once": 1}, key="once")
    dup = client.enqueue(Q, "echo", 1, {"once": 2}, key="once")
    assert dup == jobrt.EnqueueResult(keyed.id, False)
    raw = client.enqueue(Q, "echo", 2, payload_json='{"k": [1, 2]}',
                         id="raw-1", correlation_id="c-1", timeout=5)
    assert raw == jobrt.EnqueueResult("raw-1", True)

    for job_id, payload in zip(ids, payloads):
        rec = client.wait(Q, job_id, timeout=15)
        assert rec["status"] == "succeeded", rec
        assert rec["result"] == payload
        assert rec["id"] == job_id and rec["queue"] == Q
        assert rec["job"] == "echo" and rec["v"] == 1
        assert isinstance(rec["enqueued_at"], int)
    for i, res in enumerate(many):
        rec = client.wait(Q, res.id, timeout=15)
        assert (res.id, rec["status"], rec["v"], rec["result"]) == \
            (f"bulk-{i}", "succeeded", 7, {"bulk": i})
    assert client.wait(Q, delayed.id, timeout=15)["result"] == {"later": True}
    assert client.wait(Q, keyed.id, timeout=15)["result"] == {"once": 1}
    assert client.wait(Q, "raw-1", timeout=15)["result"] == {"k": [1, 2]}
    assert client.status(Q, "raw-1")["status"] == "succeeded"

    worker.send_signal(signal.SIGTERM)
    assert worker.wait(15) == 0


def test_unserved_jobs_are_dead_lettered_listed_and_retried(
        client: jobrt.Client, worker, r):
    client.enqueue(Q, "nobody", 1, {"x": 1}, id="lost-1")
    client.enqueue(Q, "echo", 0, {"x": 2}, id="old-schema")
    lost = client.wait(Q, "lost-1", timeout=15)
    assert (lost["status"], lost["reason"]) == ("dead", "no_handler"), lost
    old = client.wait(Q, "old-schema", timeout=15)
    assert (old["status"], old["reason"]) == ("dead", "schema_unsupported")

    letters = client.dlq_list(Q)
    assert [d.job_id for d in letters] == ["old-schema", "lost-1"]
    [nh] = client.dlq_list(Q, reason="no_handler")
    assert (nh.job_id, nh.job, nh.v, nh.reason) == \
        ("lost-1", "nobody", 1, "no_handler")
    assert nh.fields["payload"] == '{"x":1}'
    assert nh.worker and nh.error and nh.at and nh.at > 0
    assert [d.job_id for d in client.dlq_list(Q, job="echo")] == \
        ["old-schema"]

    # re-driven, the unserved job is dead-lettered again: a new entry
    r.delete("jobrt:{e2e}:job:lost-1")
    assert client.dlq_retry(Q, [nh.entry_id]) == (1, [])
    again = client.wait(Q, "lost-1", timeout=15)
    assert again["reason"] == "no_handler"
    wait_until("lost-1 back in the DLQ", 10,
               lambda: any(d.job_id == "lost-1" and d.entry_id != nh.entry_id
                           for d in client.dlq_list(Q)))
    assert nh.entry_id not in [d.entry_id for d in client.dlq_list(Q)]

    worker.send_signal(signal.SIGTERM)
    assert worker.wait(15) == 0
