/*
 * records.js - outcome records as a reader finds them (docs/protocol.md,
 * "Outcome records"): a record key of its own (a dead or cancelled job),
 * or a compact succeeded record in one of the queue's record buckets,
 * expanded here into the same JSON object `jobrt status` prints.
 */
'use strict';

const MAX_BUCKETS = 4096; /* buckets looked in, newest first */

/* Where the JSON array at the start of s ends (the index after its ']'),
 * or -1: brackets are counted outside strings. */
function headEnd(s) {
  if (s[0] !== '[') return -1;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === '[' || c === '{') {
      depth++;
    } else if (c === ']' || c === '}') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/* The compact record's header, or null when it is not one of format 1. */
function parseHead(compact) {
  const end = headEnd(compact);
  if (end < 0) return null;
  let head;
  try {
    head = JSON.parse(compact.slice(0, end));
  } catch (e) {
    return null;
  }
  if (!Array.isArray(head) || head.length < 10 || head[0] !== 1) return null;
  return { head, rest: compact.slice(end) };
}

/* The full record of job id from its compact form and the JSON of the
 * build it names (null when the build table lacks it). */
function expand(compact, build, id, queue) {
  const bad = `the record of job ${id} is not a compact record of format 1`;
  const p = parseHead(compact);
  if (p === null) throw new SyntaxError(bad);
  let result = null;
  if (p.rest.length > 0) {
    try {
      result = JSON.parse(p.rest);
    } catch (e) {
      throw new SyntaxError(`${bad}: ${e.message}`);
    }
  }
  let b = null;
  try {
    b = build ? JSON.parse(build) : null;
  } catch (e) {
    b = null;
  }
  if (b === null || typeof b !== 'object' || Array.isArray(b)) b = null;
  const h = p.head;
  const fin = h[6];
  const moment = (d) => (Number.isInteger(fin) && Number.isInteger(d)
    ? fin - d : null);
  const record = { id, queue, job: h[2], v: h[3], status: 'succeeded',
    attempts: h[4], deliveries: h[5], reason: null, result, error: null };
  if (b !== null) {
    for (const f of ['plugin', 'plugin_version', 'build_id', 'sha256',
      'generation']) record[f] = f in b ? b[f] : null;
  }
  record.enqueued_at = moment(h[7]);
  record.dispatched_at = moment(h[8]);
  record.started_at = moment(h[9]);
  record.finished_at = fin;
  record.worker = b !== null && 'worker' in b ? b.worker : null;
  return record;
}

/* The record of job id of queue: its own key (jobKey: a dead or
 * cancelled job) or the newest bucket's of those the index done lists,
 * the one that finished later when both have one; null when none. */
async function get(redis, jobKey, done, queue, id) {
  const text = await redis.get(jobKey);
  let own = null;
  if (text !== null) {
    try {
      own = JSON.parse(text);
    } catch (e) {
      throw new SyntaxError(`the outcome record at ${jobKey} is not JSON: ` +
        e.message);
    }
  }
  const found = await fromBuckets(redis, done, queue, id);
  if (found === null || (own !== null &&
      (own.finished_at || 0) > (found.finished_at || 0))) return own;
  return found;
}

async function fromBuckets(redis, done, queue, id) {
  const starts = (await redis.zrange(done, 0, MAX_BUCKETS - 1, 'REV'))
    .map(Number).sort((a, b) => b - a);
  if (starts.length === 0) return null;
  const pipe = redis.pipeline();
  for (const s of starts) pipe.hget(`${done}:${s}`, id);
  const replies = await pipe.exec();
  /* the one that finished last (more than one only if the id ran again) */
  let best = null;
  for (let i = 0; i < starts.length; i++) {
    const [err, value] = replies[i];
    if (err) throw err;
    if (value === null) continue;
    const p = parseHead(value);
    const fin = p !== null && Number.isInteger(p.head[6]) ? p.head[6] : -1;
    if (best === null || fin > best.fin) best = { start: starts[i], value, p, fin };
  }
  if (best === null) return null;
  let build = null;
  if (best.p !== null && typeof best.p.head[1] === 'string' &&
      best.p.head[1] !== '')
    build = await redis.hget(`${done}:${best.start}:builds`, best.p.head[1]);
  return expand(best.value, build, id, queue);
}

module.exports = { expand, get, MAX_BUCKETS };
