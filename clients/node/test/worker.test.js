/*
 * worker.test.js - end to end with the real worker: `jobrt run` (one
 * process, --park-ttl 0) over the first-party plugins runs echo jobs this
 * client enqueued, one at a time and in bulk, with a delay and a key, and
 * wait() reads each record back ("succeeded", the payload as the result);
 * a job no plugin serves is dead-lettered as no_handler, found by
 * dlqList() and re-driven by dlqRetry(); SIGTERM stops the worker cleanly.
 * Needs JOBRT_BIN (the jobrt binary) and JOBRT_PLUGIN_DIR (the build's
 * plugins/ dir with echo.so): ctest sets both; without them it is skipped.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { Client } = require('..');
const { startRedis, waitFor, exited } = require('./helpers');

const BIN = process.env.JOBRT_BIN;
const PLUGINS = process.env.JOBRT_PLUGIN_DIR;
const skip = !BIN ? 'JOBRT_BIN is not set (the jobrt binary; ctest sets it)'
  : !PLUGINS ? 'JOBRT_PLUGIN_DIR is not set (the dir with echo.so)' : false;
const Q = 'node-e2e';

let srv, client, worker, logFile;

function workerLog() {
  try {
    return fs.readFileSync(logFile, 'utf8');
  } catch (e) {
    return '';
  }
}

test.before(async () => {
  if (skip) return;
  assert.ok(fs.existsSync(path.join(PLUGINS, 'echo.so')),
    `no echo.so in JOBRT_PLUGIN_DIR ${PLUGINS}`);
  srv = await startRedis();
  client = new Client({ redis: srv.url });
  logFile = path.join(srv.dir, 'worker.log');
  const env = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('JOBRT_')) env[k] = v; /* nothing may steer jobrt */
  env.TMPDIR = srv.dir;
  const out = fs.openSync(logFile, 'a');
  worker = spawn(BIN, ['run', '--workers', '0', '--plugin-dir', PLUGINS,
    '--redis', srv.url, '--queue', Q, '--park-ttl', '0', '--consumer',
    'node-e2e-1', '--run-dir', path.join(srv.dir, 'run')],
  { env, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  await waitFor('the worker to take jobs', 15000, () => {
    if (worker.exitCode !== null)
      throw new Error(`jobrt run exited ${worker.exitCode}:\n${workerLog()}`);
    return /taking jobs/.test(workerLog());
  });
});

test.after(async () => {
  if (skip) return;
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    worker.kill('SIGKILL');
    await exited(worker);
  }
  if (client) await client.close();
  if (srv) await srv.stop();
});

/* On a failure, the worker's log says why. */
async function withLog(fn) {
  try {
    await fn();
  } catch (e) {
    e.message += `\n---- worker log:\n${workerLog().slice(-4000)}`;
    throw e;
  }
}

test('echo jobs from enqueue() and enqueueMany() succeed with their payload',
  { skip }, () => withLog(async () => {
    const sent = [];
    const one = await client.enqueue(Q, 'echo', 1, { n: 'one', list: [1, 2] },
      { id: 'e-one', correlationId: 'c-1', maxAttempts: 2, timeout: 5000 });
    sent.push([one.id, { n: 'one', list: [1, 2] }]);
    const late = await client.enqueue(Q, 'echo', 3, 'later', { delay: 300 });
    sent.push([late.id, 'later']);
    const keyed = await client.enqueue(Q, 'echo', 1, { k: true },
      { key: 'echo-key' });
    sent.push([keyed.id, { k: true }]);
    const jobs = [];
    for (let i = 0; i < 50; i++)
      jobs.push({ job: 'echo', v: 1, payload: { i }, id: `e-${i}` });
    jobs.push({ job: 'echo', v: 1, payloadJson: '{"raw": [true, null]}',
      id: 'e-raw' });
    const rs = await client.enqueueMany(Q, jobs);
    rs.forEach((r, i) => sent.push([r.id, i < 50 ? { i }
      : { raw: [true, null] }]));
    for (const [id, payload] of sent) {
      const rec = await client.wait(Q, id, 15000);
      assert.equal(rec.status, 'succeeded', `job ${id}: ${JSON.stringify(rec)}`);
      assert.equal(rec.id, id);
      assert.deepEqual(rec.result, payload, `job ${id}'s result`);
    }
    const rec = await client.status(Q, 'e-one');
    assert.equal(rec.job, 'echo');
    assert.equal(rec.v, 1);
    assert.equal(rec.plugin, 'echo');
    assert.ok(rec.enqueued_at > 0 && rec.enqueued_at <= rec.finished_at);
    const dup = await client.enqueue(Q, 'echo', 1, {}, { key: 'echo-key' });
    assert.deepEqual(dup, { id: keyed.id, created: false });
  }));

test('a job no plugin serves is dead-lettered, listed and retried',
  { skip }, () => withLog(async () => {
    await client.enqueue(Q, 'nosuch', 1, { lost: true }, { id: 'lost-1' });
    const rec = await client.wait(Q, 'lost-1', 15000);
    assert.equal(rec.status, 'dead', JSON.stringify(rec));
    assert.equal(rec.reason, 'no_handler');
    const [d] = await client.dlqList(Q, { reason: 'no_handler' });
    assert.equal(d.jobId, 'lost-1');
    assert.equal(d.job, 'nosuch');
    assert.equal(d.v, 1);
    assert.equal(d.worker, 'node-e2e-1');
    assert.equal(d.fields.payload, '{"lost":true}');
    assert.deepEqual(await client.dlqList(Q, { job: 'echo' }), []);
    const r = await client.dlqRetry(Q, [d.entryId]);
    assert.deepEqual(r, { moved: 1, kept: [] });
    /* still no handler: back in the DLQ as a new entry */
    const again = await waitFor('the retried job to be dead again', 15000,
      async () => {
        const ds = await client.dlqList(Q, { job: 'nosuch' });
        return ds.length === 1 && ds[0].entryId !== d.entryId && ds[0];
      });
    assert.equal(again.jobId, 'lost-1');
  }));

test('SIGTERM stops the worker cleanly', { skip }, () => withLog(async () => {
  worker.kill('SIGTERM');
  const { code, signal } = await Promise.race([exited(worker),
    new Promise((_, reject) => setTimeout(() => reject(new Error(
      'the worker did not exit within 15 s of SIGTERM')), 15000).unref())]);
  assert.deepEqual({ code, signal }, { code: 0, signal: null });
}));
