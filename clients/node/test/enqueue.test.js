/*
 * enqueue.test.js - enqueue() and enqueueMany() against a real
 * redis-server: each option lands in the stream entry as docs/protocol.md
 * says (read back with XRANGE), delay/at go to the delayed set with the
 * right due time, an idempotency key dedupes within its window only, 2 000
 * jobs come back in input order, a flushed script cache is survived, and a
 * Redis error surfaces as ioredis's own.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');

const { Client } = require('..');
const { Redis, startRedis, waitFor, entryFields } = require('./helpers');

let srv, client;
test.before(async () => {
  srv = await startRedis();
  client = new Client({ redis: srv.url });
});
test.after(async () => {
  await client.close();
  await srv.stop();
});

const STREAM = (q, ns = 'jobrt') => `${ns}:{${q}}:stream`;
const DELAYED = (q) => `jobrt:{${q}}:delayed`;

async function entries(q) {
  return (await srv.raw.xrange(STREAM(q), '-', '+'))
    .map(([id, flat]) => ({ id, f: entryFields(flat) }));
}

async function serverMs() {
  const [s, us] = await srv.raw.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/* The delayed set's members, decoded by Redis's own cmsgpack. */
async function delayed(q) {
  const flat = await srv.raw.zrangeBuffer(DELAYED(q), 0, -1, 'WITHSCORES');
  const out = [];
  for (let i = 0; i < flat.length; i += 2) {
    const [token, fields] = await srv.raw.eval(
      'local m = cmsgpack.unpack(ARGV[1]) return {m[1], m[2]}', 0, flat[i]);
    out.push({ token, f: entryFields(fields), due: Number(flat[i + 1]) });
  }
  return out;
}

test('a plain job is one XADD: its id is the entry id, fields as the CLI',
  async () => {
    const before = Date.now();
    const r = await client.enqueue('plain', 'invoice_email', 2,
      { invoice: 'INV-1', n: [1, 2] });
    const [e] = await entries('plain');
    assert.deepEqual(r, { id: e.id, created: true });
    assert.deepEqual(Object.keys(e.f), ['job', 'v', 'payload', 'enqueued_at']);
    assert.equal(e.f.job, 'invoice_email');
    assert.equal(e.f.v, '2');
    assert.equal(e.f.payload, '{"invoice":"INV-1","n":[1,2]}');
    const at = Number(e.f.enqueued_at);
    assert.ok(at >= before && at <= Date.now(), `enqueued_at ${at}`);
  });

test('every option lands in the entry under its wire name', async () => {
  const now = Date.now();
  const expiresAt = new Date(now + 3600000);
  const r = await client.enqueue('opts', 'report.build/v', 0, null, {
    id: 'inv-7', correlationId: 'order-4711', maxAttempts: 3,
    timeout: 1500, expiresAt,
  });
  assert.deepEqual(r, { id: 'inv-7', created: true });
  const [e] = await entries('opts');
  assert.deepEqual(e.f, {
    job: 'report.build/v', v: '0', payload: 'null', id: 'inv-7',
    correlation_id: 'order-4711', max_attempts: '3', timeout_ms: '1500',
    enqueued_at: e.f.enqueued_at, expires_at: String(expiresAt.getTime()),
  });

  await client.enqueue('opts', 'j', 1, {}, { expiresIn: 60000, id: 'e-in' });
  const [, e2] = await entries('opts');
  const exp = Number(e2.f.expires_at) - Number(e2.f.enqueued_at);
  assert.equal(exp, 60000, 'expires_at = enqueued_at + expiresIn');

  await client.enqueue('opts', 'j', 1, {}, { expiresAt: 5, id: 'e-num' });
  const [, , e3] = await entries('opts');
  assert.equal(e3.f.expires_at, '5', 'epoch ms given as a number');
});

test('payloadJson is sent byte for byte; payload is compact JSON',
  async () => {
    const text = '{ "a" : 1,\n "b": [ ], "c": "\\u00e9" }';
    await client.enqueue('pj', 'j', 1, undefined, { payloadJson: text });
    await client.enqueue('pj', 'j', 1, 'caf\u00e9 \u{1F600}');
    const [a, b] = await entries('pj');
    assert.equal(a.f.payload, text);
    assert.equal(b.f.payload, '"caf\u00e9 \u{1F600}"');
  });

