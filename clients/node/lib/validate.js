/*
 * validate.js - one job to enqueue (the arguments of enqueue(), or one
 * object of enqueueMany()) -> the stream entry's fields and how to send
 * them, under the rules of docs/protocol.md and `jobrt enqueue`
 * (runtime/queue/enqueue_parse.c, runtime/core/envelope.c). Both take the
 * same option names and values (durations in ms, times a Date or epoch
 * ms); the snake_case keys of an NDJSON line are refused naming the
 * option to use, since an NDJSON number of seconds would silently be ms
 * here. Nothing here talks to Redis: a bad argument throws a TypeError
 * (wrong type, options that exclude each other) or a RangeError (a value
 * out of its range), whose message names the argument.
 */
'use strict';

const payload = require('./payload');

const MAX_NAME = 128;
const MAX_ID = 128;
const MAX_VERSION = 2147483647;
const MAX_ATTEMPTS = 1000;
const MAX_TIMEOUT_MS = 86400000; /* 24 h */
const MAX_DURATION_MS = 366 * 86400000; /* 366 days */
const DEFAULT_WINDOW_MS = 86400000; /* --dedupe-window's default, 24 h */

const NAME_RE = /^[A-Za-z0-9_.:/-]+$/;
const ID_RE = /^[\x21-\x7e]+$/; /* printable ASCII, no space */
const DURATION_RE = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000 };

/* Up to 64 characters of a value, quoted, for an error message. */
function shown(value) {
  let s;
  try {
    s = typeof value === 'string' ? value : String(value);
  } catch (e) {
    s = Object.prototype.toString.call(value);
  }
  if (s.length > 64) s = s.slice(0, 64) + '...';
  return JSON.stringify(s);
}

function kindOf(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a Date';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function checkName(what, value) {
  if (typeof value !== 'string')
    throw new TypeError(`${what} must be a string, got ${kindOf(value)}`);
  if (value.length < 1 || value.length > MAX_NAME || !NAME_RE.test(value))
    throw new RangeError(`${what} must be 1-${MAX_NAME} characters of ` +
      `[A-Za-z0-9_.:/-], got ${shown(value)}`);
  return value;
}

function checkId(what, value) {
  if (typeof value !== 'string')
    throw new TypeError(`${what} must be a string, got ${kindOf(value)}`);
  if (value.length < 1 || value.length > MAX_ID || !ID_RE.test(value))
    throw new RangeError(`${what} must be 1-${MAX_ID} printable ASCII ` +
      `characters without spaces, got ${shown(value)}`);
  return value;
}

/* An integer lo..hi; `unit` says what it counts, for the message. */
function checkInt(what, value, lo, hi, unit) {
  const range = `an integer ${lo}-${hi}${unit ? ' (' + unit + ')' : ''}`;
  if (typeof value !== 'number')
    throw new TypeError(`${what} must be ${range}, got ${kindOf(value)}`);
  if (!Number.isInteger(value) || value < lo || value > hi)
    throw new RangeError(`${what} must be ${range}, got ${value}`);
  return value;
}

/* A duration string ("30s", or "30": seconds in NDJSON) refused, with
 * the ms number it means there. */
function durationString(what, value) {
  const m = DURATION_RE.exec(value);
  let hint = '';
  if (m) {
    const ms = Math.round(Number(m[1]) * UNIT_MS[m[2] || 's']);
    const asMs = Number(m[1]);
    hint = m[2] ? `: write ${ms}` : `: write ${ms} if seconds were meant ` +
      '(as NDJSON reads it)' +
      (Number.isInteger(asMs) ? `, or the number ${asMs} for ms` : '');
  }
  return new TypeError(`${what} must be a number of ms, not the string ` +
    `${shown(value)}; this client takes no duration strings${hint}`);
}

/* A duration in ms, minMs to maxMs (default 366 days). */
function checkDuration(what, value, minMs, maxMs = MAX_DURATION_MS) {
  if (typeof value === 'string') throw durationString(what, value);
  return checkInt(what, value, minMs, maxMs,
    maxMs === MAX_DURATION_MS ? 'ms, at most 366 days' : 'ms');
}

/* An `at` of 1 to below this many ms (before March 1973) is surely
 * seconds: refused, as `jobrt enqueue --at` refuses it, not run at once. */
const AT_MIN_MS = 100000000000;

/* `at`: checkTime, but a number that looks like seconds is refused. */
function checkDue(what, value) {
  const ms = checkTime(what, value);
  if (!(value instanceof Date) && ms > 0 && ms < AT_MIN_MS)
    throw new RangeError(`${what} is ${ms}: that looks like seconds since ` +
      `the Unix epoch; ${what} takes ms (${ms}000) or a Date`);
  return ms;
}

