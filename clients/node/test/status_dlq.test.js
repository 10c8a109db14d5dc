/*
 * status_dlq.test.js - status() and wait() over outcome records written as
 * a worker writes them, wait()'s timeout; dlqList() order, filters, count
 * and scan bound over dead letters laid out as a worker lays them out;
 * dlqRetry() moving entries back (attempt, last_error and dlq_* dropped)
 * and keeping an encoded one (dlq_fields).
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');

const { Client } = require('..');
const { startRedis, entryFields, addDeadLetter } = require('./helpers');

let srv, client;
test.before(async () => {
  srv = await startRedis();
  client = new Client({ redis: srv.url });
});
test.after(async () => {
  await client.close();
  await srv.stop();
});

const RECORD = { id: 'inv-1', queue: 'st', job: 'invoice_email', v: 1,
  status: 'succeeded', attempts: 1, deliveries: 1, reason: null,
  result: { ok: true }, error: null };

test('status: null with no record, the parsed record once written',
  async () => {
    assert.equal(await client.status('st', 'inv-1'), null);
    await srv.raw.set('jobrt:{st}:job:inv-1', JSON.stringify(RECORD),
      'PX', 60000);
    assert.deepEqual(await client.status('st', 'inv-1'), RECORD);
    assert.equal(await client.status('other', 'inv-1'), null,
      'another queue\'s key');
  });

const BUILD = { plugin: 'mail', plugin_version: '2.0.0', build_id: 'b-7',
  sha256: 'a41c09e2b7d3', generation: 3, worker: 'host-1-42' };

/* A succeeded record as the worker's COMPLETE script writes it. */
async function putSucceeded(start, id, compact) {
  await srv.raw.hset(`jobrt:{st}:done:${start}`, id, compact);
  await srv.raw.hset(`jobrt:{st}:done:${start}:builds`, '00ab',
    JSON.stringify(BUILD));
  await srv.raw.zadd('jobrt:{st}:done', start + 3600, String(start));
}

test('status: a bucket record expands to the full record', async () => {
  await putSucceeded(1000, 'inv-9', '[1,"00ab","invoice_email",2,3,1,' +
    '1795442850699,73,72,71]{"ok":[1,"]"]}');
  const got = await client.status('st', 'inv-9');
  assert.deepEqual(got, { id: 'inv-9', queue: 'st', job: 'invoice_email',
    v: 2, status: 'succeeded', attempts: 3, deliveries: 1, reason: null,
    result: { ok: [1, ']'] }, error: null, plugin: 'mail',
    plugin_version: '2.0.0', build_id: 'b-7', sha256: 'a41c09e2b7d3',
    generation: 3, enqueued_at: 1795442850626,
    dispatched_at: 1795442850627, started_at: 1795442850628,
    finished_at: 1795442850699, worker: 'host-1-42' });
  assert.deepEqual(Object.keys(got).slice(0, 5),
    ['id', 'queue', 'job', 'v', 'status']);
});

test('status: the record that finished later wins', async () => {
  await putSucceeded(1000, 're-1', '[1,"00ab","echo",1,1,1,5000,3,2,1]');
  const dead = Object.assign({}, RECORD, { status: 'dead', finished_at: 4000 });
  await srv.raw.set('jobrt:{st}:job:re-1', JSON.stringify(dead));
  assert.equal((await client.status('st', 're-1')).status, 'succeeded');
  dead.finished_at = 6000;
  await srv.raw.set('jobrt:{st}:job:re-1', JSON.stringify(dead));
  assert.equal((await client.status('st', 're-1')).status, 'dead');
  await putSucceeded(1000, 'bad-1', '[2,3]');
  await assert.rejects(client.status('st', 'bad-1'),
    /record of job bad-1 is not a compact record of format 1/);
});

test('wait: resolves when the record appears', async () => {
  setTimeout(() => srv.raw.set('jobrt:{st}:job:late', '{"status":"dead"}'),
    300);
  const t0 = Date.now();
  const rec = await client.wait('st', 'late', 5000);
  assert.deepEqual(rec, { status: 'dead' });
  assert.ok(Date.now() - t0 >= 250, 'it did wait');
});

