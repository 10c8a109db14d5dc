/*
 * client.js - the jobrt producer Client: enqueue jobs (one, or many
 * pipelined), read outcome records, list and retry dead letters, over
 * ioredis, exactly as docs/protocol.md ("jobrt wire format v1") and the
 * `jobrt` CLI do. A job with a delay, a due time or an idempotency key goes
 * through the runtime's own ENQUEUE script (lua/enqueue.lua, a byte-for-
 * byte copy of runtime/queue/scripts_cli.c); any other is one XADD.
 */
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const { connect } = require('./connect');
const validate = require('./validate');
const dlq = require('./dlq');
const records = require('./records');

const BATCH = 1000; /* jobs per round trip, as `jobrt enqueue` */
const WAIT_FIRST_MS = 50;
const WAIT_MAX_MS = 500;

/* A Lua script of the runtime: its text and SHA-1, read once. */
function script(name) {
  const text = fs.readFileSync(path.join(__dirname, '..', 'lua', name),
    'utf8');
  return { name, text, sha: crypto.createHash('sha1').update(text)
    .digest('hex') };
}
const SCRIPTS = {
  enqueue: script('enqueue.lua'),
  dlqRetry: script('dlq_retry.lua'),
};

function isNoScript(err) {
  return err instanceof Error && /^NOSCRIPT/.test(err.message);
}

class Client {
  /*
   * new Client({redis, namespace, redisOptions, maxPayload}) or new
   * Client(url): redis is a URL (default redis://127.0.0.1:6379) or an
   * ioredis client of the caller's (never closed by close()); maxPayload
   * the largest payload sent, in bytes (default 1 MiB, the worker's
   * --max-payload default; 0: no limit).
   */
  constructor(options) {
    const opts = typeof options === 'string' ? { redis: options }
      : options === undefined ? {} : options;
    if (opts === null || typeof opts !== 'object')
      throw new TypeError('new Client(): expected an options object or a ' +
        'redis URL');
    for (const k of Object.keys(opts))
      if (!['redis', 'namespace', 'redisOptions', 'maxPayload'].includes(k))
        throw new TypeError(`new Client(): unknown option '${k}'`);
    this.namespace = validate.checkName('namespace',
      opts.namespace === undefined ? 'jobrt' : opts.namespace);
    this.maxPayload = validate.checkMaxPayload(opts.maxPayload);
    const { redis, owned } = connect(opts.redis, opts.redisOptions);
    this.redis = redis;
    this._owned = owned;
    this._loaded = new Set(); /* names of scripts SCRIPT LOADed */
    this._idBase = crypto.randomBytes(4).readUInt32BE(0);
    this._idSeq = 0;
  }

  /* Closes the connection if this client opened it. */
  async close() {
    if (this._owned && this.redis.status !== 'end') {
      try {
        await this.redis.quit();
      } catch (e) {
        this.redis.disconnect();
      }
    }
  }

  /* The key of `what` in queue q (validated). */
  _key(queue, what) {
    validate.checkName('queue', queue);
    return `${this.namespace}:{${queue}}:${what}`;
  }

  async enqueue(queue, job, version, payload, options) {
    this._key(queue, 'stream');
    const built = validate.fromArgs(job, version, payload, options,
      Date.now(), this.maxPayload);
    const [result] = await this._send(queue, [built]);
    return result;
  }

  async enqueueMany(queue, jobs) {
    this._key(queue, 'stream');
    if (!Array.isArray(jobs))
      throw new TypeError('jobs must be an array of job objects');
    const now = Date.now();
    const built = jobs.map((j, i) => validate.fromObject(j, i, now,
      this.maxPayload));
    return this._send(queue, built);
  }

  /* The outcome record of job id, parsed, or null while there is none. */
  async status(queue, id) {
    const key = this._key(queue, 'job:') + validate.checkId('id', id);
    return records.get(this.redis, key, this._key(queue, 'done'), queue, id);
  }

  /* Polls status() (50 ms, rising to 500 ms) until the record exists;
   * rejects with an Error named 'TimeoutError' after timeout ms. */
  async wait(queue, id, timeout = 30000) {
    validate.checkInt('timeout', timeout, 0, 2147483647, 'ms');
    const deadline = Date.now() + timeout;
    let interval = WAIT_FIRST_MS;
    for (;;) {
      const record = await this.status(queue, id);
      if (record !== null) return record;
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise((r) => setTimeout(r, Math.min(interval, left)));
      interval = Math.min(WAIT_MAX_MS, Math.round(interval * 1.5));
    }
    const err = new Error(`job ${id} of queue ${queue} has no outcome ` +
      `record after ${timeout} ms`);
    err.name = 'TimeoutError';
    throw err;
  }

