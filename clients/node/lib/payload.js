/*
 * payload.js - a job's payload -> the JSON text sent, checked by the
 * worker's own rules (runtime/core/json_check.c: one JSON value, valid
 * UTF-8, no lone surrogate escape, containers nested at most 64 deep) and
 * its --max-payload, so that nothing the client sends is dead-lettered
 * for its payload. JSON.stringify is not trusted to say no: it writes NaN
 * and Infinity as null, drops undefined, functions and symbols (or writes
 * null for them in arrays), writes a Map or a Set as {} and throws on a
 * BigInt without saying where; each of those is refused here, naming its
 * path (payload.items[3]). A bad payload throws a TypeError (what JSON
 * cannot hold) or a RangeError (a value out of range), before anything is
 * sent.
 */
'use strict';

const MAX_DEPTH = 64; /* the worker's JSON nesting limit */
const DEFAULT_MAX_PAYLOAD = 1 << 20; /* the worker's --max-payload default */
const MAX_PAYLOAD_LIMIT = 512 * 1024 * 1024; /* the largest it takes */

const LONE_SURROGATE_RE = /[\uD800-\uDFFF]/u; /* pairs are one code point */
const IDENTIFIER_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/* The path of key inside holder, whose own path is `at`. */
function step(at, holder, key) {
  if (Array.isArray(holder)) return `${at}[${key}]`;
  return IDENTIFIER_RE.test(key) ? `${at}.${key}`
    : `${at}[${JSON.stringify(key)}]`;
}

function surrogate(where, s) {
  const m = LONE_SURROGATE_RE.exec(s);
  const code = m[0].charCodeAt(0).toString(16).toUpperCase();
  return new RangeError(`${where} has a lone UTF-16 surrogate (U+${code}), ` +
    'which is not valid UTF-8: the worker refuses the payload');
}

/* What JSON.stringify would lose or change silently at `at`, as an error;
 * null when v is fine. */
function notJson(at, v) {
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? null : new RangeError(`${at} is ${v}: ` +
        'JSON has no NaN or Infinity');
    case 'undefined':
      return new TypeError(`${at} is undefined, which JSON has not ` +
        '(JSON.stringify would drop it or write null): use null, or leave ' +
        'the key out of the object');
    case 'function':
      return new TypeError(`${at} is a function, which is not JSON`);
    case 'symbol':
      return new TypeError(`${at} is a symbol, which is not JSON`);
    case 'bigint':
      return new TypeError(`${at} is a BigInt, which JSON has not: give a ` +
        'number (if it is a safe integer) or a string');
    default:
      break;
  }
  if (v instanceof Map || v instanceof Set || v instanceof WeakMap ||
      v instanceof WeakSet) {
    const kind = v.constructor ? v.constructor.name : 'Map';
    return new TypeError(`${at} is a ${kind}, which JSON.stringify writes ` +
      `as {}: give ${kind.endsWith('Map') ? 'Object.fromEntries(it)'
        : 'an array ([...it])'}`);
  }
  return null;
}

/*
 * JSON.stringify(value) with every value checked, naming its path under
 * `what`. `strict` (a value of the caller's) refuses what JSON cannot hold;
 * without it (a value JSON.parse made) only strings, keys and depth are
 * checked: a number like 1e999 parses as Infinity but is valid JSON text.
 */
function stringifyChecked(what, value, strict) {
  const paths = new Map(); /* container -> [its path, its depth] */
  let refusal = null; /* the error check() threw, to tell it from others */
  const refuse = (err) => { refusal = err; return err; };
  function check(key, v) {
    const parent = paths.get(this);
    const at = parent === undefined ? what : step(parent[0], this, key);
    if (parent !== undefined && !Array.isArray(this) &&
        LONE_SURROGATE_RE.test(key))
      throw refuse(surrogate(`${parent[0]} has a key that`, key));
    if (typeof v === 'string') {
      if (LONE_SURROGATE_RE.test(v)) throw refuse(surrogate(at, v));
      return v;
    }
    if (strict) {
      const err = notJson(at, v);
      if (err) throw refuse(err);
    }
    if (v !== null && typeof v === 'object') {
      const depth = parent === undefined ? 1 : parent[1] + 1;
      if (depth > MAX_DEPTH)
        throw refuse(new RangeError(`${what} is nested more than ` +
          `${MAX_DEPTH} deep`));
      if (strict && Object.getOwnPropertySymbols(v).some((s) =>
        Object.prototype.propertyIsEnumerable.call(v, s)))
        throw refuse(new TypeError(`${at} has a symbol-keyed property, ` +
          'which JSON.stringify would drop'));
      paths.set(v, [at, depth]);
    }
    return v;
  }
  try {
    return JSON.stringify(value, check);
  } catch (e) {
    if (e === refusal) throw e;
    /* a circular structure, or a toJSON() that threw */
    throw new TypeError(`${what} cannot be serialized as JSON: ${e.message}`);
  }
}

/* A payload of at most maxBytes bytes of UTF-8 (0: no limit). */
function checkSize(what, text, maxBytes) {
  const n = Buffer.byteLength(text, 'utf8');
  if (maxBytes && n > maxBytes)
    throw new RangeError(`${what} is ${n} bytes, over maxPayload ` +
      `(${maxBytes} bytes): a worker with --max-payload ${maxBytes} ` +
      'dead-letters it as payload_too_large');
  return text;
}

/* Any JSON-able value -> its compact JSON text, checked. */
function payloadText(what, value, maxBytes) {
  const text = stringifyChecked(what, value, true);
  if (typeof text !== 'string') /* not reached: undefined is refused */
    throw new TypeError(`${what} cannot be serialized as JSON`);
  return checkSize(what, text, maxBytes);
}

/* JSON text (a string) given as is: checked, returned unchanged. */
function checkJsonText(what, text, maxBytes) {
  checkSize(what, text, maxBytes);
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new RangeError(`${what} is not valid JSON: ${e.message}`);
  }
  stringifyChecked(what, parsed, false);
  return text;
}

module.exports = {
  payloadText, checkJsonText, DEFAULT_MAX_PAYLOAD, MAX_PAYLOAD_LIMIT,
};
