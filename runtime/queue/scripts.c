/*
 * scripts.c - Lua source of the queue's scripts. Keys are always
 * passed in KEYS (cluster-safe: they share the queue's hash tag). Time
 * comes from the Redis server (TIME), so every worker schedules on one
 * clock.
 */
#include "queue/scripts.h"

#define LUA_NOW_MS                                                          \
    "local function now_ms()\n"                                             \
    "  local t = redis.call('TIME')\n"                                      \
    "  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"  \
    "end\n"

/* For RELEASE, which has only ids: re-add entry `id` of stream s with its
 * fields intact except `attempt`
 * (set, or kept when nil), `last_error` and `id` (added when missing). It
 * goes to the tail of the stream, or, when due_ms > now, into the delayed
 * set z. Returns true if the entry was still pending, else false. */
#define LUA_REQUEUE_FN                                                      \
    LUA_NOW_MS                                                              \
    "local function requeue(s, z, g, id, attempt, err, jobid, delay, due)\n" \
    "  if redis.call('XACK', s, g, id) == 0 then return false end\n"        \
    "  local e = redis.call('XRANGE', s, id, id)\n"                         \
    "  redis.call('XDEL', s, id)\n"                                         \
    "  if #e == 0 then return true end\n"                                   \
    "  local f, out, has_id = e[1][2], {}, false\n"                         \
    "  for i = 1, #f, 2 do\n"                                               \
    "    local k = f[i]\n"                                                  \
    "    if k == 'attempt' and attempt == nil then attempt = f[i+1] end\n"  \
    "    if k == 'last_error' and (err == nil or err == '') then\n"         \
    "      err = f[i+1] end\n"                                              \
    "    if k ~= 'attempt' and k ~= 'last_error' then\n"                    \
    "      if k == 'id' then has_id = true end\n"                           \
    "      out[#out+1] = k; out[#out+1] = f[i+1]\n"                         \
    "    end\n"                                                             \
    "  end\n"                                                               \
    "  if not has_id then out[#out+1] = 'id'; out[#out+1] = jobid or id end\n" \
    "  if attempt ~= nil and attempt ~= '' then\n"                          \
    "    out[#out+1] = 'attempt'; out[#out+1] = attempt end\n"              \
    "  if err ~= nil and err ~= '' then\n"                                  \
    "    out[#out+1] = 'last_error'; out[#out+1] = err end\n"               \
    "  local at = tonumber(due or 0) or 0\n"                                \
    "  local d = tonumber(delay or 0) or 0\n"                               \
    "  if d > 0 then at = now_ms() + d end\n"                               \
    "  if at > 0 and at > now_ms() then\n"                                  \
    "    redis.call('ZADD', z, at, cmsgpack.pack({id, out}))\n"             \
    "  else\n"                                                              \
    "    redis.call('XADD', s, '*', unpack(out))\n"                         \
    "  end\n"                                                               \
    "  return true\n"                                                       \
    "end\n"

/* Dead-letter entry `id` (already XACKed by the caller) into dlq d. */
#define LUA_BURY_FN                                                         \
    "local function bury(s, d, id, reason, err, worker, at, maxlen)\n"      \
    "  local e = redis.call('XRANGE', s, id, id)\n"                         \
    "  redis.call('XDEL', s, id)\n"                                         \
    "  local out = {}\n"                                                    \
    "  if #e > 0 then for i, v in ipairs(e[1][2]) do out[i] = v end end\n"  \
    "  local extra = {'dlq_reason', reason, 'dlq_error', err,\n"           \
    "    'dlq_worker', worker, 'dlq_at', at, 'dlq_source_id', id}\n"        \
    "  for _, v in ipairs(extra) do out[#out+1] = v end\n"                  \
    "  redis.call('XADD', d, 'MAXLEN', '~', maxlen, '*', unpack(out))\n"    \
    "end\n"