test('wait: rejects with a TimeoutError past its timeout', async () => {
  const t0 = Date.now();
  await assert.rejects(client.wait('st', 'never', 400), (e) => {
    assert.equal(e.name, 'TimeoutError');
    assert.match(e.message, /^job never of queue st has no outcome record after 400 ms$/);
    return true;
  });
  const took = Date.now() - t0;
  assert.ok(took >= 400 && took < 2000, `took ${took} ms`);
});

const DLQ = 'jobrt:{dl}:dlq';

test('dlqList: newest first, filtered by reason and job, up to count',
  async () => {
    const ids = [];
    ids.push(await addDeadLetter(srv.raw, DLQ, { job: 'a', v: '1',
      payload: '{}', id: 'j-1' }, 'no_handler'));
    ids.push(await addDeadLetter(srv.raw, DLQ, { job: 'b', v: '2',
      payload: '{}', id: 'j-2', attempt: '3', last_error: 'boom' },
    'retries_exhausted'));
    ids.push(await addDeadLetter(srv.raw, DLQ, { job: 'a', v: '2.0',
      payload: '{}' }, 'invalid_envelope', { dlq_source_id: '77-0' }));
    ids.push(await addDeadLetter(srv.raw, DLQ, { job: 'b', v: '1',
      payload: '[]', id: 'j-4' }, 'no_handler', { dlq_at: '1700000000123' }));

    const all = await client.dlqList('dl');
    assert.deepEqual(all.map((d) => d.entryId), ids.slice().reverse());
    const [d4, d3, d2] = all;
    assert.deepEqual(d4, {
      entryId: ids[3], jobId: 'j-4', job: 'b', v: 1, reason: 'no_handler',
      error: 'dead as no_handler', worker: 'test-1', at: 1700000000123,
      fields: { job: 'b', v: '1', payload: '[]', id: 'j-4',
        dlq_reason: 'no_handler', dlq_error: 'dead as no_handler',
        dlq_worker: 'test-1', dlq_at: '1700000000123',
        dlq_source_id: '1-1' },
    });
    assert.equal(d3.jobId, '77-0', 'no id field: dlq_source_id');
    assert.equal(d3.v, null, 'a v that is no integer');
    assert.equal(d2.fields.last_error, 'boom');

    const byReason = await client.dlqList('dl', { reason: 'no_handler' });
    assert.deepEqual(byReason.map((d) => d.jobId), ['j-4', 'j-1']);
    const byJob = await client.dlqList('dl', { job: 'a' });
    assert.deepEqual(byJob.map((d) => d.entryId), [ids[2], ids[0]]);
    const both = await client.dlqList('dl', { reason: 'no_handler',
      job: 'a' });
    assert.deepEqual(both.map((d) => d.jobId), ['j-1']);
    const two = await client.dlqList('dl', { count: 2 });
    assert.deepEqual(two.map((d) => d.entryId), [ids[3], ids[2]]);
    assert.deepEqual(await client.dlqList('none'), []);
  });

test('dlqList: pages past 500 entries, scans at most 10 000', async () => {
  const key = 'jobrt:{big}:dlq';
  await addDeadLetter(srv.raw, key, { job: 'old', v: '1', payload: '{}',
    id: 'oldest' }, 'no_handler');
  let p = srv.raw.pipeline();
  for (let i = 0; i < 10000; i++) {
    p.xadd(key, '*', 'job', 'new', 'v', '1', 'payload', '{}', 'id', `n-${i}`,
      'dlq_reason', 'expired');
    if (i % 1000 === 999) {
      await p.exec();
      p = srv.raw.pipeline();
    }
  }
  const some = await client.dlqList('big', { count: 1200 });
  assert.equal(some.length, 1200, 'three pages of XREVRANGE');
  assert.equal(some[0].jobId, 'n-9999');
  assert.equal(some[1199].jobId, 'n-8800');
  assert.deepEqual(await client.dlqList('big', { job: 'old' }), [],
    'the 10 001st entry is past the scan bound');
  await srv.raw.del(key);
  await addDeadLetter(srv.raw, key, { job: 'old', v: '1', payload: '{}',
    id: 'oldest' }, 'no_handler');
  for (let i = 0; i < 9999; i++)
    p.xadd(key, '*', 'job', 'new', 'v', '1', 'payload', '{}',
      'dlq_reason', 'expired');
  await p.exec();
  const found = await client.dlqList('big', { job: 'old' });
  assert.deepEqual(found.map((d) => d.jobId), ['oldest'],
    'the 10 000th entry is still scanned');
});