/* A point in time: a Date or ms since the Unix epoch -> ms. */
function checkTime(what, value) {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`${what} must be a valid Date at or after 1970, ` +
        `got ${shown(value)}`);
    return ms;
  }
  if (typeof value === 'string')
    throw new TypeError(`${what} must be a Date or ms since the Unix ` +
      `epoch (a number), not the string ${shown(value)}: give ` +
      `new Date(${shown(value)}) or Date.parse(...)`);
  if (typeof value !== 'number')
    throw new TypeError(`${what} must be a Date or ms since the Unix ` +
      `epoch, got ${kindOf(value)}`);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${what} must be a whole number of ms since the ` +
      `Unix epoch (>= 0), got ${value}`);
  return value;
}

/*
 * The options of enqueue(); a job of enqueueMany() has the same keys plus
 * job, v and payload. Canonical name -> the name the caller writes.
 */
const ENQUEUE_OPTIONS = {
  id: 'id', correlationId: 'correlationId', maxAttempts: 'maxAttempts',
  timeout: 'timeout', delay: 'delay', at: 'at', expiresIn: 'expiresIn',
  expiresAt: 'expiresAt', key: 'key', dedupeWindow: 'dedupeWindow',
  payloadJson: 'payloadJson',
};
const MANY_KEYS = Object.assign({ job: 'job', version: 'v',
  payload: 'payload' }, ENQUEUE_OPTIONS);

/*
 * The keys of an NDJSON line (docs/protocol.md) that are not this client's
 * names, each refused with the one to use. The keys both share (job, v,
 * payload, id, key, delay, at) mean the same here but for units: delay is
 * ms here (in NDJSON a number is seconds) and at takes no strings; an
 * NDJSON duration string ("30s") is refused by every duration option.
 */
const NDJSON_KEYS = {
  payload_json: 'use payloadJson',
  correlation_id: 'use correlationId',
  max_attempts: 'use maxAttempts',
  timeout_ms: 'use timeout (ms)',
  expires_in: 'use expiresIn (ms; an NDJSON number is seconds)',
  expires_at: 'use expiresAt (a Date or epoch ms)',
  dedupe_window: 'use dedupeWindow (ms; an NDJSON number is seconds)',
  not_before: 'use at (a Date or epoch ms)',
  idempotency_key: 'use key',
  enqueued_at: 'enqueued_at is set from the client\'s clock',
};
const WORKER_FIELDS = ['attempt', 'last_error'];

/* Sorts a plain object's own keys into canonical names (null and
 * undefined values are left out, as in NDJSON; a payload of null is kept).
 * Throws on a key the API does not take. */
function collect(obj, table, where, into) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    throw new TypeError(`${where} must be an object, got ${kindOf(obj)}`);
  const byName = new Map(Object.entries(table).map(([c, n]) => [n, c]));
  const many = table === MANY_KEYS;
  for (const name of Object.keys(obj)) {
    const canonical = byName.get(name);
    if (canonical === undefined) {
      if (WORKER_FIELDS.includes(name))
        throw new TypeError(`${where}: '${name}' is set by the worker, not ` +
          'by producers');
      if (Object.prototype.hasOwnProperty.call(NDJSON_KEYS, name))
        throw new TypeError(`${where}: '${name}' is an NDJSON key; ` +
          (many ? 'enqueueMany() takes enqueue()\'s option names'
            : 'options are camelCase') + `: ${NDJSON_KEYS[name]}`);
      if (many && name === 'version')
        throw new TypeError(`${where}: 'version' is 'v' in a job object`);
      if (!many && ['job', 'v', 'version', 'payload'].includes(name))
        throw new TypeError(`${where}: '${name}' is an argument of ` +
          'enqueue(queue, job, version, payload, options), not an option');
      throw new TypeError(`${where}: unknown ${many ? 'key' : 'option'} ` +
        `${shown(name)}; known: ${Object.values(table).join(', ')}`);
    }
    const v = obj[name];
    if (canonical === 'payload' ? v !== undefined : v != null)
      into[canonical] = v;
  }
  return into;
}

/*
 * Builds one job. `spec` has canonical names; `names` maps them to what
 * the caller wrote; `where` prefixes every message ('' or 'jobs[3]: ');
 * a payload over maxPayload bytes (0: no limit) is refused. Returns
 * {fields, scripted, delayMs, atMs, windowMs, id, key}: fields is the flat
 * [name, value, ...] list of the stream entry in the CLI's order.
 */
function buildJob(spec, names, where, nowMs, maxPayload) {
  const n = (c) => where + names[c];
  const both = (a, b) => {
    if (spec[a] !== undefined && spec[b] !== undefined)
      throw new TypeError(`${n(a)} and ${names[b]} both given: give one ` +
        'of them');
  };
  if (spec.job === undefined) throw new TypeError(`${n('job')} is missing`);
  if (spec.version === undefined)
    throw new TypeError(`${n('version')} is missing (the payload schema ` +
      'version)');
  both('payload', 'payloadJson');
  if (spec.payload === undefined && spec.payloadJson === undefined)
    throw new TypeError(`${n('payload')} is missing (or give ` +
      `${names.payloadJson})`);
  both('delay', 'at');
  both('expiresIn', 'expiresAt');

  const job = checkName(n('job'), spec.job);
  const version = checkInt(n('version'), spec.version, 0, MAX_VERSION,
    'the payload schema version');
  let text;
  if (spec.payloadJson !== undefined) {
    if (typeof spec.payloadJson !== 'string')
      throw new TypeError(`${n('payloadJson')} must be a string of JSON ` +
        `text, got ${kindOf(spec.payloadJson)}`);
    text = payload.checkJsonText(n('payloadJson'), spec.payloadJson,
      maxPayload);
  } else {
    text = payload.payloadText(n('payload'), spec.payload, maxPayload);
  }
  const out = { fields: ['job', job, 'v', String(version), 'payload',
    text] };
  const add = (field, value) => { out.fields.push(field, String(value)); };

  if (spec.id !== undefined) add('id', checkId(n('id'), spec.id));
  if (spec.correlationId !== undefined)
    add('correlation_id', checkId(n('correlationId'), spec.correlationId));
  if (spec.maxAttempts !== undefined)
    add('max_attempts', checkInt(n('maxAttempts'), spec.maxAttempts, 1,
      MAX_ATTEMPTS));
  if (spec.timeout !== undefined)
    add('timeout_ms', checkDuration(n('timeout'), spec.timeout, 1,
      MAX_TIMEOUT_MS));
  add('enqueued_at', nowMs);
  if (spec.expiresIn !== undefined)
    add('expires_at', nowMs + checkDuration(n('expiresIn'), spec.expiresIn,
      1));
  if (spec.expiresAt !== undefined)
    add('expires_at', checkTime(n('expiresAt'), spec.expiresAt));
  out.key = spec.key !== undefined ? checkId(n('key'), spec.key) : null;
  if (out.key !== null) add('idempotency_key', out.key);
  if (spec.dedupeWindow !== undefined && out.key === null)
    throw new TypeError(`${n('dedupeWindow')} needs ${names.key}`);

  out.delayMs = spec.delay !== undefined
    ? checkDuration(n('delay'), spec.delay, 0) : null;
  out.atMs = spec.at !== undefined ? checkDue(n('at'), spec.at) : null;
  out.windowMs = spec.dedupeWindow !== undefined
    ? checkDuration(n('dedupeWindow'), spec.dedupeWindow, 1)
    : DEFAULT_WINDOW_MS;
  out.scripted = out.delayMs !== null || out.atMs !== null ||
    out.key !== null;
  out.id = spec.id !== undefined ? spec.id : null;
  return out;
}

/* enqueue(queue, job, version, payload, options) -> a built job. */
function fromArgs(job, version, payloadValue, options, nowMs, maxPayload) {
  const spec = collect(options === undefined ? {} : options, ENQUEUE_OPTIONS,
    'options', {});
  spec.job = job;
  spec.version = version;
  if (payloadValue !== undefined) spec.payload = payloadValue;
  const names = Object.assign({ job: 'job', version: 'version',
    payload: 'payload' }, ENQUEUE_OPTIONS);
  return buildJob(spec, names, '', nowMs, maxPayload);
}

/* One object of enqueueMany(queue, jobs) -> a built job. */
function fromObject(obj, index, nowMs, maxPayload) {
  const where = `jobs[${index}]`;
  const spec = collect(obj, MANY_KEYS, where, {});
  return buildJob(spec, MANY_KEYS, where + ': ', nowMs, maxPayload);
}

/* The maxPayload option of new Client(): bytes, 0 (no limit) to 512 MiB. */
function checkMaxPayload(value) {
  if (value === undefined || value === null)
    return payload.DEFAULT_MAX_PAYLOAD;
  return checkInt('maxPayload', value, 0, payload.MAX_PAYLOAD_LIMIT,
    'bytes; 0: no limit');
}

module.exports = {
  checkName, checkId, checkInt, checkDuration, checkMaxPayload, fromArgs,
  fromObject, MAX_ID, DEFAULT_WINDOW_MS, MAX_DURATION_MS,
};
