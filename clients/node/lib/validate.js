/*
 * validate.js - one job to enqueue (the arguments of enqueue(), or one
 * object of enqueueMany()) -> the stream entry's fields and how to send
 * them, under the rules of docs/protocol.md and `jobrt enqueue`
 * (runtime/queue/enqueue_parse.c, runtime/core/envelope.c). Nothing here
 * talks to Redis: a bad argument throws a TypeError (wrong type, options
 * that exclude each other) or a RangeError (a value out of its range),
 * whose message names the argument.
 */
'use strict';

const MAX_NAME = 128;
const MAX_ID = 128;
const MAX_VERSION = 2147483647;
const MAX_ATTEMPTS = 1000;
const MAX_TIMEOUT_MS = 86400000; /* 24 h */
const MAX_DURATION_MS = 366 * 86400000; /* 366 days */
const DEFAULT_WINDOW_MS = 86400000; /* --dedupe-window's default, 24 h */
const MAX_DEPTH = 64; /* the worker's JSON nesting limit */

const NAME_RE = /^[A-Za-z0-9_.:/-]+$/;
const ID_RE = /^[\x21-\x7e]+$/; /* printable ASCII, no space */
const LONE_SURROGATE_RE = /[\uD800-\uDFFF]/u; /* pairs are one code point */

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

