/*
 * queue_scripts.c - Lua source of the queue's scripts. Keys are always
 * passed in KEYS (cluster-safe: they share the queue's hash tag).
 */
#include "queue_scripts.h"

/* Shared: re-add entry `id` of stream `s` with its fields intact except
 * `attempt` (set to `attempt`, or kept when nil), `last_error` and `id`
 * (added when missing). Returns the new id, or false when already gone. */
#define LUA_REQUEUE_FN                                                      \
    "local function requeue(s, g, id, attempt, err, jobid)\n"               \
    "  if redis.call('XACK', s, g, id) == 0 then return false end\n"        \
    "  local e = redis.call('XRANGE', s, id, id)\n"                         \
    "  redis.call('XDEL', s, id)\n"                                         \
    "  if #e == 0 then return false end\n"                                  \
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
    "  if attempt ~= nil then\n"                                            \
    "    out[#out+1] = 'attempt'; out[#out+1] = attempt end\n"              \
    "  if err ~= nil and err ~= '' then\n"                                  \
    "    out[#out+1] = 'last_error'; out[#out+1] = err end\n"               \
    "  return redis.call('XADD', s, '*', unpack(out))\n"                    \
    "end\n"

const char *const queue_scripts[SCRIPT_COUNT] = {
    /* COMPLETE: KEYS[1] stream, KEYS[2..] record keys.
     * ARGV: group, ttl_s, n, id_1..id_n, record_1..record_(#KEYS-1) */
    [SCRIPT_COMPLETE] =
        "local n = tonumber(ARGV[3])\n"
        "local ids = {}\n"
        "for i = 1, n do ids[i] = ARGV[3 + i] end\n"
        "redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))\n"
        "redis.call('XDEL', KEYS[1], unpack(ids))\n"
        "for i = 2, #KEYS do\n"
        "  redis.call('SET', KEYS[i], ARGV[3 + n + i - 1], 'EX', ARGV[2])\n"
        "end\n"
        "return n\n",

    /* REQUEUE: KEYS[1] stream. ARGV: group, id, attempt, error, job id */
    [SCRIPT_REQUEUE] = LUA_REQUEUE_FN
        "local r = requeue(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], "
        "ARGV[5])\n"
        "if r then return r end\n"
        "return 0\n",

    /* DLQ: KEYS[1] stream, KEYS[2] dlq, KEYS[3] record key (optional).
     * ARGV: group, id, reason, error, worker, now_ms, maxlen, record, ttl */
    [SCRIPT_DLQ] =
        "if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then "
        "return 0 end\n"
        "local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])\n"
        "redis.call('XDEL', KEYS[1], ARGV[2])\n"
        "local out = {}\n"
        "if #e > 0 then for i, v in ipairs(e[1][2]) do out[i] = v end end\n"
        "local extra = {'dlq_reason', ARGV[3], 'dlq_error', ARGV[4],\n"
        "  'dlq_worker', ARGV[5], 'dlq_at', ARGV[6], 'dlq_source_id', ARGV[2]}\n"
        "for _, v in ipairs(extra) do out[#out+1] = v end\n"
        "redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', "
        "unpack(out))\n"
        "if #KEYS >= 3 then\n"
        "  redis.call('SET', KEYS[3], ARGV[8], 'EX', ARGV[9])\n"
        "end\n"
        "return 1\n",

    /* RELEASE: KEYS[1] stream. ARGV: group, consumer. Requeues, attempt
     * unchanged, every entry still pending for the consumer; then removes
     * the consumer. Returns how many entries went back. */
    [SCRIPT_RELEASE] = LUA_REQUEUE_FN
        "local n = 0\n"
        "for _ = 1, 1000 do\n"
        "  local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 500, "
        "ARGV[2])\n"
        "  if #p == 0 then break end\n"
        "  for _, ent in ipairs(p) do\n"
        "    if requeue(KEYS[1], ARGV[1], ent[1], nil, nil, nil) then "
        "n = n + 1 end\n"
        "  end\n"
        "end\n"
        "redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])\n"
        "return n\n",
};