const char *const queue_scripts[SCRIPT_COUNT] = {
    /* COMPLETE: KEYS[1] stream, KEYS[2..] record keys.
     * ARGV: group, ttl_s, n, id_1..id_n, record_1..record_(#KEYS-1).
     * Acked entries stay in the stream until TRIM cuts below them. A batch
     * with no records is sent as a plain XACK instead. */
    [SCRIPT_COMPLETE] =
        "local n = tonumber(ARGV[3])\n"
        "local ids = {}\n"
        "for i = 1, n do ids[i] = ARGV[3 + i] end\n"
        "redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))\n"
        "for i = 2, #KEYS do\n"
        "  redis.call('SET', KEYS[i], ARGV[3 + n + i - 1], 'EX', ARGV[2])\n"
        "end\n"
        "return n\n",

    /* REQUEUE: KEYS[1] stream, KEYS[2] delayed set.
     * ARGV: group, id, delay_ms, due_ms (absolute, server clock; 0 =
     * none), then the new entry's field/value pairs (the worker holds the
     * entry, so Redis need not look it up). Acks id; the new entry goes
     * to the tail of the stream, or into the delayed set when it is due
     * later. The acked entry is left to TRIM. Returns 1, or 0 when id was
     * no longer pending (a resend after a lost reply): nothing is added. */
    [SCRIPT_REQUEUE] = LUA_NOW_MS
        "if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then "
        "return 0 end\n"
        "local f = {}\n"
        "for i = 5, #ARGV do f[#f + 1] = ARGV[i] end\n"
        "local d, at = tonumber(ARGV[3]) or 0, tonumber(ARGV[4]) or 0\n"
        "local now = 0\n"
        "if d > 0 or at > 0 then now = now_ms() end\n"
        "if d > 0 then at = now + d end\n"
        "if at > now then\n"
        "  redis.call('ZADD', KEYS[2], at, cmsgpack.pack({ARGV[2], f}))\n"
        "else\n"
        "  redis.call('XADD', KEYS[1], '*', unpack(f))\n"
        "end\n"
        "return 1\n",

    /* DLQ: KEYS[1] stream, KEYS[2] dlq, KEYS[3] record key (optional).
     * ARGV: group, id, reason, error, worker, now_ms, maxlen, record, ttl */
    [SCRIPT_DLQ] = LUA_BURY_FN
        "if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then "
        "return 0 end\n"
        "bury(KEYS[1], KEYS[2], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], "
        "ARGV[7])\n"
        "if #KEYS >= 3 then\n"
        "  redis.call('SET', KEYS[3], ARGV[8], 'EX', ARGV[9])\n"
        "end\n"
        "return 1\n",

    /* RELEASE: KEYS[1] stream, KEYS[2] delayed set. ARGV: group, consumer.
     * Requeues now, attempt unchanged, every entry still pending for the
     * consumer; then removes the consumer. Returns how many went back. */
    [SCRIPT_RELEASE] = LUA_REQUEUE_FN
        "local n = 0\n"
        "for _ = 1, 1000 do\n"
        "  local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 500, "
        "ARGV[2])\n"
        "  if #p == 0 then break end\n"
        "  for _, ent in ipairs(p) do\n"
        "    if requeue(KEYS[1], KEYS[2], ARGV[1], ent[1], nil, nil, nil, 0, "
        "0) then n = n + 1 end\n"
        "  end\n"
        "end\n"
        "redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])\n"
        "return n\n",

    /* PROMOTE: KEYS[1] stream, KEYS[2] delayed set. ARGV: max to move.
     * Returns {moved, ms until the next delayed job is due or -1}. */
    [SCRIPT_PROMOTE] = LUA_NOW_MS
        "local now = now_ms()\n"
        "local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, "
        "'LIMIT', 0, tonumber(ARGV[1]))\n"
        "for _, m in ipairs(due) do\n"
        "  redis.call('ZREM', KEYS[2], m)\n"
        "  local ok, e = pcall(cmsgpack.unpack, m)\n"
        "  if ok and type(e) == 'table' and type(e[2]) == 'table' and "
        "#e[2] >= 2 then\n"
        "    redis.call('XADD', KEYS[1], '*', unpack(e[2]))\n"
        "  end\n"
        "end\n"
        "local nxt = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')\n"
        "local wait = -1\n"
        "if #nxt == 2 then wait = math.max(0, tonumber(nxt[2]) - now) end\n"
        "return {#due, wait}\n",

    /* RECLAIM: KEYS[1] stream, KEYS[2] dlq. ARGV: group, consumer,
     * lease_ms, count, max_deliveries, now_ms, dlq maxlen.
     * Entries idle longer than the lease (their worker died or hung) are
     * claimed by `consumer`, or, once delivered max_deliveries times,
     * dead-lettered as poison. Returns {claimed entries (XCLAIM reply),
     * their delivery counts, poisoned ids}. */
    [SCRIPT_RECLAIM] = LUA_BURY_FN
        "local p = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', "
        "tonumber(ARGV[3]), '-', '+', tonumber(ARGV[4]))\n"
        "local claim, counts, poisoned = {}, {}, {}\n"
        "for _, e in ipairs(p) do\n"
        "  if e[4] >= tonumber(ARGV[5]) then\n"
        "    if redis.call('XACK', KEYS[1], ARGV[1], e[1]) == 1 then\n"
        "      bury(KEYS[1], KEYS[2], e[1], 'poison', 'delivered ' .. e[4] ..\n"
        "        ' times without finishing: each worker running it died, hung'\n"
        "        .. ' or lost its lease (last held by ' .. e[2] .. ')',\n"
        "        ARGV[2], ARGV[6], ARGV[7])\n"
        "      poisoned[#poisoned+1] = e[1]\n"
        "    end\n"
        "  else\n"
        "    claim[#claim+1] = e[1]; counts[e[1]] = e[4] + 1\n"
        "  end\n"
        "end\n"
        "local got, n = {}, {}\n"
        "if #claim > 0 then\n"
        "  got = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], "
        "tonumber(ARGV[3]), unpack(claim))\n"
        "  for i, e in ipairs(got) do n[i] = counts[e[1]] or 1 end\n"
        "end\n"
        "return {got, n, poisoned}\n",

    /* TRIM: KEYS[1] stream. ARGV: group, then acked ids to delete one by
     * one if the cut does not reach them (they wait behind a long-pending
     * entry). An id still pending for the group is never deleted: its ack
     * may have failed, or Redis may have restarted from an older snapshot.
     * The cut point is the lowest of, over every consumer group, its
     * oldest pending id and its last delivered id: everything below it
     * has been delivered to and acked by every group. When no group has
     * anything pending, the last delivered entry itself goes too, so an
     * idle queue's stream ends up empty. No cut while a group has read
     * nothing yet, but the stale ids are deleted all the same. Returns the
     * cut point ('' when there is none). */
    [SCRIPT_TRIM] =
        "if redis.call('EXISTS', KEYS[1]) == 0 then return '' end\n"
        "local function num_less(a, b)\n"
        "  if #a ~= #b then return #a < #b end\n"
        "  return a < b\n"
        "end\n"
        "local function id_less(x, y)\n"
        "  local xm, xs = string.match(x, '^(%d+)-(%d+)$')\n"
        "  local ym, ys = string.match(y, '^(%d+)-(%d+)$')\n"
        "  if xm ~= ym then return num_less(xm, ym) end\n"
        "  return num_less(xs, ys)\n"
        "end\n"
        "local point, busy = nil, false\n"
        "for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do\n"
        "  local f = {}\n"
        "  for i = 1, #g, 2 do f[g[i]] = g[i + 1] end\n"
        "  local cut = f['last-delivered-id']\n"
        "  if f['pending'] > 0 then\n"
        "    busy = true\n"
        "    local p = redis.call('XPENDING', KEYS[1], f['name'])\n"
        "    if id_less(p[2], cut) then cut = p[2] end\n"
        "  end\n"
        "  if point == nil or id_less(cut, point) then point = cut end\n"
        "end\n"
        "if point == nil or point == '0-0' then\n"
        "  point = ''\n"
        "else\n"
        "  redis.call('XTRIM', KEYS[1], 'MINID', point)\n"
        "  if not busy then redis.call('XDEL', KEYS[1], point) end\n"
        "end\n"
        "local stale, lo, hi = {}, nil, nil\n"
        "for i = 2, #ARGV do\n"
        "  local id = ARGV[i]\n"
        "  if point == '' or not id_less(id, point) then\n"
        "    stale[#stale + 1] = id\n"
        "    if lo == nil or id_less(id, lo) then lo = id end\n"
        "    if hi == nil or id_less(hi, id) then hi = id end\n"
        "  end\n"
        "end\n"
        "if #stale == 0 then return point end\n"
        "local pending = {}\n"
        "for _, e in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], lo, hi, "
        "1000000)) do pending[e[1]] = true end\n"
        "local del = {}\n"
        "for _, id in ipairs(stale) do\n"
        "  if not pending[id] then del[#del + 1] = id end\n"
        "  if #del == 1000 then\n"
        "    redis.call('XDEL', KEYS[1], unpack(del)); del = {}\n"
        "  end\n"
        "end\n"
        "if #del > 0 then redis.call('XDEL', KEYS[1], unpack(del)) end\n"
        "return point\n",
};

