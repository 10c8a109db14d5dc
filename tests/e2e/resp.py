#!/usr/bin/env python3
"""resp.py - byte-exact stream inspection for the e2e tests (stdlib only).

redis-cli's text output cannot show field values containing newlines or NUL
bytes unambiguously, so the tests read streams through this minimal RESP2
client instead. Every string is printed in one escaped form: printable ASCII
as is, backslash as \\\\, any other byte as \\xNN (lower-case hex).

  resp.py URL xrange KEY                 one JSON object per entry:
                                         {"id": ID, "fields": [[k, v], ...]}
  resp.py URL find KEY FIELD VALUE       the first entry whose FIELD equals
                                         VALUE (escaped form), exit 1 if none
  resp.py enc ARG...                     ARGs as [[k, v], ...] (escaped)

URL is unix:///path.sock or redis://host:port.
"""
import json
import os
import socket
import sys


def esc(b):
    out = []
    for c in b:
        if c == 0x5C:
            out.append("\\\\")
        elif 0x20 <= c < 0x7F:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


def connect(url):
    if url.startswith("unix://"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(url[len("unix://"):])
    elif url.startswith("redis://"):
        hostport = url[len("redis://"):].split("/", 1)[0]
        host, _, port = hostport.rpartition(":")
        s = socket.create_connection((host or "127.0.0.1", int(port or 6379)))
    else:
        raise SystemExit("resp.py: unsupported URL %s" % url)
    return s.makefile("rwb")


def command(f, *args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    f.write(b"".join(parts))
    f.flush()
    return read_reply(f)


def read_reply(f):
    line = f.readline()
    if not line:
        raise SystemExit("resp.py: connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        raise SystemExit("resp.py: redis error: %s" % rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        if n < 0:
            return None
        return [read_reply(f) for _ in range(n)]
    raise SystemExit("resp.py: bad reply %r" % line)


def entries(url, key):
    f = connect(url)
    for eid, fv in command(f, "XRANGE", key, "-", "+"):
        fv = fv or []
        yield {"id": esc(eid),
               "fields": [[esc(fv[i]), esc(fv[i + 1])]
                          for i in range(0, len(fv) - 1, 2)]}


def main(argv):
    if len(argv) >= 2 and argv[1] == "enc":
        a = [os.fsencode(x) for x in argv[2:]]
        print(json.dumps([[esc(a[i]), esc(a[i + 1])]
                          for i in range(0, len(a) - 1, 2)]))
        return 0
    if len(argv) == 4 and argv[2] == "xrange":
        for e in entries(argv[1], argv[3]):
            print(json.dumps(e))
        return 0
    if len(argv) == 6 and argv[2] == "find":
        field, value = argv[4], argv[5]
        for e in entries(argv[1], argv[3]):
            if [field, value] in e["fields"]:
                print(json.dumps(e))
                return 0
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
