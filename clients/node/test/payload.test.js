/*
 * payload.test.js - the payload rules are the worker's
 * (runtime/core/json_check.c): JSON text the client accepts is exactly
 * what the worker accepts (a corpus, each text with the worker's verdict,
 * checked against the client and, with JOBRT_BIN, against the real
 * worker's check through `jobrt exec`); what JSON.stringify would drop or
 * change silently is refused naming its path; maxPayload refuses what a
 * worker's --max-payload would dead-letter. Nothing refused is sent.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

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

const STREAM = 'jobrt:{q}:stream';

/* [what, JSON text, whether the worker accepts it]; the texts are UTF-8
 * once sent, so bytes that are no UTF-8 are the Python client's to test;
 * the lone surrogates of a JS string are here. */
const CORPUS = [
  ['object', '{"a":1}', true],
  ['number out of double range', '[1e999]', true],
  ['minus zero and exponents', '[-0,1E+2,0.5e-3]', true],
  ['an int of 5000 digits', '9'.repeat(5000), true],
  ['surrogate pair escape', '"\\ud83d\\ude00"', true],
  ['highest pair escape', '"\\uDBFF\\uDFFF"', true],
  ['NUL escape', '"\\u0000"', true],
  ['JSON whitespace around', ' \t\n\r[1] \n', true],
  ['duplicate keys', '{"a":1,"a":2}', true],
  ['a key named __proto__', '{"__proto__":{"x":1}}', true],
  ['2-byte UTF-8', '"\u00e9"', true],
  ['4-byte UTF-8', '"\u{1F600}"', true],
  ['64 deep', '['.repeat(64) + ']'.repeat(64), true],
  ['lone high surrogate escape', '"\\ud800"', false],
  ['lone low surrogate escape', '"\\udc00"', false],
  ['high escape then a non-low escape', '"\\ud800\\u0041"', false],
  ['high escape then a character', '"\\ud800x"', false],
  ['lone surrogate escape in a key', '{"\\udfff":1}', false],
  ['NaN', 'NaN', false],
  ['Infinity', '[Infinity]', false],
  ['-Infinity', '{"a":-Infinity}', false],
  ['65 deep', '['.repeat(65) + ']'.repeat(65), false],
  ['raw tab in a string', '"a\tb"', false],
  ['bad escape', '"\\x41"', false],
  ['truncated \\u escape', '"\\u12"', false],
  ['trailing comma', '[1,]', false],
  ['leading zero', '01', false],
  ['bare fraction', '.5', false],
  ['plus sign', '+1', false],
  ['single quotes', "'a'", false],
  ['vertical tab', '\u000b1', false],
  ['UTF-8 BOM', '\ufeff{}', false],
  ['no-break space after', '1\u00a0', false],
  ['two values', '1 2', false],
  ['only whitespace', ' \n', false],
];

for (const [what, text, accepted] of CORPUS)
  test(`payloadJson as the worker takes it: ${what}`, async () => {
    await srv.raw.flushall();
    const send = () => client.enqueue('q', 'echo', 1, undefined,
      { payloadJson: text });
    if (accepted) {
      await send();
      assert.equal(await srv.raw.xlen(STREAM), 1);
    } else {
      await assert.rejects(send, { name: 'RangeError',
        message: /^payloadJson / });
      assert.equal(await srv.raw.dbsize(), 0);
    }
  });

test('a raw lone surrogate in payloadJson (not UTF-8 once sent)', () =>
  assert.rejects(client.enqueue('q', 'echo', 1, undefined,
    { payloadJson: '["\ud800"]' }), { name: 'RangeError',
    message: /^payloadJson\[0\] has a lone UTF-16 surrogate \(U\+D800\)/ }));

/* The jobrt binary and plugin dir of the build, or null (skip). */
function worker() {
  const bin = process.env.JOBRT_BIN;
  if (!bin) return null;
  const dir = process.env.JOBRT_PLUGIN_DIR ||
    path.join(path.dirname(fs.realpathSync(bin)), 'plugins');
  return { bin, dir };
}

test('the corpus is the worker\'s own verdict (jobrt exec)', (t) => {
  const w = worker();
  if (!w) {
    t.skip('JOBRT_BIN is not set: the path of the jobrt binary (ctest -R ' +
      'client_node sets it)');
    return;
  }
  for (const [what, text, accepted] of CORPUS) {
    const run = spawnSync(w.bin, ['exec', '--plugin-dir', w.dir, 'echo',
      '-v', '1', '--payload', text], { encoding: 'utf8', timeout: 30000 });
    assert.equal(run.status, accepted ? 0 : 1, `${what}: ${run.stderr}`);
    if (!accepted)
      assert.match(run.stderr, /payload is not valid JSON/, what);
  }
});

const sparse = [];
sparse[1] = 'x';
const symbolKeyed = { a: 1, [Symbol('s')]: 2 };
const circular = { a: {} };
circular.a.back = circular;

