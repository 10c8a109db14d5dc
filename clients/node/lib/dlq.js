/*
 * dlq.js - the dead-letter stream of a queue (NS:{Q}:dlq), as `jobrt dlq
 * list` and `jobrt dlq retry` read and change it (runtime/queue/dlq.c):
 * newest first, filtered by reason and job name, a bounded number of
 * entries scanned per call; retry through the runtime's DLQ_RETRY script
 * (lua/dlq_retry.lua), 100 entry ids per call.
 */
'use strict';

const validate = require('./validate');

const PAGE = 500;          /* entries per XREVRANGE, as the CLI */
const MAX_SCANNED = 10000; /* entries read per dlqList() call at most */
const MAX_COUNT = 10000;
const RETRY_CHUNK = 100;   /* entry ids per DLQ_RETRY call, as the CLI */
const ENTRY_ID_RE = /^\d{1,20}-\d{1,20}$/;

/* A stream entry's [k, v, k, v, ...] -> an object of its fields (the
 * first of a repeated name wins, as in the runtime's dlq_field). */
function fieldsOf(flat) {
  const out = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if (Object.prototype.hasOwnProperty.call(out, flat[i])) continue;
    /* defineProperty: a field named __proto__ is a field, too */
    Object.defineProperty(out, flat[i], { value: flat[i + 1],
      enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function intOrNull(s, max) {
  if (typeof s !== 'string' || !/^\d{1,16}$/.test(s)) return null;
  const n = Number(s);
  return n <= max ? n : null;
}

function field(f, name) {
  return Object.prototype.hasOwnProperty.call(f, name) ? f[name] : null;
}

/* One entry [id, [k, v, ...]] -> a DeadLetter. */
function deadLetter(entryId, flat) {
  const f = fieldsOf(flat);
  const jobId = field(f, 'id');
  return {
    entryId,
    jobId: jobId !== null ? jobId : field(f, 'dlq_source_id'),
    job: field(f, 'job'),
    v: intOrNull(field(f, 'v'), 2147483647),
    reason: field(f, 'dlq_reason'),
    error: field(f, 'dlq_error'),
    worker: field(f, 'dlq_worker'),
    at: intOrNull(field(f, 'dlq_at'), Number.MAX_SAFE_INTEGER),
    fields: f,
  };
}

function listOptions(options) {
  const o = options === undefined ? {} : options;
  if (o === null || typeof o !== 'object')
    throw new TypeError('dlqList options must be an object');
  for (const k of Object.keys(o))
    if (!['reason', 'job', 'count'].includes(k))
      throw new TypeError(`dlqList: unknown option '${k}' (reason, job, ` +
        'count)');
  const out = { reason: null, job: null, count: 100 };
  if (o.reason != null) out.reason = validate.checkName('reason', o.reason);
  if (o.job != null) out.job = validate.checkName('job', o.job);
  if (o.count != null)
    out.count = validate.checkInt('count', o.count, 1, MAX_COUNT);
  return out;
}

/* Newest first: up to count dead letters matching reason and job, from at
 * most MAX_SCANNED entries. */
async function list(redis, dlqKey, options) {
  const o = listOptions(options);
  const found = [];
  let from = '+', scanned = 0;
  while (found.length < o.count && scanned < MAX_SCANNED) {
    const page = Math.min(PAGE, MAX_SCANNED - scanned);
    const entries = await redis.xrevrange(dlqKey, from, '-', 'COUNT', page);
    for (const [id, flat] of entries) {
      const f = fieldsOf(flat);
      if ((o.reason === null || field(f, 'dlq_reason') === o.reason) &&
          (o.job === null || field(f, 'job') === o.job)) {
        found.push(deadLetter(id, flat));
        if (found.length === o.count) break;
      }
    }
    scanned += entries.length;
    if (entries.length < page) break;
    from = '(' + entries[entries.length - 1][0];
  }
  return found;
}

/* evalChunk(ids) runs DLQ_RETRY on up to RETRY_CHUNK ids -> {moved, kept}. */
async function retry(entryIds, evalChunk) {
  if (!Array.isArray(entryIds))
    throw new TypeError('entryIds must be an array of dead-letter entry ids');
  entryIds.forEach((id, i) => {
    if (typeof id !== 'string')
      throw new TypeError(`entryIds[${i}] must be a string, got ` +
        typeof id);
    if (!ENTRY_ID_RE.test(id))
      throw new RangeError(`entryIds[${i}] must be a stream entry id like ` +
        `1700000000000-0 (as dlqList gives), got ${JSON.stringify(id)}`);
  });
  let moved = 0;
  const kept = [];
  for (let i = 0; i < entryIds.length; i += RETRY_CHUNK) {
    const reply = await evalChunk(entryIds.slice(i, i + RETRY_CHUNK));
    if (!Array.isArray(reply) || reply.length !== 2 ||
        !Array.isArray(reply[1]))
      throw new Error('unexpected reply from the DLQ_RETRY script: ' +
        JSON.stringify(reply));
    moved += Number(reply[0]);
    kept.push(...reply[1].map(String));
  }
  return { moved, kept };
}

module.exports = { list, retry, deadLetter, MAX_SCANNED };