test('delay: the job waits in the delayed set, due at now + delay',
  async () => {
    const t0 = await serverMs();
    const r = await client.enqueue('dl', 'j', 1, { x: 1 }, { delay: 60000 });
    const t1 = await serverMs();
    assert.match(r.id, /^\d{13}-[0-9a-f]{8}$/, 'a generated <ms>-<hex> id');
    assert.equal(r.created, true);
    assert.equal(await srv.raw.xlen(STREAM('dl')), 0);
    const [m] = await delayed('dl');
    assert.match(m.token, /^sched-\d+$/);
    assert.ok(m.due >= t0 + 60000 && m.due <= t1 + 60000, `due ${m.due}`);
    assert.deepEqual(Object.keys(m.f),
      ['job', 'v', 'payload', 'enqueued_at', 'id']);
    assert.equal(m.f.id, r.id, 'the generated id is among the fields');
    assert.equal(m.f.payload, '{"x":1}');

    const r2 = await client.enqueue('dl', 'j', 1, {}, { delay: 0 });
    assert.match(r2.id, /^\d{13}-[0-9a-f]{8}$/);
    assert.notEqual(r2.id, r.id);
    const [e] = await entries('dl');
    assert.equal(e.f.id, r2.id, 'delay 0 goes straight to the stream');
  });

test('at: a Date or ms in the future is its due time; one past runs now',
  async () => {
    const due = new Date((await serverMs()) + 120000);
    await client.enqueue('at', 'j', 1, {}, { at: due, id: 'at-date' });
    await client.enqueue('at', 'j', 1, {}, { at: due.getTime() + 1,
      id: 'at-num' });
    const ms = await delayed('at');
    assert.deepEqual(ms.map((m) => [m.f.id, m.due]),
      [['at-date', due.getTime()], ['at-num', due.getTime() + 1]]);
    assert.equal(ms[0].f.not_before, undefined, 'at is no field, as --at');
    await client.enqueue('at', 'j', 1, {}, { at: new Date(1000),
      id: 'at-past' });
    const [e] = await entries('at');
    assert.equal(e.f.id, 'at-past');
  });

test('key dedupes within the window, and a new job gets through after it',
  async () => {
    const a = await client.enqueue('dd', 'j', 1, { n: 1 }, { key: 'k-1' });
    assert.equal(a.created, true);
    const b = await client.enqueue('dd', 'j', 1, { n: 2 },
      { key: 'k-1', id: 'other' });
    assert.deepEqual(b, { id: a.id, created: false });
    const es = await entries('dd');
    assert.equal(es.length, 1);
    assert.equal(es[0].f.idempotency_key, 'k-1');
    assert.equal(es[0].f.id, a.id);
    const ttl = await srv.raw.pttl('jobrt:{dd}:idem:k-1');
    assert.ok(ttl > 86400000 - 60000 && ttl <= 86400000, `default window, ` +
      `pttl ${ttl}`);

    const c = await client.enqueue('dd', 'j', 1, {},
      { key: 'k-2', dedupeWindow: 150, id: 'c-1' });
    const dup = await client.enqueue('dd', 'j', 1, {},
      { key: 'k-2', dedupeWindow: 150, id: 'c-2' });
    assert.deepEqual(dup, { id: 'c-1', created: false });
    assert.ok(c.created);
    await waitFor('the 150 ms dedupe window to pass', 5000,
      async () => (await srv.raw.exists('jobrt:{dd}:idem:k-2')) === 0);
    const d = await client.enqueue('dd', 'j', 1, {},
      { key: 'k-2', dedupeWindow: 150, id: 'c-3' });
    assert.deepEqual(d, { id: 'c-3', created: true });
    assert.equal(await srv.raw.xlen(STREAM('dd')), 3);
  });

test('enqueueMany: 2 000 jobs, mixed XADD and script, in input order',
  async () => {
    const jobs = [];
    for (let i = 0; i < 2000; i++) {
      const j = { job: 'bulk', v: 1, payload: { i }, id: `b-${i}` };
      if (i % 10 === 3) j.key = `bk-${i}`;
      jobs.push(j);
    }
    jobs.push({ job: 'bulk', v: 1, payload: {}, key: 'bk-3', id: 'again' });
    const rs = await client.enqueueMany('bulk', jobs);
    assert.equal(rs.length, 2001);
    rs.slice(0, 2000).forEach((r, i) =>
      assert.deepEqual(r, { id: `b-${i}`, created: true }));
    assert.deepEqual(rs[2000], { id: 'b-3', created: false });
    const es = await entries('bulk');
    assert.deepEqual(es.map((e) => e.f.id), jobs.slice(0, 2000)
      .map((j) => j.id));
    assert.equal(es[13].f.idempotency_key, 'bk-13');
    assert.deepEqual(await client.enqueueMany('bulk', []), []);
  });