/* [what, payload, error name, message] */
const BAD_VALUES = [
  ['Infinity deep inside', { items: [1, 2, 3, Infinity] }, 'RangeError',
    /^payload\.items\[3\] is Infinity: JSON has no NaN or Infinity$/],
  ['NaN under a key that is no identifier', { 'a b': [0, NaN] },
    'RangeError', /^payload\["a b"\]\[1\] is NaN/],
  ['-Infinity at the top', -Infinity, 'RangeError', /^payload is -Infinity/],
  ['undefined in an array', [1, undefined], 'TypeError',
    /^payload\[1\] is undefined, which JSON has not \(JSON.stringify would drop it or write null\): use null/],
  ['undefined in an object', { a: { b: undefined } }, 'TypeError',
    /^payload\.a\.b is undefined/],
  ['a hole of a sparse array', sparse, 'TypeError',
    /^payload\[0\] is undefined/],
  ['a function', { f() {} }, 'TypeError',
    /^payload\.f is a function, which is not JSON$/],
  ['a symbol', [Symbol('x')], 'TypeError', /^payload\[0\] is a symbol/],
  ['a BigInt', { n: [10n] }, 'TypeError',
    /^payload\.n\[0\] is a BigInt, which JSON has not: give a number/],
  ['a Map', { m: new Map([['a', 1]]) }, 'TypeError',
    /^payload\.m is a Map, which JSON.stringify writes as \{\}: give Object.fromEntries\(it\)$/],
  ['a Set', { s: new Set([1]) }, 'TypeError',
    /^payload\.s is a Set, .*give an array \(\[\.\.\.it\]\)$/],
  ['a symbol-keyed property', { o: symbolKeyed }, 'TypeError',
    /^payload\.o has a symbol-keyed property, which JSON.stringify would drop$/],
  ['a lone surrogate in a key', { ok: 1, '\udc00k': 1 }, 'RangeError',
    /^payload has a key that has a lone UTF-16 surrogate \(U\+DC00\)/],
  ['a circular structure', circular, 'TypeError',
    /^payload cannot be serialized as JSON: Converting circular structure/],
  ['a toJSON that throws', { d: { toJSON() { throw new Error('no'); } } },
    'TypeError', /^payload cannot be serialized as JSON: no$/],
];

for (const [what, value, name, re] of BAD_VALUES)
  test(`refused, naming its path: ${what}`, async () => {
    await srv.raw.flushall();
    await assert.rejects(client.enqueue('q', 'echo', 1, value),
      (e) => e.name === name && re.test(e.message) ||
        assert.fail(`${e.name}: ${e.message}`));
    const where = new RegExp(re.source.replace(/^\^payload/,
      '^jobs\\[1\\]: payload'));
    await assert.rejects(client.enqueueMany('q', [
      { job: 'echo', v: 1, payload: 1 }, { job: 'echo', v: 1, payload: value },
    ]), (e) => e.name === name && where.test(e.message) ||
      assert.fail(`${e.name}: ${e.message}`));
    assert.equal(await srv.raw.dbsize(), 0);
  });

test('what JSON.stringify writes faithfully is still taken', async () => {
  await srv.raw.flushall();
  await client.enqueue('q', 'echo', 1, { d: new Date(0), n: null,
    e: '\u{1F600}', big: 1e300, nested: { toJSON: () => ({ x: [1] }) } });
  const [[, flat]] = await srv.raw.xrange(STREAM, '-', '+');
  assert.equal(flat[flat.indexOf('payload') + 1],
    '{"d":"1970-01-01T00:00:00.000Z","n":null,"e":"\u{1F600}",' +
    '"big":1e+300,"nested":{"x":[1]}}');
});

test('maxPayload refuses what the worker would dead-letter', async () => {
  await srv.raw.flushall();
  const c = new Client({ redis: srv.url, maxPayload: 10 });
  try {
    await c.enqueue('q', 'echo', 1, 'x'.repeat(8)); /* "xxxxxxxx": 10 */
    await c.enqueue('q', 'echo', 1, undefined,
      { payloadJson: ' '.repeat(8) + '[]' });
    await assert.rejects(c.enqueue('q', 'echo', 1, 'x'.repeat(9)), {
      name: 'RangeError', message: 'payload is 11 bytes, over maxPayload ' +
        '(10 bytes): a worker with --max-payload 10 dead-letters it as ' +
        'payload_too_large' });
    await assert.rejects(c.enqueue('q', 'echo', 1, undefined,
      { payloadJson: '[' + ' '.repeat(10) + ']' }),
    { name: 'RangeError', message: /^payloadJson is 12 bytes/ });
    await assert.rejects(c.enqueueMany('q', [
      { job: 'echo', v: 1, payload: '\u00e9'.repeat(5) }]),
    { name: 'RangeError', message: /^jobs\[0\]: payload is 12 bytes/ });
    assert.equal(await srv.raw.xlen(STREAM), 2);
  } finally {
    await c.close();
  }
});

test('maxPayload: 1 MiB by default, 0 is no limit', async () => {
  await srv.raw.flushall();
  const mib = 1 << 20;
  assert.equal(client.maxPayload, mib);
  await client.enqueue('q', 'echo', 1, 'x'.repeat(mib - 2));
  await assert.rejects(client.enqueue('q', 'echo', 1, 'x'.repeat(mib - 1)),
    { name: 'RangeError', message: /^payload is 1048577 bytes/ });
  const c = new Client({ redis: srv.url, maxPayload: 0 });
  try {
    await c.enqueue('q', 'echo', 1, 'x'.repeat(2 * mib));
  } finally {
    await c.close();
  }
  assert.equal(await srv.raw.xlen(STREAM), 2);
});

test('a bad maxPayload', () => {
  for (const [bad, name, re] of [
    [-1, 'RangeError', /^maxPayload must be an integer 0-536870912 \(bytes; 0: no limit\), got -1$/],
    [512 * 1024 * 1024 + 1, 'RangeError', /^maxPayload must be/],
    ['1m', 'TypeError', /^maxPayload must be an integer/],
    [1.5, 'RangeError', /^maxPayload must be an integer/],
  ])
    assert.throws(() => new Client({ redis: srv.url, maxPayload: bad,
      redisOptions: { lazyConnect: true } }), { name, message: re });
});