/* A duration in ms, minMs to 366 days. */
function checkDuration(what, value, minMs) {
  return checkInt(what, value, minMs, MAX_DURATION_MS, 'ms, at most 366 days');
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
  if (typeof value !== 'number')
    throw new TypeError(`${what} must be a Date or ms since the Unix ` +
      `epoch, got ${kindOf(value)}`);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${what} must be a whole number of ms since the ` +
      `Unix epoch (>= 0), got ${value}`);
  return value;
}

/* Depth and strings of a parsed JSON value, as the worker's json_check
 * sees them: at most 64 nested containers, no lone surrogate (which would
 * be a lone \uD800-style escape or invalid UTF-8 on the wire). */
function checkParsed(what, value, depth) {
  if (typeof value === 'string') {
    if (LONE_SURROGATE_RE.test(value))
      throw new RangeError(`${what} has a string with a lone UTF-16 ` +
        'surrogate (not valid UTF-8)');
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (depth >= MAX_DEPTH)
    throw new RangeError(`${what} is nested more than ${MAX_DEPTH} deep`);
  if (Array.isArray(value)) {
    for (const v of value) checkParsed(what, v, depth + 1);
    return;
  }
  for (const k of Object.keys(value)) {
    checkParsed(what, k, depth + 1);
    checkParsed(what, value[k], depth + 1);
  }
}

/* JSON text given as is: checked, returned unchanged. */
function checkJsonText(what, text) {
  if (typeof text !== 'string')
    throw new TypeError(`${what} must be a string of JSON text, got ` +
      kindOf(text));
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new RangeError(`${what} is not valid JSON: ${e.message}`);
  }
  checkParsed(what, parsed, 0);
  return text;
}

/* Any JSON-able value -> its compact JSON text. */
function payloadText(what, value) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new TypeError(`${what} cannot be serialized as JSON: ${e.message}`);
  }
  if (typeof text !== 'string')
    throw new TypeError(`${what} cannot be serialized as JSON (got ` +
      `${kindOf(value)})`);
  return checkJsonText(what, text);
}

/*
 * The options each API takes: canonical name -> the name the caller uses.
 * enqueue() takes camelCase options beside its positional job, version and
 * payload; enqueueMany() takes the snake_case keys of an NDJSON line
 * (docs/protocol.md), with the same value types as enqueue().
 */
const ENQUEUE_OPTIONS = {
  id: 'id', correlationId: 'correlationId', maxAttempts: 'maxAttempts',
  timeout: 'timeout', delay: 'delay', at: 'at', expiresIn: 'expiresIn',
  expiresAt: 'expiresAt', key: 'key', dedupeWindow: 'dedupeWindow',
  payloadJson: 'payloadJson',
};
const MANY_KEYS = {
  job: 'job', version: 'v', payload: 'payload', payloadJson: 'payload_json',
  id: 'id', correlationId: 'correlation_id', maxAttempts: 'max_attempts',
  timeout: 'timeout', timeoutMs: 'timeout_ms', delay: 'delay', at: 'at',
  notBefore: 'not_before', expiresIn: 'expires_in', expiresAt: 'expires_at',
  key: 'key', idempotencyKey: 'idempotency_key',
  dedupeWindow: 'dedupe_window', enqueuedAt: 'enqueued_at',
};
const WORKER_FIELDS = ['attempt', 'last_error'];

/* Sorts a plain object's own keys into canonical names (null and
 * undefined values are left out, as in NDJSON; a payload of null is kept).
 * Throws on a key the API does not take. */
function collect(obj, table, where, into) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    throw new TypeError(`${where} must be an object, got ${kindOf(obj)}`);
  const byName = new Map(Object.entries(table).map(([c, n]) => [n, c]));
  for (const name of Object.keys(obj)) {
    const canonical = byName.get(name);
    if (canonical === undefined) {
      if (WORKER_FIELDS.includes(name))
        throw new TypeError(`${where}: '${name}' is set by the worker, not ` +
          'by producers');
      throw new TypeError(`${where}: unknown ${table === MANY_KEYS ? 'key'
        : 'option'} ${shown(name)}; known: ${Object.values(table).join(', ')}`);
    }
    const v = obj[name];
    if (canonical === 'payload' ? v !== undefined : v != null)
      into[canonical] = v;
  }
  return into;
}

/*
 * Builds one job. `spec` has canonical names; `names` maps them to what
 * the caller wrote; `where` prefixes every message ('' or 'jobs[3]: ').
 * Returns {fields, scripted, delayMs, atMs, windowMs, id, key}: fields is
 * the flat [name, value, ...] list of the stream entry in the CLI's order.
 */
function buildJob(spec, names, where, nowMs) {
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
  both('notBefore', 'delay');
  both('notBefore', 'at');
  both('expiresIn', 'expiresAt');
  both('key', 'idempotencyKey');
  both('timeout', 'timeoutMs');

  const job = checkName(n('job'), spec.job);
  const version = checkInt(n('version'), spec.version, 0, MAX_VERSION,
    'the payload schema version');
  const payload = spec.payloadJson !== undefined
    ? checkJsonText(n('payloadJson'), spec.payloadJson)
    : payloadText(n('payload'), spec.payload);
  const out = { fields: ['job', job, 'v', String(version), 'payload',
    payload] };
  const add = (field, value) => { out.fields.push(field, String(value)); };

  if (spec.id !== undefined) add('id', checkId(n('id'), spec.id));
  if (spec.correlationId !== undefined)
    add('correlation_id', checkId(n('correlationId'), spec.correlationId));
  if (spec.maxAttempts !== undefined)
    add('max_attempts', checkInt(n('maxAttempts'), spec.maxAttempts, 1,
      MAX_ATTEMPTS));
  const timeoutName = spec.timeoutMs !== undefined ? 'timeoutMs' : 'timeout';
  if (spec[timeoutName] !== undefined)
    add('timeout_ms', checkInt(n(timeoutName), spec[timeoutName], 1,
      MAX_TIMEOUT_MS, 'ms'));
  add('enqueued_at', spec.enqueuedAt !== undefined
    ? checkTime(n('enqueuedAt'), spec.enqueuedAt) : nowMs);
  let notBefore;
  if (spec.notBefore !== undefined) {
    notBefore = checkTime(n('notBefore'), spec.notBefore);
    add('not_before', notBefore);
  }
  if (spec.expiresIn !== undefined)
    add('expires_at', nowMs + checkDuration(n('expiresIn'), spec.expiresIn,
      1));
  if (spec.expiresAt !== undefined)
    add('expires_at', checkTime(n('expiresAt'), spec.expiresAt));
  const keyName = spec.idempotencyKey !== undefined ? 'idempotencyKey'
    : 'key';
  out.key = spec[keyName] !== undefined ? checkId(n(keyName), spec[keyName])
    : null;
  if (out.key !== null) add('idempotency_key', out.key);
  if (spec.dedupeWindow !== undefined && out.key === null)
    throw new TypeError(`${n('dedupeWindow')} needs ${names.key}` +
      (names.idempotencyKey ? ` (or ${names.idempotencyKey})` : ''));

  out.delayMs = spec.delay !== undefined
    ? checkDuration(n('delay'), spec.delay, 0) : null;
  out.atMs = spec.at !== undefined ? checkTime(n('at'), spec.at)
    : notBefore !== undefined ? notBefore : null;
  out.windowMs = spec.dedupeWindow !== undefined
    ? checkDuration(n('dedupeWindow'), spec.dedupeWindow, 1)
    : DEFAULT_WINDOW_MS;
  out.scripted = out.delayMs !== null || out.atMs !== null ||
    out.key !== null;
  out.id = spec.id !== undefined ? spec.id : null;
  return out;
}

/* enqueue(queue, job, version, payload, options) -> a built job. */
function fromArgs(job, version, payload, options, nowMs) {
  const spec = collect(options === undefined ? {} : options, ENQUEUE_OPTIONS,
    'options', {});
  spec.job = job;
  spec.version = version;
  if (payload !== undefined) spec.payload = payload;
  const names = Object.assign({ job: 'job', version: 'version',
    payload: 'payload' }, ENQUEUE_OPTIONS);
  return buildJob(spec, names, '', nowMs);
}

/* One object of enqueueMany(queue, jobs) -> a built job. */
function fromObject(obj, index, nowMs) {
  const where = `jobs[${index}]`;
  const spec = collect(obj, MANY_KEYS, where, {});
  return buildJob(spec, MANY_KEYS, where + ': ', nowMs);
}

module.exports = {
  checkName, checkId, checkInt, fromArgs, fromObject,
  MAX_ID, DEFAULT_WINDOW_MS, MAX_DURATION_MS,
};