/* SCHEDULE: KEYS[1] delayed set, KEYS[2] sequence counter.
 * ARGV: delay_ms, at_ms (absolute, 0 = use delay), then field/value pairs.
 * Returns the due time (ms, server clock). */
const char *const queue_script_schedule = LUA_NOW_MS
    "local at = tonumber(ARGV[2])\n"
    "if at == 0 then at = now_ms() + tonumber(ARGV[1]) end\n"
    "local f = {}\n"
    "for i = 3, #ARGV do f[#f+1] = ARGV[i] end\n"
    "local token = 'sched-' .. redis.call('INCR', KEYS[2])\n"
    "redis.call('ZADD', KEYS[1], at, cmsgpack.pack({token, f}))\n"
    "return at\n";

/* ENQUEUE: KEYS[1] stream, KEYS[2] delayed set, KEYS[3] sequence,
 * KEYS[4] idempotency key (optional).
 * ARGV: delay_ms, at_ms (0 = none), dedupe window ms, job id, then
 * field/value pairs (the job id is among them). With KEYS[4] set and the
 * key present, nothing is enqueued and the first job's id comes back.
 * Returns {1 created | 0 duplicate, job id}. */
const char *const queue_script_enqueue = LUA_NOW_MS
    "if #KEYS >= 4 then\n"
    "  local first = redis.call('GET', KEYS[4])\n"
    "  if first then return {0, first} end\n"
    "end\n"
    "local f = {}\n"
    "for i = 5, #ARGV do f[#f+1] = ARGV[i] end\n"
    "local at = tonumber(ARGV[2])\n"
    "local d = tonumber(ARGV[1])\n"
    "if at == 0 and d > 0 then at = now_ms() + d end\n"
    "if at > now_ms() then\n"
    "  local token = 'sched-' .. redis.call('INCR', KEYS[3])\n"
    "  redis.call('ZADD', KEYS[2], at, cmsgpack.pack({token, f}))\n"
    "else\n"
    "  redis.call('XADD', KEYS[1], '*', unpack(f))\n"
    "end\n"
    "if #KEYS >= 4 then\n"
    "  redis.call('SET', KEYS[4], ARGV[4], 'PX', ARGV[3])\n"
    "end\n"
    "return {1, ARGV[4]}\n";

