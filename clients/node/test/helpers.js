/*
 * helpers.js - what the tests share: a private redis-server on a unix
 * socket in a fresh temp dir (started per test file, stopped after it),
 * a raw ioredis connection to look at keys with, and polling with a
 * deadline.
 */
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

let Redis;
try {
  Redis = require('ioredis');
} catch (e) {
  throw new Error('ioredis is not installed: run `npm ci --prefix ' +
    'clients/node` (from the repository root) first');
}

/* Polls fn until it returns a truthy value; throws after timeoutMs. */
async function waitFor(what, timeoutMs, fn) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/* Waits for a child process to exit -> {code, signal}. */
function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit',
    (code, signal) => resolve({ code, signal })));
}

/* Starts redis-server -> {dir, socket, url, raw, stop()}. */
async function startRedis() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrt-node-'));
  const socket = path.join(dir, 'redis.sock');
  const log = path.join(dir, 'redis.log');
  const child = spawn('redis-server', ['--port', '0', '--unixsocket', socket,
    '--unixsocketperm', '700', '--save', '', '--appendonly', 'no',
    '--dir', dir, '--logfile', log], { stdio: 'ignore' });
  let spawnError = null;
  child.once('error', (e) => { spawnError = e; });
  await waitFor('redis-server to create its socket', 10000, () => {
    if (spawnError)
      throw new Error(`redis-server did not start: ${spawnError.message}`);
    if (child.exitCode !== null)
      throw new Error(`redis-server exited ${child.exitCode}; see ${log}`);
    return fs.existsSync(socket);
  });
  const raw = new Redis({ path: socket });
  await waitFor('redis-server to answer PING', 10000,
    async () => (await raw.ping()) === 'PONG');
  return {
    dir, socket, url: `unix://${socket}`, raw,
    async stop() {
      raw.disconnect();
      child.kill('SIGTERM');
      await exited(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/* A stream entry's [k, v, ...] as an object. */
function entryFields(flat) {
  const out = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
}

/* Adds a dead letter as a worker would: the job's fields, then dlq_*. */
async function addDeadLetter(raw, key, fields, reason, extra) {
  const all = Object.assign({}, fields, { dlq_reason: reason,
    dlq_error: `dead as ${reason}`, dlq_worker: 'test-1',
    dlq_at: String(Date.now()), dlq_source_id: '1-1' }, extra || {});
  return raw.xadd(key, '*', ...Object.entries(all).flat());
}

module.exports = { Redis, startRedis, waitFor, exited, entryFields,
  addDeadLetter };
