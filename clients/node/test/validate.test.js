/*
 * validate.test.js - every rule of docs/protocol.md that the client checks
 * before it sends anything: each bad argument rejects with a TypeError or
 * RangeError naming it, and the private redis-server is still empty at the
 * end (nothing was sent).
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');

const { Client } = require('..');
const { startRedis } = require('./helpers');

let srv, client;
test.before(async () => {
  srv = await startRedis();
  client = new Client({ redis: srv.url });
});
test.after(async () => {
  await client.close();
  await srv.stop();
});

/* Rejects with `name` and a message matching re. */
async function bad(promiseFn, name, re) {
  await assert.rejects(promiseFn, (e) => {
    assert.equal(e.name, name, `${e.name}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

const DAY = 86400000;
const one = (opts, payload = {}) => () =>
  client.enqueue('q', 'j', 1, payload, opts);
const json = (opts) => () => client.enqueue('q', 'j', 1, undefined, opts);

const CASES = [
  // [what, call, error name, message]
  ['queue name', () => client.enqueue('a{b}', 'j', 1, {}), 'RangeError',
    /^queue must be 1-128 characters of \[A-Za-z0-9_.:\/-\], got "a\{b\}"/],
  ['queue type', () => client.enqueue(7, 'j', 1, {}), 'TypeError', /^queue/],
  ['job missing', () => client.enqueue('q', undefined, 1, {}), 'TypeError',
    /^job is missing/],
  ['job chars', () => client.enqueue('q', 'a b', 1, {}), 'RangeError',
    /^job must be 1-128/],
  ['job empty', () => client.enqueue('q', '', 1, {}), 'RangeError', /^job/],
  ['job 129', () => client.enqueue('q', 'x'.repeat(129), 1, {}),
    'RangeError', /^job must be 1-128/],
  ['version float', () => client.enqueue('q', 'j', 1.5, {}), 'RangeError',
    /^version must be an integer 0-2147483647/],
  ['version high', () => client.enqueue('q', 'j', 2147483648, {}),
    'RangeError', /^version/],
  ['version negative', () => client.enqueue('q', 'j', -1, {}), 'RangeError',
    /^version/],
  ['version string', () => client.enqueue('q', 'j', '1', {}), 'TypeError',
    /^version must be an integer/],
  ['payload missing', () => client.enqueue('q', 'j', 1), 'TypeError',
    /^payload is missing \(or give payloadJson\)/],
  ['payload and payloadJson', one({ payloadJson: '{}' }), 'TypeError',
    /^payload and payloadJson both given/],
  ['payloadJson invalid', json({ payloadJson: '{"a":' }),
    'RangeError', /^payloadJson is not valid JSON/],
  ['payloadJson type', json({ payloadJson: { a: 1 } }),
    'TypeError', /^payloadJson must be a string of JSON text/],
  ['payload BigInt', one({}, { n: 1n }), 'TypeError',
    /^payload cannot be serialized as JSON/],
  ['payload function', one({}, () => 1), 'TypeError',
    /^payload cannot be serialized as JSON \(got a function\)/],
  ['payload too deep', one({}, JSON.parse('['.repeat(65) + ']'.repeat(65))),
    'RangeError', /^payload is nested more than 64 deep/],
  ['payloadJson too deep', json({ payloadJson: '{"a":'.repeat(65) + '1' +
    '}'.repeat(65) }), 'RangeError', /^payloadJson is nested/],
  ['lone surrogate', one({}, { s: 'a\uD800b' }), 'RangeError',
    /^payload has a string with a lone UTF-16 surrogate/],
  ['lone surrogate escape', json({ payloadJson: '"\\udc00"' }),
    'RangeError', /^payloadJson has a string with a lone/],
  ['id space', one({ id: 'a b' }), 'RangeError',
    /^id must be 1-128 printable ASCII characters without spaces/],
  ['id empty', one({ id: '' }), 'RangeError', /^id must be 1-128/],
  ['id 129', one({ id: 'i'.repeat(129) }), 'RangeError', /^id must/],
  ['id non-ASCII', one({ id: 'caf\u00e9' }), 'RangeError', /^id must/],
  ['id type', one({ id: 5 }), 'TypeError', /^id must be a string/],
  ['correlationId', one({ correlationId: 'x\ty' }), 'RangeError',
    /^correlationId must be 1-128 printable/],
  ['maxAttempts 0', one({ maxAttempts: 0 }), 'RangeError',
    /^maxAttempts must be an integer 1-1000, got 0/],
  ['maxAttempts 1001', one({ maxAttempts: 1001 }), 'RangeError',
    /^maxAttempts/],
  ['timeout 0', one({ timeout: 0 }), 'RangeError',
    /^timeout must be an integer 1-86400000 \(ms\)/],
  ['timeout 24h+1', one({ timeout: DAY + 1 }), 'RangeError', /^timeout/],
  ['delay negative', one({ delay: -1 }), 'RangeError',
    /^delay must be an integer 0-31622400000 \(ms, at most 366 days\)/],
  ['delay 366d+1', one({ delay: 366 * DAY + 1 }), 'RangeError', /^delay/],
  ['delay string', one({ delay: '30s' }), 'TypeError', /^delay must be/],
  ['delay with at', one({ delay: 5, at: Date.now() }), 'TypeError',
    /^delay and at both given: give one of them/],
  ['at invalid Date', one({ at: new Date('nope') }), 'RangeError',
    /^at must be a valid Date/],
  ['at negative', one({ at: -5 }), 'RangeError', /^at must be a whole/],
  ['at string', one({ at: '2026-11-23T15:00:00Z' }), 'TypeError',
    /^at must be a Date or ms since the Unix epoch/],
  ['expiresIn 0', one({ expiresIn: 0 }), 'RangeError',
    /^expiresIn must be an integer 1-31622400000/],
  ['expiresIn with expiresAt', one({ expiresIn: 5, expiresAt: 9 }),
    'TypeError', /^expiresIn and expiresAt both given/],
  ['expiresAt float', one({ expiresAt: 1.5 }), 'RangeError', /^expiresAt/],
  ['dedupeWindow without key', one({ dedupeWindow: 1000 }), 'TypeError',
    /^dedupeWindow needs key/],
  ['dedupeWindow 0', one({ key: 'k', dedupeWindow: 0 }), 'RangeError',
    /^dedupeWindow must be an integer 1-/],
  ['key', one({ key: 'a b' }), 'RangeError', /^key must be 1-128 printable/],
  ['unknown option', one({ max_attempts: 2 }), 'TypeError',
    /^options: unknown option "max_attempts"; known: id, correlationId/],
  ['options type', one('fast'), 'TypeError', /^options must be an object/],

  ['jobs not an array', () => client.enqueueMany('q', { job: 'j' }),
    'TypeError', /^jobs must be an array/],
  ['a bad job names its index', () => client.enqueueMany('q', [
    { job: 'j', v: 1, payload: {} }, { job: 'j', v: 1, payload: {} },
    { job: 'j', v: 1, payload: {}, max_attempts: 0 }]), 'RangeError',
  /^jobs\[2\]: max_attempts must be an integer 1-1000/],
  ['a job that is no object', () => client.enqueueMany('q', [null]),
    'TypeError', /^jobs\[0\] must be an object, got null/],
  ['a camelCase key in enqueueMany', () => client.enqueueMany('q',
    [{ job: 'j', v: 1, payload: {}, maxAttempts: 2 }]), 'TypeError',
  /^jobs\[0\]: unknown key "maxAttempts"; known: job, v, payload/],
  ['a worker field', () => client.enqueueMany('q',
    [{ job: 'j', v: 1, payload: {}, attempt: 2 }]), 'TypeError',
  /^jobs\[0\]: 'attempt' is set by the worker, not by producers/],
  ['v missing', () => client.enqueueMany('q', [{ job: 'j', payload: 1 }]),
    'TypeError', /^jobs\[0\]: v is missing/],
  ['payload missing in many', () => client.enqueueMany('q',
    [{ job: 'j', v: 1 }]), 'TypeError',
  /^jobs\[0\]: payload is missing \(or give payload_json\)/],
  ['not_before with delay', () => client.enqueueMany('q',
    [{ job: 'j', v: 1, payload: 1, not_before: 5, delay: 5 }]), 'TypeError',
  /^jobs\[0\]: not_before and delay both given/],
  ['not_before with at', () => client.enqueueMany('q',
    [{ job: 'j', v: 1, payload: 1, not_before: 5, at: 5 }]), 'TypeError',
  /^jobs\[0\]: not_before and at both given/],
  ['key with idempotency_key', () => client.enqueueMany('q',
    [{ job: 'j', v: 1, payload: 1, key: 'a', idempotency_key: 'b' }]),
  'TypeError', /^jobs\[0\]: key and idempotency_key both given/],
  ['timeout with timeout_ms', () => client.enqueueMany('q',
    [{ job: 'j', v: 1, payload: 1, timeout: 5, timeout_ms: 5 }]),
  'TypeError', /^jobs\[0\]: timeout and timeout_ms both given/],
  ['dedupe_window alone', () => client.enqueueMany('q',
    [{ job: 'j', v: 1, payload: 1, dedupe_window: 5 }]), 'TypeError',
  /^jobs\[0\]: dedupe_window needs key \(or idempotency_key\)/],

  ['status id', () => client.status('q', 'a b'), 'RangeError', /^id must/],
  ['wait timeout', () => client.wait('q', 'x', -1), 'RangeError',
    /^timeout must be an integer 0-2147483647 \(ms\)/],
  ['dlqList count', () => client.dlqList('q', { count: 0 }), 'RangeError',
    /^count must be an integer 1-10000/],
  ['dlqList option', () => client.dlqList('q', { limit: 5 }), 'TypeError',
    /^dlqList: unknown option 'limit'/],
  ['dlqList reason', () => client.dlqList('q', { reason: 'no handler' }),
    'RangeError', /^reason must be/],
  ['dlqRetry not an array', () => client.dlqRetry('q', '1-1'), 'TypeError',
    /^entryIds must be an array/],
  ['dlqRetry a job id', () => client.dlqRetry('q', ['1-1', 'inv-1']),
    'RangeError', /^entryIds\[1\] must be a stream entry id/],
];

for (const [what, call, name, re] of CASES)
  test(`refused: ${what}`, () => bad(call, name, re));

test('the limits themselves are accepted', async () => {
  const deep = JSON.parse('['.repeat(64) + ']'.repeat(64));
  const r = await client.enqueue('ok', 'x'.repeat(128), 2147483647, deep, {
    id: '~'.repeat(128), maxAttempts: 1000, timeout: DAY,
    expiresIn: 366 * DAY, key: 'k'.repeat(128), dedupeWindow: 1 });
  assert.equal(r.created, true);
  await client.enqueue('ok', 'j', 0, {}, { maxAttempts: 1, timeout: 1,
    delay: 366 * DAY });
  await srv.raw.flushall();
});

test('a bad constructor argument', () => {
  assert.throws(() => new Client({ redis: srv.url, namespace: 'a b' }),
    { name: 'RangeError', message: /^namespace must be 1-128 characters/ });
  assert.throws(() => new Client({ url: srv.url }),
    { name: 'TypeError', message: /unknown option 'url'/ });
  assert.throws(() => new Client({ redis: 'http://x' }),
    { name: 'RangeError', message: /must start with redis:\/\/, rediss/ });
  assert.throws(() => new Client({ redis: 'unix://relative.sock' }),
    { name: 'RangeError', message: /absolute path/ });
});

test('nothing was sent by any refused call', async () => {
  assert.equal(await srv.raw.dbsize(), 0);
});

test('unix:// URLs as jobrt --redis takes them', async () => {
  const c = new Client({ redis: 'unix://me:p%40ss@/run/r.sock?db=3',
    redisOptions: { lazyConnect: true } });
  const o = c.redis.options;
  assert.deepEqual([o.path, o.username, o.password, o.db],
    ['/run/r.sock', 'me', 'p@ss', 3]);
  await c.close();
  const d = new Client({ redis: 'unix://secret@/run/r.sock',
    redisOptions: { lazyConnect: true } });
  assert.deepEqual([d.redis.options.path, d.redis.options.password],
    ['/run/r.sock', 'secret']);
  await d.close();
  assert.throws(() => new Client({ redis: 'unix://:pw@/x.sock?timeout=1' }),
    { name: 'RangeError', message: /"unix:\/\/:\*\*\*@\/x.sock\?timeout=1": only \?db=N/ });
});
