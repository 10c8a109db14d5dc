'use strict';
// bench/resp.js - a minimal Redis client (RESP2 over one TCP connection) for
// the parts of ./scripts/bench that need no npm module (bench/workers.js):
// it polls Redis every few milliseconds, which spawning redis-cli each time
// could not do without taking a share of the 2 cores. Commands sent without
// awaiting the previous reply are pipelined; replies come back in order.
//   const r = await Resp.connect(port);  await r.call('XLEN', key);  r.close();
// Replies: simple strings and bulk strings as strings, integers as numbers,
// nil as null, arrays as arrays; an error reply rejects the call (inside an
// array it is an Error element).
const net = require('net');

// Parses one reply at buf[i..]; returns [value, next index], or null when
// the buffer does not hold all of it yet.
function parse(buf, i) {
  if (i >= buf.length) return null;
  const eol = buf.indexOf('\r\n', i);
  if (eol < 0) return null;
  const type = buf[i];
  const line = buf.toString('utf8', i + 1, eol);
  const next = eol + 2;
  switch (type) {
    case 0x2b: return [line, next]; // +
    case 0x2d: return [new Error(line), next]; // -
    case 0x3a: return [Number(line), next]; // :
    case 0x24: { // $
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return null;
      return [buf.toString('utf8', next, next + n), next + n + 2];
    }
    case 0x2a: { // *
      const n = Number(line);
      if (n < 0) return [null, next];
      const out = [];
      let at = next;
      for (let k = 0; k < n; k++) {
        const r = parse(buf, at);
        if (r === null) return null;
        out.push(r[0]);
        at = r[1];
      }
      return [out, at];
    }
    default: throw new Error(`RESP: unexpected reply type 0x${type.toString(16)}`);
  }
}

function encode(args) {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) {
    const s = String(a);
    parts.push(`$${Buffer.byteLength(s)}\r\n${s}\r\n`);
  }
  return parts.join('');
}

class Resp {
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.waiting = []; // [resolve, reject] per command sent, in order
    sock.setNoDelay(true);
    sock.on('data', (d) => this.onData(d));
    const fail = (e) => {
      for (const [, rej] of this.waiting.splice(0)) rej(e);
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('RESP: connection closed')));
  }

  static connect(port, host = '127.0.0.1') {
    return new Promise((res, rej) => {
      const sock = net.createConnection({ port, host }, () => {
        sock.removeListener('error', rej);
        res(new Resp(sock));
      });
      sock.once('error', rej);
    });
  }

  onData(d) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let at = 0;
    for (;;) {
      const r = parse(this.buf, at);
      if (r === null) break;
      at = r[1];
      const [res, rej] = this.waiting.shift();
      if (r[0] instanceof Error) rej(r[0]); else res(r[0]);
    }
    this.buf = at >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(at);
  }

  call(...args) {
    return new Promise((res, rej) => {
      this.waiting.push([res, rej]);
      this.sock.write(encode(args));
    });
  }

  close() { this.sock.destroy(); }
}

module.exports = { Resp };
