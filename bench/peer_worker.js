'use strict';
// bench/peer_worker.js - one BullMQ or bee-queue worker process for
// bench/harness.js, so the peers' RSS and CPU are measured per process the
// same way as jobrt's. Started with fork(); argv[2] is a JSON config:
//   {system: 'bullmq'|'bee', port, queue, concurrency,
//    workload: 'noop'|'json'|'retry'|'latency'}
// IPC: sends {type:'ready'} once connected (the parent starts its clock
// then, and the worker starts taking jobs right after); on {type:'stop'}
// closes the worker and sends {type:'stopped', processed, failed, lat}
// (lat: pickup latencies in microseconds, latency workload only), then exits.
const path = require('path');
const { createRequire } = require('module');
const peerRequire = createRequire(path.join(__dirname, '.peers', 'package.json'));
const { invoiceTotal, nowUs } = require('./common');

const cfg = JSON.parse(process.argv[2]);
const conn = { host: '127.0.0.1', port: cfg.port };
let processed = 0;
let failed = 0;
const lat = [];

function makeHandler(getData) {
  if (cfg.workload === 'latency') {
    return async (job) => {
      const now = nowUs();
      lat.push(now - getData(job).t_us);
      processed++;
    };
  }
  if (cfg.workload === 'json') {
    return async (job) => {
      const r = invoiceTotal(getData(job));
      processed++;
      return r;
    };
  }
  if (cfg.workload === 'retry') {
    // first attempt fails, the retry (job options: 1 more, 1 ms backoff)
    // succeeds; only successes count as processed
    const firstAttempt = cfg.system === 'bullmq'
      ? (job) => job.attemptsMade === 0
      : (job) => job.options.retries > 0;
    return async (job) => {
      if (firstAttempt(job)) throw new Error('first attempt fails on purpose');
      processed++;
    };
  }
  return async () => { processed++; };
}

async function main() {
  let close;
  if (cfg.system === 'bullmq') {
    const { Worker } = peerRequire('bullmq');
    const w = new Worker(cfg.queue, makeHandler((job) => job.data), {
      connection: conn,
      concurrency: cfg.concurrency,
      autorun: false,
      // 'kept': BullMQ's defaults (every completed job kept)
      ...(cfg.workload === 'kept' ? {} : { removeOnComplete: { count: 0 }, removeOnFail: { count: 1000 } }),
    });
    w.on('failed', () => { failed++; });
    w.on('error', (e) => { process.stderr.write(`bullmq worker error: ${e.message}\n`); });
    await w.waitUntilReady();
    process.send({ type: 'ready' });
    w.run().catch((e) => process.stderr.write(`bullmq run: ${e.message}\n`));
    close = () => w.close();
  } else if (cfg.system === 'bee') {
    const Queue = peerRequire('bee-queue');
    const q = new Queue(cfg.queue, {
      redis: conn,
      isWorker: true,
      getEvents: false,
      sendEvents: false,
      storeJobs: false,
      // 'kept': bee-queue's default (each succeeded job's hash kept)
      removeOnSuccess: cfg.workload !== 'kept',
      // retries with backoff wait in the delayed set; check it as often as
      // jobrt does (every 100 ms; bee-queue's default debounce is 1 s)
      activateDelayedJobs: cfg.workload === 'retry',
      delayedDebounce: 100,
    });
    q.on('error', (e) => { process.stderr.write(`bee-queue error: ${e.message}\n`); });
    q.on('failed', () => { failed++; });
    await q.ready();
    process.send({ type: 'ready' });
    q.process(cfg.concurrency, makeHandler((job) => job.data));
    close = () => q.close(10000);
  } else {
    throw new Error(`unknown system ${cfg.system}`);
  }
  process.on('message', async (m) => {
    if (!m || m.type !== 'stop') return;
    try { await close(); } catch (e) { process.stderr.write(`close: ${e.message}\n`); }
    process.send({ type: 'stopped', processed, failed, lat }, () => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
}

main().catch((e) => {
  process.stderr.write(`peer_worker: ${e.stack || e}\n`);
  process.exit(1);
});