/* DLQ_RETRY: KEYS[1] dlq, KEYS[2] stream. ARGV: dlq entry ids.
 * Re-enqueues each entry with its original fields (dlq_*, attempt and
 * last_error dropped: attempts start again) and removes it from the DLQ.
 * Returns how many moved. */
const char *const queue_script_dlq_retry =
    "local n = 0\n"
    "for _, id in ipairs(ARGV) do\n"
    "  local e = redis.call('XRANGE', KEYS[1], id, id)\n"
    "  if #e > 0 then\n"
    "    local f, out, has_id, src = e[1][2], {}, false, nil\n"
    "    for i = 1, #f, 2 do\n"
    "      local k = f[i]\n"
    "      if k == 'id' then has_id = true end\n"
    "      if k == 'dlq_source_id' then src = f[i+1] end\n"
    "      if k ~= 'attempt' and k ~= 'last_error' and "
    "string.sub(k, 1, 4) ~= 'dlq_' then\n"
    "        out[#out+1] = k; out[#out+1] = f[i+1]\n"
    "      end\n"
    "    end\n"
    "    if not has_id and src then out[#out+1] = 'id'; out[#out+1] = src "
    "end\n"
    "    if #out >= 2 then redis.call('XADD', KEYS[2], '*', unpack(out)) end\n"
    "    redis.call('XDEL', KEYS[1], id)\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "return n\n";