  async dlqList(queue, options) {
    return dlq.list(this.redis, this._key(queue, 'dlq'), options);
  }

  async dlqRetry(queue, entryIds) {
    const keys = [this._key(queue, 'dlq'), this._key(queue, 'stream')];
    return dlq.retry(entryIds, (ids) =>
      this._evalOne(SCRIPTS.dlqRetry, keys, ids));
  }

  /* ---- sending ---------------------------------------------------------- */

  /* Loads the script once per client (SCRIPT LOAD), as the CLI does. */
  async _load(s) {
    if (this._loaded.has(s.name)) return;
    const sha = await this.redis.script('LOAD', s.text);
    if (sha !== s.sha)
      throw new Error(`SCRIPT LOAD of ${s.name} answered ${sha}, not its ` +
        `SHA-1 ${s.sha}`);
    this._loaded.add(s.name);
  }

  /* One EVALSHA, once more as EVAL if Redis lost the script. */
  async _evalOne(s, keys, args) {
    await this._load(s);
    try {
      return await this.redis.evalsha(s.sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (!isNoScript(e)) throw e;
      this._loaded.delete(s.name);
      return this.redis.eval(s.text, keys.length, ...keys, ...args);
    }
  }

  /* A generated id like the CLI's: <ms>-<8 hex digits>. */
  _newId() {
    const n = (this._idBase + this._idSeq++) >>> 0;
    return `${Date.now()}-${n.toString(16).padStart(8, '0')}`;
  }

  /* The command of one built job: [name, ...args]. */
  _command(queue, b) {
    if (!b.scripted) return ['xadd', this._key(queue, 'stream'), '*',
      ...b.fields];
    if (b.id === null) {
      b.id = this._newId();
      b.fields.push('id', b.id);
    }
    const keys = [this._key(queue, 'stream'), this._key(queue, 'delayed'),
      this._key(queue, 'seq')];
    if (b.key !== null) keys.push(this._key(queue, 'idem:') + b.key);
    return [keys.length, ...keys, String(b.delayMs || 0),
      String(b.atMs || 0), String(b.windowMs), b.id, ...b.fields];
  }

  /* Sends built jobs pipelined, BATCH per round trip -> results in input
   * order. A Redis error is thrown (the first of its batch), after the
   * batch's other replies are read; err.results then holds what is known:
   * a result per job enqueued, null for the others. */
  async _send(queue, built) {
    const results = new Array(built.length).fill(null);
    for (let from = 0; from < built.length; from += BATCH) {
      const batch = built.slice(from, from + BATCH);
      if (batch.some((b) => b.scripted)) await this._load(SCRIPTS.enqueue);
      const cmds = batch.map((b) => this._command(queue, b));
      let replies = await this._pipeline(cmds, batch, SCRIPTS.enqueue.sha);
      const lost = replies.map((r, i) => (isNoScript(r[0]) ? i : -1))
        .filter((i) => i >= 0);
      if (lost.length) { /* the script cache was flushed: EVAL those */
        this._loaded.delete(SCRIPTS.enqueue.name);
        const again = await this._pipeline(lost.map((i) => cmds[i]),
          lost.map((i) => batch[i]), null);
        replies = replies.slice();
        lost.forEach((i, k) => { replies[i] = again[k]; });
      }
      let firstErr = null;
      replies.forEach(([err, reply], i) => {
        if (err) {
          firstErr = firstErr || err;
          return;
        }
        results[from + i] = this._result(batch[i], reply);
      });
      if (firstErr) {
        firstErr.results = results;
        throw firstErr;
      }
    }
    return results;
  }

  /* One pipeline of commands; scripted ones as EVALSHA sha, or as EVAL of
   * the text when sha is null. -> [[err, reply], ...]. */
  async _pipeline(cmds, batch, sha) {
    const p = this.redis.pipeline();
    cmds.forEach((c, i) => {
      if (!batch[i].scripted) p.xadd(...c.slice(1));
      else if (sha) p.evalsha(sha, ...c);
      else p.eval(SCRIPTS.enqueue.text, ...c);
    });
    return p.exec();
  }

  _result(b, reply) {
    if (!b.scripted) {
      if (typeof reply !== 'string')
        throw new Error(`unexpected reply to XADD: ${JSON.stringify(reply)}`);
      return { id: b.id !== null ? b.id : reply, created: true };
    }
    if (!Array.isArray(reply) || reply.length !== 2 ||
        typeof reply[1] !== 'string')
      throw new Error('unexpected reply from the ENQUEUE script: ' +
        JSON.stringify(reply));
    return { id: reply[1], created: Number(reply[0]) === 1 };
  }
}

module.exports = { Client, SCRIPTS };
