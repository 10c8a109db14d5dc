/*
 * connect.js - the Redis connection of a Client: an ioredis instance the
 * caller gives (used as it is, never closed here), or one opened from a
 * URL in the forms `jobrt --redis` takes: redis://[[user]:password@]host
 * [:port][/db], rediss://..., or unix://[[user]:password@]/path.sock[?db=N].
 */
'use strict';

const Redis = require('ioredis');

const DEFAULT_URL = 'redis://127.0.0.1:6379';

/* Does this look like an ioredis client (Redis or Cluster)? Duck-typed, so
 * that an application's own copy of ioredis works too. */
function isRedisClient(value) {
  return value !== null && typeof value === 'object' &&
    typeof value.pipeline === 'function' && typeof value.xadd === 'function';
}

/* unix://[[user]:password@]/path[?db=N] -> ioredis options. */
function unixOptions(url) {
  const rest = url.slice('unix://'.length);
  const at = rest.lastIndexOf('@', rest.indexOf('/') >= 0
    ? rest.indexOf('/') : rest.length);
  const opts = {};
  let where = rest;
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    where = rest.slice(at + 1);
    const colon = userinfo.indexOf(':');
    if (colon < 0) {
      opts.password = decodeURIComponent(userinfo);
    } else {
      if (colon > 0) opts.username = decodeURIComponent(userinfo.slice(0, colon));
      opts.password = decodeURIComponent(userinfo.slice(colon + 1));
    }
  }
  const q = where.indexOf('?');
  opts.path = q >= 0 ? where.slice(0, q) : where;
  if (!opts.path.startsWith('/'))
    throw new RangeError(`redis URL ${JSON.stringify(redact(url))}: a unix ` +
      'socket URL needs an absolute path (unix:///path/to.sock)');
  if (q >= 0) {
    const params = new URLSearchParams(where.slice(q + 1));
    for (const [k, v] of params) {
      if (k !== 'db' || !/^\d{1,5}$/.test(v))
        throw new RangeError(`redis URL ${JSON.stringify(redact(url))}: ` +
          `only ?db=N is understood, got '${k}=${v}'`);
      opts.db = Number(v);
    }
  }
  return opts;
}

/* The URL with the password part of its userinfo replaced by ***. */
function redact(url) {
  return url.replace(/^([a-z]+:\/\/)([^@/]*:)?[^@/]*@/i,
    (m, scheme, user) => `${scheme}${user || ''}***@`);
}

/*
 * A connection the client opens: a command fails after a few reconnect
 * attempts (maxRetriesPerRequest 3, about a third of a second) instead of
 * ioredis's 20, and each new connection error is one line on stderr that
 * names the (redacted) URL, instead of an unhandled-error stack trace per
 * attempt. redisOptions override both.
 */
const OWNED_DEFAULTS = { maxRetriesPerRequest: 3 };

function quietErrors(r, url) {
  let last = '';
  r.on('error', (err) => {
    const msg = err && err.message ? err.message : String(err);
    if (msg === last) return;
    last = msg;
    process.stderr.write(`jobrt-client: redis ${redact(url)}: ${msg}\n`);
  });
  r.on('ready', () => { last = ''; });
  return r;
}

/* -> {redis, owned}: owned is true when the connection is ours to close. */
function connect(redis, redisOptions) {
  if (redis === undefined || redis === null) redis = DEFAULT_URL;
  if (isRedisClient(redis)) return { redis, owned: false };
  if (typeof redis !== 'string')
    throw new TypeError('redis must be a URL string or an ioredis client, ' +
      `got ${typeof redis}`);
  const extra = Object.assign({}, OWNED_DEFAULTS, redisOptions || {});
  if (redis.startsWith('unix://'))
    return { redis: quietErrors(new Redis(Object.assign(unixOptions(redis),
      extra)), redis), owned: true };
  if (!/^rediss?:\/\//.test(redis))
    throw new RangeError(`redis URL ${JSON.stringify(redact(redis))} must ` +
      'start with redis://, rediss:// or unix://');
  return { redis: quietErrors(new Redis(redis, extra), redis), owned: true };
}

module.exports = { connect, isRedisClient, DEFAULT_URL };