test('enqueueMany takes enqueue()\'s option names and values', async () => {
  const due = (await serverMs()) + 3600000;
  const options = [
    { id: 'n-1', correlationId: 'c-1', maxAttempts: 2, timeout: 10,
      key: 'ik-1', expiresIn: null, payloadJson: '[1, 2]' },
    { id: 'n-2', at: new Date(due), timeout: 20, expiresAt: new Date(99),
      dedupeWindow: null },
    { id: 'n-3', delay: 30000, key: 'k', dedupeWindow: 5000,
      expiresIn: 600000 },
  ];
  const before = Date.now();
  const one = [];
  for (const o of options)
    one.push(await client.enqueue('one', 'a', 7,
      o.payloadJson ? undefined : { n: o.id }, o));
  const many = await client.enqueueMany('many', options.map((o) =>
    Object.assign({ job: 'a', v: 7 },
      o.payloadJson ? {} : { payload: { n: o.id } }, o)));
  const after = Date.now();
  assert.deepEqual(many, one);
  assert.deepEqual(many.map((r) => r.id), ['n-1', 'n-2', 'n-3']);

  /* the same entries, but for the client's clock */
  const sameButClock = (f) => {
    const g = Object.assign({}, f);
    for (const k of ['enqueued_at', 'expires_at'])
      if (k in g && Number(g[k]) >= before) {
        assert.ok(Number(g[k]) <= after + 600000, `${k} ${g[k]}`);
        g[k] = 'now';
      }
    return g;
  };
  const [e1] = await entries('many');
  assert.deepEqual(sameButClock(e1.f), sameButClock(
    (await entries('one'))[0].f));
  assert.deepEqual(sameButClock(e1.f), { job: 'a', v: '7', payload: '[1, 2]',
    id: 'n-1', correlation_id: 'c-1', max_attempts: '2', timeout_ms: '10',
    enqueued_at: 'now', idempotency_key: 'ik-1' });
  const ds = await delayed('many');
  const dsOne = await delayed('one');
  for (const id of ['n-2', 'n-3']) {
    const m = ds.find((x) => x.f.id === id);
    const o = dsOne.find((x) => x.f.id === id);
    assert.deepEqual(sameButClock(m.f), sameButClock(o.f));
    assert.ok(Math.abs(m.due - o.due) < 1000, `${id}: ${m.due} ${o.due}`);
  }
  const n2 = ds.find((x) => x.f.id === 'n-2');
  assert.equal(n2.due, due, 'at is the due time');
  assert.equal(n2.f.timeout_ms, '20');
  assert.equal(n2.f.expires_at, '99');
  const n3 = ds.find((x) => x.f.id === 'n-3');
  const now = await serverMs();
  assert.ok(n3.due > now + 25000 && n3.due <= now + 30000,
    `delay is ms: due ${n3.due - now} ms from now`);
  const ttl = await srv.raw.pttl('jobrt:{many}:idem:k');
  assert.ok(ttl > 0 && ttl <= 5000, `dedupeWindow 5000 ms, pttl ${ttl}`);
});

test('a flushed script cache: EVALSHA fails NOSCRIPT, EVAL is sent',
  async () => {
    await client.enqueue('ns', 'j', 1, {}, { key: 'x1' });
    await srv.raw.script('FLUSH');
    const r = await client.enqueue('ns', 'j', 1, {}, { key: 'x2' });
    assert.equal(r.created, true);
    await srv.raw.script('FLUSH');
    const rs = await client.enqueueMany('ns', [
      { job: 'j', v: 1, payload: {}, key: 'x3' },
      { job: 'j', v: 1, payload: {}, id: 'plain' },
      { job: 'j', v: 1, payload: {}, key: 'x1' },
    ]);
    assert.deepEqual(rs.map((x) => x.created), [true, true, false]);
    assert.equal(await srv.raw.xlen(STREAM('ns')), 4);
  });

test('a Redis error is ioredis\'s own, with what was enqueued', async () => {
  await srv.raw.set(STREAM('wt'), 'not a stream');
  await assert.rejects(client.enqueue('wt', 'j', 1, {}),
    (e) => e instanceof Redis.ReplyError && /^WRONGTYPE/.test(e.message));
  await srv.raw.set('jobrt:{wt}:seq', 'x');
  const err = await client.enqueueMany('wt', [
    { job: 'j', v: 1, payload: {}, key: 'fine' }, /* XADD fails: WRONGTYPE */
    { job: 'j', v: 1, payload: {}, delay: 5000, id: 'd-1' }, /* INCR fails */
  ]).catch((e) => e);
  assert.ok(err instanceof Redis.ReplyError, String(err));
  assert.equal(err.results.length, 2);
});

test('a namespace and a caller\'s own ioredis client', async () => {
  const own = new Redis({ path: srv.socket });
  const c = new Client({ redis: own, namespace: 'staging' });
  const r = await c.enqueue('q', 'j', 1, {}, { id: 'ns-1' });
  assert.equal(r.id, 'ns-1');
  assert.equal(await srv.raw.xlen(STREAM('q', 'staging')), 1);
  await c.close();
  assert.equal(await own.ping(), 'PONG', 'close() leaves it open');
  own.disconnect();
});
