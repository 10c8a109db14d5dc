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
    /^payload\.n is a BigInt, which JSON has not/],
  ['payload function', one({}, () => 1), 'TypeError',
    /^payload is a function, which is not JSON$/],
  ['payload too deep', one({}, JSON.parse('['.repeat(65) + ']'.repeat(65))),
    'RangeError', /^payload is nested more than 64 deep/],
  ['payloadJson too deep', json({ payloadJson: '{"a":'.repeat(65) + '1' +
    '}'.repeat(65) }), 'RangeError', /^payloadJson is nested/],
  ['lone surrogate', one({}, { s: 'a\uD800b' }), 'RangeError',
    /^payload\.s has a lone UTF-16 surrogate \(U\+D800\), which is not valid/],
  ['lone surrogate escape', json({ payloadJson: '"\\udc00"' }),
    'RangeError', /^payloadJson has a lone UTF-16 surrogate \(U\+DC00\)/],
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
  ['delay string', one({ delay: '30s' }), 'TypeError',
    /^delay must be a number of ms, not the string "30s"; this client takes no duration strings: write 30000$/],
  ['delay bare string', one({ delay: '30' }), 'TypeError',
    /^delay must be a number of ms, not the string "30"; this client takes no duration strings: write 30000 if seconds were meant \(as NDJSON reads it\), or the number 30 for ms$/],
  ['delay word', one({ delay: 'soon' }), 'TypeError',
    /^delay must be a number of ms, not the string "soon"; this client takes no duration strings$/],
  ['timeout string', one({ timeout: '5m' }), 'TypeError',
    /^timeout must be a number of ms, not the string "5m".*write 300000$/],
  ['expiresIn string', one({ expiresIn: '1h' }), 'TypeError',
    /^expiresIn must be a number of ms.*write 3600000$/],
  ['dedupeWindow string', one({ key: 'k', dedupeWindow: '7d' }), 'TypeError',
    /^dedupeWindow must be a number of ms.*write 604800000$/],
  ['delay with at', one({ delay: 5, at: Date.now() }), 'TypeError',
    /^delay and at both given: give one of them/],
  ['at invalid Date', one({ at: new Date('nope') }), 'RangeError',
    /^at must be a valid Date/],
  ['at negative', one({ at: -5 }), 'RangeError', /^at must be a whole/],
  ['at in seconds', one({ at: 1733000000 }), 'RangeError',
    /^at is 1733000000: that looks like seconds since the Unix epoch/],
  ['at string', one({ at: '2026-11-23T15:00:00Z' }), 'TypeError',
    /^at must be a Date or ms since the Unix epoch \(a number\), not the string "2026-11-23T15:00:00Z": give new Date\("2026-11-23T15:00:00Z"\)/],
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
  ['unknown option', one({ maxAttempt: 2 }), 'TypeError',
    /^options: unknown option "maxAttempt"; known: id, correlationId/],
  ['an NDJSON key as an option', one({ max_attempts: 2 }), 'TypeError',
    /^options: 'max_attempts' is an NDJSON key; options are camelCase: use maxAttempts$/],
  ['an argument as an option', one({ payload: 2 }), 'TypeError',
    /^options: 'payload' is an argument of enqueue\(queue, job, version, payload, options\), not an option$/],
  ['options type', one('fast'), 'TypeError', /^options must be an object/],

  ['jobs not an array', () => client.enqueueMany('q', { job: 'j' }),
    'TypeError', /^jobs must be an array/],
  ['a bad job names its index', () => client.enqueueMany('q', [
    { job: 'j', v: 1, payload: {} }, { job: 'j', v: 1, payload: {} },
    { job: 'j', v: 1, payload: {}, maxAttempts: 0 }]), 'RangeError',
  /^jobs\[2\]: maxAttempts must be an integer 1-1000/],
  ['a job that is no object', () => client.enqueueMany('q', [null]),
    'TypeError', /^jobs\[0\] must be an object, got null/],
  ['an unknown key in enqueueMany', () => client.enqueueMany('q',
    [{ job: 'j', v: 1, payload: {}, tries: 2 }]), 'TypeError',
  /^jobs\[0\]: unknown key "tries"; known: job, v, payload, id, correlationId/],
  ['version in enqueueMany', () => client.enqueueMany('q',
    [{ job: 'j', version: 1, payload: {} }]), 'TypeError',
  /^jobs\[0\]: 'version' is 'v' in a job object$/],
  ['a duration string in enqueueMany', () => client.enqueueMany('q',
    [{ job: 'j', v: 1, payload: {}, delay: '500ms' }]), 'TypeError',
  /^jobs\[0\]: delay must be a number of ms, not the string "500ms".*write 500$/],
  ['an ISO time in enqueueMany', () => client.enqueueMany('q',
    [{ job: 'j', v: 1, payload: {}, at: '2026-11-23T15:00:00Z' }]),
  'TypeError', /^jobs\[0\]: at must be a Date or ms since the Unix epoch \(a number\), not the string/],
  ['a worker field', () => client.enqueueMany('q',
    [{ job: 'j', v: 1, payload: {}, attempt: 2 }]), 'TypeError',
  /^jobs\[0\]: 'attempt' is set by the worker, not by producers/],
  ['v missing', () => client.enqueueMany('q', [{ job: 'j', payload: 1 }]),
    'TypeError', /^jobs\[0\]: v is missing/],
  ['payload missing in many', () => client.enqueueMany('q',
    [{ job: 'j', v: 1 }]), 'TypeError',
  /^jobs\[0\]: payload is missing \(or give payloadJson\)/],
  ['delay with at in enqueueMany', () => client.enqueueMany('q',
    [{ job: 'j', v: 1, payload: 1, delay: 5, at: 5 }]), 'TypeError',
  /^jobs\[0\]: delay and at both given/],
  ['dedupeWindow alone in enqueueMany', () => client.enqueueMany('q',
    [{ job: 'j', v: 1, payload: 1, dedupeWindow: 5 }]), 'TypeError',
  /^jobs\[0\]: dedupeWindow needs key$/],

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

/* Every key of an NDJSON line that is not an option name of this client,
 * with the one to use: a line copied from NDJSON never runs silently with
 * its seconds read as ms. */
const NDJSON_KEYS = [
  ['payload_json', '[]', 'use payloadJson'],
  ['correlation_id', 'c', 'use correlationId'],
  ['max_attempts', 3, 'use maxAttempts'],
  ['timeout_ms', 5000, 'use timeout \\(ms\\)'],
  ['expires_in', 600, 'use expiresIn \\(ms; an NDJSON number is seconds\\)'],
  ['expires_at', 99, 'use expiresAt \\(a Date or epoch ms\\)'],
  ['dedupe_window', 60, 'use dedupeWindow \\(ms; an NDJSON number is seconds\\)'],
  ['not_before', 99, 'use at \\(a Date or epoch ms\\)'],
  ['idempotency_key', 'k', 'use key'],
  ['enqueued_at', 42, "enqueued_at is set from the client's clock"],
];
for (const [key, value, hint] of NDJSON_KEYS)
  test(`refused in enqueueMany, naming the option to use: ${key}`, () =>
    bad(() => client.enqueueMany('q', [{ job: 'j', v: 1, payload: {} },
      { job: 'j', v: 1, payload: {}, key: 'k', [key]: value }]), 'TypeError',
    new RegExp(`^jobs\\[1\\]: '${key}' is an NDJSON key; enqueueMany\\(\\) ` +
      `takes enqueue\\(\\)'s option names: ${hint}$`)));

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