test('dlqRetry: moves entries back without attempt, last_error, dlq_*',
  async () => {
    const DQ = 'jobrt:{rt}:dlq';
    const a = await addDeadLetter(srv.raw, DQ, { job: 'a', v: '1',
      payload: '{"x":1}', id: 'r-1', attempt: '5', last_error: 'timeout',
      custom: 'kept' }, 'retries_exhausted');
    const b = await addDeadLetter(srv.raw, DQ, { job: 'b', v: '1',
      payload: '{}' }, 'no_handler', { dlq_source_id: '42-7' });
    const enc = await srv.raw.xadd(DQ, '*', 'dlq_fields',
      '3:job,2:ok,1:v,1:1,', 'job', 'ok', 'v', '1', 'dlq_reason',
      'too_many_fields', 'dlq_error', 'too many', 'dlq_worker', 'w',
      'dlq_at', '1', 'dlq_source_id', '5-5');
    const r = await client.dlqRetry('rt', [a, b, enc, '1-999']);
    assert.deepEqual(r, { moved: 2, kept: [enc] });
    const back = (await srv.raw.xrange('jobrt:{rt}:stream', '-', '+'))
      .map(([, flat]) => entryFields(flat));
    assert.deepEqual(back, [
      { job: 'a', v: '1', payload: '{"x":1}', id: 'r-1', custom: 'kept' },
      { job: 'b', v: '1', payload: '{}', id: '42-7' },
    ]);
    const left = await client.dlqList('rt');
    assert.deepEqual(left.map((d) => d.entryId), [enc]);
    assert.equal(left[0].jobId, '5-5');
    assert.deepEqual(await client.dlqRetry('rt', []), { moved: 0, kept: [] });
  });

test('dlqRetry: 250 entries go in chunks, after a script flush too',
  async () => {
    const DQ = 'jobrt:{many}:dlq';
    const ids = [];
    for (let i = 0; i < 250; i++)
      ids.push(await addDeadLetter(srv.raw, DQ, { job: 'm', v: '1',
        payload: '{}', id: `m-${i}` }, 'no_handler'));
    await client.dlqRetry('many', ids.slice(0, 1));
    await srv.raw.script('FLUSH');
    const r = await client.dlqRetry('many', ids);
    assert.deepEqual(r, { moved: 249, kept: [] });
    assert.equal(await srv.raw.xlen('jobrt:{many}:stream'), 250);
    assert.equal(await srv.raw.xlen(DQ), 0);
  });

test('dlqList keeps the first of a repeated field, as the runtime and ' +
  'the Python client', async () => {
  const key = 'jobrt:{rep}:dlq';
  const entry = await srv.raw.xadd(key, '*', 'job', 'echo', 'id', 'first-id',
    'v', '1', 'job', 'other', 'id', 'second-id', 'v', '2', 'payload', '{}',
    'dlq_reason', 'no_handler', 'dlq_reason', 'poison', 'dlq_at', '5',
    'dlq_at', '6');
  const [d] = await client.dlqList('rep');
  assert.deepEqual([d.entryId, d.jobId, d.job, d.v, d.reason, d.at],
    [entry, 'first-id', 'echo', 1, 'no_handler', 5]);
  assert.deepEqual([d.fields.job, d.fields.id, d.fields.dlq_at],
    ['echo', 'first-id', '5']);
  assert.equal((await client.dlqList('rep', { job: 'echo',
    reason: 'no_handler' })).length, 1);
  assert.deepEqual(await client.dlqList('rep', { job: 'other' }), []);
  assert.deepEqual(await client.dlqList('rep', { reason: 'poison' }), []);
});
