/*
 * connect.test.js - a Redis that cannot be reached: a command on a
 * connection the client opened rejects within about a second (not
 * ioredis's twenty reconnects), and stderr gets one line naming the URL,
 * its password redacted, instead of a stack trace per attempt.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const path = require('node:path');
const { execFile } = require('node:child_process');

/* A TCP port nothing listens on: bound, then closed. */
function deadPort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

test('an unreachable Redis fails fast with one line naming it', async () => {
  const port = await deadPort();
  const script = `
    const { Client } = require(${JSON.stringify(path.join(__dirname, '..'))});
    (async () => {
      const c = new Client('redis://:secret@127.0.0.1:${port}');
      const t = Date.now();
      try { await c.enqueue('q', 'j', 1, {}); console.log('sent'); }
      catch (e) { console.log(e.name, Date.now() - t); }
      await c.close();
    })();`;
  const { stdout, stderr } = await new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { timeout: 20000 },
      (err, out, errOut) => (err ? reject(err) : resolve({ stdout: out, stderr: errOut })));
  });
  const [name, ms] = stdout.trim().split(' ');
  assert.equal(name, 'MaxRetriesPerRequestError', stdout);
  assert.ok(Number(ms) < 3000, `rejected after ${ms} ms`);
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0],
    new RegExp(`^jobrt-client: redis redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`));
  assert.ok(!stderr.includes('secret'), stderr);
});
