"""Fixtures of the client's tests: clients/python on sys.path (no install
needed), a private redis-server on a unix socket in a temp dir for the
session, and a Client on it with an empty database for each test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

try:
    import redis
except ImportError as e:  # say which package, not just the module
    raise ImportError(
        "the jobrt client tests need redis-py: on Debian install the "
        "package python3-redis (apt-get install python3-redis), elsewhere "
        "pip install redis") from e

import jobrt  # noqa: E402


def wait_until(what: str, timeout_s: float, check) -> None:
    """Polls check() until it is true; fails naming what past the
    deadline."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.02)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A redis-server of its own, on a unix socket, for the whole session."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not on PATH (Debian: apt-get install "
                    "redis-server)")
    work = tempfile.mkdtemp(prefix="jobrt-pyclient-")
    sock = os.path.join(work, "redis.sock")
    log = open(os.path.join(work, "redis.log"), "w")
    proc = subprocess.Popen(
        [server, "--port", "0", "--unixsocket", sock, "--unixsocketperm",
         "700", "--dir", work, "--save", "", "--appendonly", "no"],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"unix://{sock}"

    def answers() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"redis-server exited with {proc.returncode} (see "
                        f"{work}/redis.log)")
        try:
            return redis.Redis.from_url(url).ping()
        except redis.exceptions.ConnectionError:
            return False

    try:
        wait_until("redis-server to answer PING", 10, answers)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def r(redis_url: str) -> Iterator[redis.Redis]:
    """A raw redis-py connection to the empty test database."""
    conn = redis.Redis.from_url(redis_url)
    conn.flushall()
    yield conn
    conn.close()


@pytest.fixture
def client(redis_url: str, r: redis.Redis) -> Iterator[jobrt.Client]:
    """A jobrt Client (namespace jobrt) on the empty test database."""
    c = jobrt.Client(redis_url)
    yield c
    c.close()
