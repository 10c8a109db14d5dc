#!/usr/bin/env python3
"""http_abuse.py - bad HTTP clients against a running `jobrt run --http`.

Used by tests/e2e/http_abuse.sh: python3 http_abuse.py PORT SERVER_H PID
(PID: the process serving PORT), where
SERVER_H is runtime/http/server.h (the limits are read from it, so the test
follows the code); $HTTP_ABUSE_REDIS_CLI holds redis-cli's arguments to
reach the worker's Redis (to pause it). The floods come from other loopback
addresses (127.0.0.2-6: the server counts connections per address) while
/healthz and /readyz are asked from 127.0.0.1, and must answer. Every check prints one line; the first failed check
exits 1 with what it got. Checks that take time (slowloris, idle
connections) run in threads beside the quick ones, and the 10 000
connection flood runs last (it fills every connection slot).

Nothing here sleeps in place of a check: every wait has a deadline and
measures when the server acted.
"""
import os
import re
import selectors
import shlex
import subprocess
import socket
import sys
import threading
import time

HOST = "127.0.0.1"
PORT = int(sys.argv[1])
SERVER_PID = int(sys.argv[3])  # the process serving PORT
LIMITS = {}
with open(sys.argv[2]) as f:
    for m in re.finditer(r"#define (HTTP_[A-Z_]+) \(?([0-9 *]+)\)?", f.read()):
        LIMITS[m.group(1)] = eval(m.group(2))  # "16 * 1024": digits only
MAX_HEADER = LIMITS["HTTP_MAX_HEADER_BYTES"]
MAX_BODY = LIMITS["HTTP_MAX_BODY_BYTES"]
MAX_CONNS = LIMITS["HTTP_MAX_CONNECTIONS"]
MAX_PER_PEER = LIMITS["HTTP_MAX_PER_PEER"]
FLOOD_FROM = ["127.0.0.%d" % i for i in range(2, 7)]  # other peers
REQUEST_S = LIMITS["HTTP_REQUEST_TIMEOUT_MS"] / 1000
IDLE_S = LIMITS["HTTP_IDLE_TIMEOUT_MS"] / 1000
SLACK_S = 2.0  # how late past a timeout the server may close

FAILED = []


def log(msg):
    print("http_abuse: " + msg, flush=True)


def fail(msg):
    FAILED.append(msg)
    print("http_abuse: FAIL: " + msg, flush=True)
    raise SystemExit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


class Conn:
    """One client connection with its own read buffer (pipelined answers
    are read one after the other from it)."""

    def __init__(self, timeout=10.0, source=None):
        self.s = socket.create_connection(
            (HOST, PORT), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("closed by the server")
        self.buf += d

    def response(self, head=False):
        """(status, headers, body) of the next answer; head: no body."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        top, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = top.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.1 (\d{3}) ", lines[0])
        if not m:
            raise ValueError("not a status line: %r" % lines[0])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            k = k.strip().lower()
            if k in headers:
                raise ValueError("header %s sent twice" % k)
            headers[k] = v.strip()
        n = int(headers["content-length"])
        body = b""
        if not head:
            while len(self.buf) < n:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n:]
        return int(m.group(1)), headers, body

    def closed_within(self, seconds):
        """True when the server closes (EOF or reset) within seconds;
        bytes that arrive meanwhile are kept in buf."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not d:
                return True
            self.buf += d

    def close(self):
        self.s.close()


def get(path, method="GET", extra=""):
    return ("%s %s HTTP/1.1\r\nHost: %s:%d\r\n%s\r\n" %
            (method, path, HOST, PORT, extra)).encode()


def refused_and_closed(name, data, want):
    """Sends data on a new connection; the answer must be status want
    (a set) and then the server must close the connection."""
    c = Conn()
    try:
        c.send(data)
    except (BrokenPipeError, ConnectionResetError) as e:
        fail("%s: the server reset the connection while the request was "
             "being sent (%s), before answering" % (name, e))
    try:
        status, headers, body = c.response()
    except (EOFError, ConnectionResetError) as e:
        fail("%s: no answer, the connection ended first (%s)" % (name, e))
    check(status in want, "%s: status %d, want %s (%r)" %
          (name, status, sorted(want), body))
    check(headers.get("connection", "").lower() == "close",
          "%s: answer without Connection: close" % name)
    check(c.closed_within(5), "%s: connection still open 5 s after the "
          "answer" % name)
    c.close()
    log("%s: %d and closed" % (name, status))


def ok_on(c, path, want=200, head=False):
    c.send(get(path, "HEAD" if head else "GET"))
    status, headers, body = c.response(head=head)
    check(status == want, "GET %s: status %d, want %d (%r)" %
          (path, status, want, body))
    return headers, body


# ---- slow clients (threads) ---------------------------------------------

def slow_sender(name, first, drip, limit_s, results):
    """Sends first at once, then drip one byte a second; the server must
    close within limit_s (+ slack) of the first byte, and not long
    before limit_s."""
    try:
        c = Conn(timeout=limit_s + 10)
        t0 = time.monotonic()
        if first:
            c.send(first)
        closed_at = None
        for ch in drip * 1000:
            try:
                c.s.send(bytes([ch]))
            except (BrokenPipeError, ConnectionResetError):
                closed_at = time.monotonic()
                break
            if c.closed_within(1.0):
                closed_at = time.monotonic()
                break
            if time.monotonic() - t0 > limit_s + SLACK_S + 1:
                break
        if closed_at is None:
            results[name] = "still open after %.1f s (limit %.1f s)" % (
                time.monotonic() - t0, limit_s)
            return
        took = closed_at - t0
        if took < limit_s - 1 or took > limit_s + SLACK_S:
            results[name] = "closed after %.1f s, want %.1f-%.1f s" % (
                took, limit_s - 1, limit_s + SLACK_S)
            return
        results[name] = "ok: closed after %.1f s" % took
    except Exception as e:  # reported by the main thread
        results[name] = "error: %r" % e


def idle_client(name, prelude, limit_s, results):
    """Sends prelude (maybe nothing), reads its answer if any, then sends
    nothing: closed within limit_s (+ slack), not before limit_s - 1."""
    try:
        c = Conn(timeout=limit_s + 10)
        t0 = time.monotonic()
        if prelude:
            c.send(prelude)
            c.response()
            t0 = time.monotonic()
        if not c.closed_within(limit_s + SLACK_S):
            results[name] = "still open after %.1f s" % (limit_s + SLACK_S)
            return
        took = time.monotonic() - t0
        if took < limit_s - 1:
            results[name] = "closed after %.1f s, before the limit %.1f s" % (
                took, limit_s)
            return
        if c.buf:
            results[name] = "sent %r unasked" % c.buf[:80]
            return
        results[name] = "ok: closed after %.1f s" % took
    except Exception as e:
        results[name] = "error: %r" % e


# ---- quick checks -------------------------------------------------------

def check_limits():
    big = "X-Big: " + "a" * (MAX_HEADER + 100) + "\r\n"
    refused_and_closed("oversized header", get("/healthz", extra=big), {431})
    many = "".join("X-H%d: v\r\n" % i for i in range(MAX_HEADER // 6))
    refused_and_closed("many small headers", get("/healthz", extra=many),
                       {431})
    refused_and_closed("oversized URL",
                       get("/healthz?" + "q" * (MAX_HEADER + 10)), {431})
    # just under the limit is a request like any other
    c = Conn()
    ok_on(c, "/healthz")
    c.send(get("/healthz", extra="X-Fine: " + "b" * (MAX_HEADER // 2) +
               "\r\n"))
    status, _, _ = c.response()
    check(status == 200, "half the header limit: status %d" % status)
    c.close()
    log("a header of half the limit: 200")

    post = ("POST /api/x HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: "
            "application/json\r\n" % (HOST, PORT))
    refused_and_closed("oversized body (Content-Length)",
                       (post + "Content-Length: %d\r\n\r\n" %
                        (MAX_BODY + 1)).encode(), {413})
    chunks = b""
    sent = 0
    while sent <= MAX_BODY:
        chunks += b"1000\r\n" + b"c" * 4096 + b"\r\n"
        sent += 4096
    refused_and_closed("oversized body (chunked)",
                       (post + "Transfer-Encoding: chunked\r\n\r\n")
                       .encode() + chunks + b"0\r\n\r\n", {413})


def check_garbage():
    refused_and_closed("binary garbage", bytes(range(256)) * 4, {400})
    refused_and_closed("TLS ClientHello",
                       bytes.fromhex("160301020001000001fc0303") +
                       b"\x00" * 200, {400})
    refused_and_closed("not HTTP", b"HELLO THERE\r\n\r\n", {400})
    refused_and_closed("unknown method", b"FROB / HTTP/1.1\r\nHost: x\r\n\r\n",
                       {400})
    refused_and_closed("NUL in a header",
                       get("/healthz", extra="X-A: a\x00b\r\n"), {400})
    refused_and_closed("header without a colon",
                       get("/healthz", extra="NoColonHere\r\n"), {400})
    refused_and_closed("bad Content-Length",
                       get("/healthz", extra="Content-Length: 12x\r\n"),
                       {400})
    refused_and_closed("two Content-Lengths",
                       get("/healthz", extra="Content-Length: 1\r\n"
                           "Content-Length: 2\r\n"), {400})
    refused_and_closed("Content-Length and chunked",
                       get("/healthz", extra="Content-Length: 3\r\n"
                           "Transfer-Encoding: chunked\r\n"), {400})
    refused_and_closed("bad chunk size",
                       get("/healthz", "POST",
                           "Transfer-Encoding: chunked\r\n") + b"zz\r\n",
                       {400})
    for h in ("Authorization: Bearer a\r\nAuthorization: Bearer b\r\n",
              "authorization: Bearer a\r\nAUTHORIZATION: Bearer a\r\n",
              "Origin: http://a\r\nOrigin: http://b\r\n",
              "Content-Type: application/json\r\n"
              "Content-Type: text/plain\r\n"):
        refused_and_closed("duplicate " + h.split(":")[0], get("/metrics",
                                                               extra=h),
                           {400})
    # a second Host (the request line's Host is the first)
    refused_and_closed("duplicate Host", get("/healthz", extra="Host: b\r\n"),
                       {400})


def check_methods():
    c = Conn()
    for path in ("/healthz", "/readyz", "/metrics", "/nope"):
        c.send(get(path, "HEAD"))
        status, headers, body = c.response(head=True)
        check(status in (200, 404, 503), "HEAD %s: %d" % (path, status))
        check(int(headers["content-length"]) > 0,
              "HEAD %s: Content-Length %s" % (path,
                                              headers["content-length"]))
    # HEAD on the API is its GET without the body
    c.send(get("/api/overview", "HEAD"))
    status, headers, _ = c.response(head=True)
    check(status == 200 and headers["content-type"] == "application/json",
          "HEAD /api/overview: %d %s" % (status, headers))
    # the page: each header once (Conn.response checks), its own caching
    c.send(get("/"))
    status, headers, _ = c.response()
    check(status == 200 and headers.get("cache-control") == "no-cache" and
          headers.get("x-content-type-options") == "nosniff",
          "GET /: %d %s" % (status, headers))
    # no body came after the HEAD answers: the next answer starts at once
    _, body = ok_on(c, "/healthz")
    check(body == b"ok\n", "GET after HEADs: %r" % body)
    check(c.buf == b"", "bytes after the answers: %r" % c.buf[:80])
    for method, path, want in (("DELETE", "/healthz", 405),
                               ("PUT", "/metrics", 405),
                               ("POST", "/metrics", 405),
                               ("OPTIONS", "/", 405),
                               ("PATCH", "/api/x", 405),
                               ("GET", "/nope", 404)):
        c.send(get(path, method, "Content-Length: 0\r\n"))
        status, _, _ = c.response()
        check(status == want, "%s %s: %d, want %d" % (method, path, status,
                                                      want))
    ok_on(c, "/healthz")
    c.close()
    log("HEAD has no body; DELETE/PUT/POST/OPTIONS/PATCH 405 on a kept "
        "connection")
    refused_and_closed("CONNECT", b"CONNECT example.com:443 HTTP/1.1\r\n"
                       b"Host: example.com:443\r\n\r\n", {400, 405})
    refused_and_closed("Upgrade", get("/healthz", extra="Connection: Upgrade"
                                      "\r\nUpgrade: websocket\r\n") +
                       b"\x81\x85garbage", {200, 400})


def check_keepalive_and_pipelining():
    c = Conn()
    for i in range(100):
        headers, body = ok_on(c, "/healthz")
        check(body == b"ok\n", "keep-alive #%d: %r" % (i, body))
        check("connection" not in headers, "keep-alive #%d: Connection: %s"
              % (i, headers.get("connection")))
    ok_on(c, "/metrics")
    c.close()
    log("100 requests on one connection")

    c = Conn()
    c.send(get("/healthz") + get("/metrics") + get("/readyz") +
           get("/healthz", "HEAD") + get("/nope") + get("/healthz"))
    s1, _, b1 = c.response()
    s2, _, b2 = c.response()
    s3, _, b3 = c.response()
    s4, _, b4 = c.response(head=True)
    s5, _, _ = c.response()
    s6, _, b6 = c.response()
    check((s1, b1) == (200, b"ok\n"), "pipelined 1: %d %r" % (s1, b1))
    check(s2 == 200 and b"jobrt_build_info" in b2,
          "pipelined 2 (/metrics): %d %r" % (s2, b2[:80]))
    check(s3 in (200, 503) and re.match(rb"(not )?ready\n", b3),
          "pipelined 3 (/readyz): %d %r" % (s3, b3[:80]))
    check(s4 == 200 and s5 == 404 and (s6, b6) == (200, b"ok\n"),
          "pipelined 4-6: %d %d %d %r" % (s4, s5, s6, b6))
    check(c.buf == b"", "bytes after the answers: %r" % c.buf[:80])
    c.close()
    log("6 pipelined requests in one packet, answered in order")

    c = Conn(timeout=30)
    n = 300
    c.send(b"".join(get("/metrics" if i % 10 == 0 else "/healthz")
                    for i in range(n)))
    for i in range(n):
        status, _, body = c.response()
        want = b"jobrt_build_info" if i % 10 == 0 else b"ok\n"
        check(status == 200 and want in body,
              "pipelined %d of %d: %d %r" % (i, n, status, body[:60]))
    c.close()
    log("%d pipelined requests (every tenth /metrics), in order" % n)

    c = Conn()
    c.send(get("/healthz").replace(b"HTTP/1.1", b"HTTP/1.0"))
    status, headers, body = c.response()
    check(status == 200 and headers.get("connection") == "close",
          "HTTP/1.0: %d %s" % (status, headers))
    check(c.closed_within(5), "HTTP/1.0: still open after the answer")
    c.close()
    c = Conn()
    c.send(get("/healthz", extra="Connection: close\r\n") + get("/healthz"))
    status, headers, _ = c.response()
    check(status == 200 and c.closed_within(5) and c.buf == b"",
          "Connection: close: %d, then %r" % (status, c.buf[:60]))
    c.close()
    log("HTTP/1.0 and Connection: close end the connection")

    # chunked body with trailers (which are not headers to keep)
    c = Conn()
    c.send(get("/healthz", "GET", "Transfer-Encoding: chunked\r\n") +
           b"3\r\nabc\r\n0\r\nOrigin: http://evil\r\nX-T: 1\r\n\r\n" +
           get("/healthz"))
    s1, _, b1 = c.response()
    s2, _, b2 = c.response()
    check((s1, b1, s2, b2) == (200, b"ok\n", 200, b"ok\n"),
          "chunked with trailers: %d %r %d %r" % (s1, b1, s2, b2))
    c.close()
    log("chunked body with trailers, then a pipelined GET")


def check_slow_reader():
    """Pipelines answers it never reads: once the server's writes stall,
    it must give up on the connection within the request timeout."""
    c = Conn()
    c.s.setblocking(False)
    req = get("/metrics")
    sent = 0
    t0 = time.monotonic()
    stalled_at = None
    while time.monotonic() - t0 < 60:
        try:
            sent += c.s.send(req * 64)
            stalled_at = None
        except BlockingIOError:
            if stalled_at is None:
                stalled_at = time.monotonic()
            elif time.monotonic() - stalled_at > 0.5:
                break  # nothing more goes in: the server stopped reading
            time.sleep(0.01)  # pacing the retry, not a check
        except (BrokenPipeError, ConnectionResetError):
            break
    port = c.s.getsockname()[1]
    limit = REQUEST_S + SLACK_S + 3
    deadline = time.monotonic() + limit
    while server_side_state(port) == "01":  # ESTABLISHED
        if time.monotonic() > deadline:
            fail("slow reader: the server still holds the connection %.0f s "
                 "after its writes stalled" % limit)
        time.sleep(0.1)
    log("slow reader (%d bytes of requests, answers unread): dropped after "
        "%.1f s" % (sent, time.monotonic() - stalled_at))
    c.close()


def server_side_state(client_port):
    """The TCP state (hex, /proc/net/tcp) of the server's end of the
    connection from client_port, or None when it is gone."""
    want_local = "0100007F:%04X" % PORT
    want_remote = "0100007F:%04X" % client_port
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if parts[1] == want_local and parts[2] == want_remote:
                return parts[3]
    return None


# ---- the flood ----------------------------------------------------------

def proc_addr(addr, port):
    """addr:port as /proc/net/tcp writes it."""
    return "%08X:%04X" % (int.from_bytes(socket.inet_aton(addr), "little"),
                          port)


def server_side():
    """The server's view of its port (/proc/net/tcp): the clients (as
    proc_addr) of its established connections, and how many of those the
    kernel still queues, not yet accepted by the loop."""
    local = "0100007F:%04X" % PORT
    ports, queued = set(), 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if parts[1] != local:
                continue
            if parts[3] == "0A":  # LISTEN: rx_queue is the accept queue
                queued = int(parts[4].split(":")[1], 16)
            elif parts[3] == "01":  # ESTABLISHED
                ports.add(parts[2])
    # The file is made while it is read (the listening socket first): a
    # handshake that completed meanwhile is established but was not yet
    # in the queue. The queue read again, after, counts it.
    with open("/proc/net/tcp") as f:
        for line in f:
            parts = line.split()
            if parts[1] == local and parts[3] == "0A":
                queued = max(queued, int(parts[4].split(":")[1], 16))
                break
    return ports, queued


def server_sockets():
    """How many sockets the server's process (SERVER_PID) has open."""
    n = 0
    for fd in os.listdir("/proc/%d/fd" % SERVER_PID):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (SERVER_PID, fd)).startswith(
                "socket:")
        except FileNotFoundError:  # closed meanwhile
            pass
    return n


def held_from(addr):
    """How many connections from addr the server holds."""
    ports, _ = server_side()
    prefix = proc_addr(addr, 0)[:9]
    return sum(1 for p in ports if p.startswith(prefix))


def probe_health(what, paths=("/readyz", "/healthz"), within=2.0):
    """A new connection from 127.0.0.1 for each of paths: 200 within
    `within` seconds, while whatever `what` is holds the server."""
    for path in paths:
        t0 = time.monotonic()
        try:
            c = Conn(timeout=within)
            c.send(get(path))
            status, _, body = c.response()
            c.close()
        except (OSError, EOFError) as e:
            fail("%s: GET %s from 127.0.0.1: no answer (%r)" % (what, path, e))
        took = time.monotonic() - t0
        check(status == 200, "%s: GET %s: %d %r" % (what, path, status,
                                                    body[:80]))
        check(took <= within, "%s: GET %s took %.1f s" % (what, path, took))
    return time.monotonic()


def nonblocking_from(addr):
    s = socket.socket()
    s.bind((addr, 0))
    s.setblocking(False)
    s.connect_ex((HOST, PORT))
    return s


def flood(n):
    """Opens n connections at once and sends nothing on them. The server
    must never hold more than MAX_CONNS (counted on its side of the
    sockets: established and accepted), close the others, and close the
    ones it held, which sent nothing, within the request timeout. A
    client socket whose handshake the kernel dropped (accept queue
    overflow) looks connected to the client only; the server's side is
    the truth."""
    sel = selectors.DefaultSelector()
    socks = {}
    baseline = server_sockets()
    t0 = time.monotonic()
    for i in range(n):
        s = nonblocking_from(FLOOD_FROM[i % len(FLOOD_FROM)])
        socks[s.fileno()] = s
        sel.register(s, selectors.EVENT_READ)
    mine = set(proc_addr(*s.getsockname()) for s in socks.values())
    closed = 0
    peak = 0

    def pump(timeout):
        nonlocal closed
        for key, _ in sel.select(timeout):
            s = key.fileobj
            try:
                d = s.recv(4096)
            except (ConnectionResetError, ConnectionRefusedError,
                    BrokenPipeError):
                d = b""
            if d:
                fail("flood: the server sent %r on a connection that sent "
                     "nothing" % d[:60])
            sel.unregister(s)
            del socks[s.fileno()]
            s.close()
            closed += 1

    # Held: the server process's sockets, past those it had before (its
    # listener, Redis, the slow clients' connections). /proc/net/tcp
    # cannot tell: a new connection takes an idle one's place while the
    # file is read, so both can be counted. A little slack still.
    deadline = t0 + 40 + REQUEST_S
    full_at = None
    probes = 0
    probed_at = 0
    while True:
        pump(0.05)
        ports, queued = server_side()
        held_flood = len(ports & mine)
        held = server_sockets() - baseline
        peak = max(peak, held)
        if held > MAX_CONNS + 8:
            fail("flood: the server holds %d connections (limit %d)" %
                 (held, MAX_CONNS))
        if full_at is None and held >= MAX_CONNS - 8:
            full_at = time.monotonic()
            log("flood: full (%d held) after %.1f s, %d closed by the "
                "server so far" % (held, full_at - t0, closed))
        # while the flood holds the slots, health checks from another
        # address are still answered (a new connection takes the place
        # of an idle one of the peers holding the most)
        if full_at is not None and held_flood >= MAX_CONNS - 16 and \
                time.monotonic() - probed_at > 1.0:
            probed_at = probe_health("flood (%d held)" % held)
            probes += 1
        if held_flood == 0 and queued == 0 and full_at is not None:
            break
        if time.monotonic() > deadline:
            fail("flood: the server still holds %d of the connections "
                 "(%d queued) %.0f s after they were opened" %
                 (held_flood, queued, time.monotonic() - t0))
    log("flood: %d connections: the server held at most %d (limit %d), "
        "closed %d seen by the client, and none is left after %.1f s" %
        (n, peak, MAX_CONNS, closed, time.monotonic() - t0))
    check(full_at is not None, "flood: the server never filled its slots")
    check(probes >= 2, "flood: /readyz and /healthz asked %d times while it "
          "held the slots, want 2 or more" % probes)
    log("flood: /readyz and /healthz answered 200, %d times while full" %
        probes)
    for s in socks.values():  # handshakes the kernel dropped, if any
        s.close()
    sel.close()


def flood_requests(n):
    """n connections at once, each sending a request: each is answered
    200 or closed unanswered (over the limit); at least one answered."""
    sel = selectors.DefaultSelector()
    req = get("/healthz", extra="Connection: close\r\n")
    bufs = {}
    for i in range(n):
        s = nonblocking_from(FLOOD_FROM[i % len(FLOOD_FROM)])
        bufs[s] = b""
        sel.register(s, selectors.EVENT_WRITE)
    answered = refused = 0
    deadline = time.monotonic() + 60
    while bufs:
        if time.monotonic() > deadline:
            fail("flood of requests: %d connections undecided after 60 s" %
                 len(bufs))
        for key, ev in sel.select(0.2):
            s = key.fileobj
            if ev & selectors.EVENT_WRITE:
                try:
                    s.send(req)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                d = s.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                d = b""
            if d:
                bufs[s] += d
                continue
            if bufs[s].startswith(b"HTTP/1.1 200 OK\r\n") and \
                    bufs[s].endswith(b"\r\n\r\nok\n"):
                answered += 1
            elif bufs[s] == b"":
                refused += 1
            else:
                fail("flood of requests: odd answer %r" % bufs[s][:80])
            sel.unregister(s)
            del bufs[s]
            s.close()
    sel.close()
    check(answered > 0, "flood of requests: none answered")
    log("flood of requests: %d answered, %d closed unanswered" %
        (answered, refused))


def held_keepalive(n, sources):
    """n connections, from sources in turn, each answered one GET and kept
    open (idle keep-alive). Returns them."""
    conns = []
    for i in range(n):
        try:
            c = Conn(source=sources[i % len(sources)])
            c.send(get("/healthz"))
            status, _, _ = c.response()
        except (OSError, EOFError) as e:
            fail("held keep-alive #%d (from %s): no answer (%r)" %
                 (i, sources[i % len(sources)], e))
        check(status == 200, "held keep-alive #%d: %d" % (i, status))
        conns.append(c)
    return conns


def check_held_keepalive():
    """One address holds MAX_PER_PEER connections at most; idle keep-alive
    connections past the limit do not shut out a health check."""
    conns = held_keepalive(MAX_PER_PEER + 36, ["127.0.0.7"])
    held = held_from("127.0.0.7")
    check(held <= MAX_PER_PEER, "%d connections from one address held "
          "(limit %d)" % (held, MAX_PER_PEER))
    log("%d keep-alive connections from one address: the server holds %d" %
        (len(conns), held))
    for c in conns:
        c.close()
    conns = held_keepalive(MAX_CONNS + 44, FLOOD_FROM)
    ports, _ = server_side()
    check(len(ports) <= MAX_CONNS + 8, "held keep-alive: %d connections held "
          "(limit %d)" % (len(ports), MAX_CONNS))
    for _ in range(3):
        probe_health("%d held keep-alive connections" % len(conns))
    log("%d held keep-alive connections: the server holds %d, /readyz and "
        "/healthz answer" % (len(conns), len(ports)))
    for c in conns:
        c.close()


def check_metrics_with_redis_paused(n=300, pause_ms=4000):
    """Redis paused and n concurrent GET /metrics: /healthz answers at
    once meanwhile; each /metrics is answered (200, or 503 when too many
    wait) or closed for a newer connection, within the pause and a little;
    and /metrics is answered 200 after."""
    args = shlex.split(os.environ["HTTP_ABUSE_REDIS_CLI"])
    paused_at = int(time.time() * 1000)
    out = subprocess.run(["redis-cli"] + args + ["CLIENT", "PAUSE",
                                                 str(pause_ms), "ALL"],
                         capture_output=True, text=True, timeout=10)
    # when no job could finish because of this test: the caller's stall
    # check leaves it out (wall clock ms, as its progress file has them)
    if os.environ.get("HTTP_ABUSE_PAUSE_FILE"):
        with open(os.environ["HTTP_ABUSE_PAUSE_FILE"], "w") as f:
            f.write("%d %d\n" % (paused_at,
                                 int(time.time() * 1000) + pause_ms))
    check(out.stdout.strip() == "OK", "CLIENT PAUSE: %r %r" % (out.stdout,
                                                             out.stderr))
    t0 = time.monotonic()
    sel = selectors.DefaultSelector()
    bufs = {}
    for i in range(n):
        s = nonblocking_from(FLOOD_FROM[i % len(FLOOD_FROM)])
        bufs[s] = b""
        sel.register(s, selectors.EVENT_WRITE)
    got = {200: 0, 503: 0, "closed": 0}
    probes = 0
    probed_at = 0
    deadline = t0 + pause_ms / 1000 + 10
    while bufs:
        now = time.monotonic()
        if now > deadline:
            fail("metrics, Redis paused: %d of %d undecided after %.0f s" %
                 (len(bufs), n, now - t0))
        if now - t0 < pause_ms / 1000 - 0.5 and now - probed_at > 0.5:
            probed_at = probe_health("Redis paused, %d GET /metrics" % n,
                                     ("/healthz",), within=1.0)
            probes += 1
        for key, ev in sel.select(0.1):
            s = key.fileobj
            if ev & selectors.EVENT_WRITE:
                try:
                    s.send(get("/metrics"))
                except (BrokenPipeError, ConnectionResetError):
                    pass
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                d = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                d = b""
            if d:
                bufs[s] += d
                m = re.match(rb"HTTP/1\.1 (\d{3}) .*?\r\nContent-Length: "
                             rb"(\d+)\r\n.*?\r\n\r\n", bufs[s], re.S)
                if m is None or len(bufs[s]) < m.end() + int(m.group(2)):
                    continue  # not all of it yet
                status = int(m.group(1))
                if status not in got:
                    fail("metrics, Redis paused: %r" % bufs[s][:80])
                got[status] += 1
            else:
                check(bufs[s] == b"", "metrics, Redis paused: cut off "
                      "within an answer: %r" % bufs[s][:80])
                got["closed"] += 1
            sel.unregister(s)
            del bufs[s]
            s.close()
    sel.close()
    took = time.monotonic() - t0
    log("Redis paused %d ms, %d GET /metrics: %d answered 200, %d 503, %d "
        "closed for newer connections, in %.1f s; /healthz answered at "
        "once %d times meanwhile" % (pause_ms, n, got[200], got[503],
                                     got["closed"], took, probes))
    check(probes >= 3, "metrics, Redis paused: /healthz asked %d times" %
          probes)
    check(got[200] >= 1, "metrics, Redis paused: no /metrics answered 200")
    check(got[503] >= 1, "metrics, Redis paused: none refused as busy")
    deadline = time.monotonic() + 10
    while True:
        c = Conn()
        c.send(get("/metrics"))
        status, _, body = c.response()
        c.close()
        if status == 200 and b"jobrt_build_info" in body:
            break
        check(time.monotonic() < deadline, "/metrics after the pause: %d" %
              status)
        time.sleep(0.2)  # pacing the retry, not a check
    log("/metrics answers 200 after the pause")


def main():
    c = Conn()
    _, body = ok_on(c, "/healthz")
    check(body == b"ok\n", "/healthz: %r" % body)
    c.close()

    results = {}
    threads = [
        threading.Thread(target=slow_sender, args=(
            "slowloris (headers a byte a second)",
            b"GET /healthz HTTP/1.1\r\n",
            b"X-Slow: 0123456789abcdef\r\n", REQUEST_S, results)),
        threading.Thread(target=slow_sender, args=(
            "slow body (a byte a second)",
            get("/healthz", "POST", "Content-Length: 1000\r\n"), b"b",
            REQUEST_S, results)),
        threading.Thread(target=idle_client, args=(
            "silent connection", b"", REQUEST_S, results)),
        threading.Thread(target=idle_client, args=(
            "idle keep-alive connection", get("/healthz"), IDLE_S,
            results)),
    ]
    for t in threads:
        t.start()

    check_limits()
    check_garbage()
    check_methods()
    check_keepalive_and_pipelining()
    check_slow_reader()
    check_held_keepalive()
    check_metrics_with_redis_paused()
    flood(10000)
    flood_requests(2000)

    for t in threads:
        t.join(IDLE_S + 30)
    for name in sorted(results):
        log("%s: %s" % (name, results[name]))
    bad = [n for n, r in results.items() if not r.startswith("ok")]
    check(len(results) == len(threads) and not bad,
          "slow clients: %s" % ", ".join(bad or ["a thread did not finish"]))
    c = Conn()
    ok_on(c, "/healthz")
    c.close()
    log("all checks passed")


if __name__ == "__main__":
    main()
