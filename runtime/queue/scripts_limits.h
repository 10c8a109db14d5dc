/*
 * scripts_limits.h - Lua source of the scripts behind the fleet's limits
 * per (queue, job) (docs/flow-control.md), as C string literals for
 * queue_scripts[] (scripts.c). Not for use outside runtime/queue/. Every
 * key shares the queue's hash tag; time is the server's (TIME).
 */
#ifndef JOBRT_QUEUE_SCRIPTS_LIMITS_H
#define JOBRT_QUEUE_SCRIPTS_LIMITS_H

#include "queue/scripts_lua.h"

/* LIMIT_SET: KEYS[1] the :limits hash. ARGV: job, then name/value pairs
 * of rate_per_s, burst, concurrency ("" removes that one), or the single
 * pair "clear", "" (removes the job's limits). The job's JSON is merged:
 * fields not named stay. An object left empty removes the field.
 * Returns {old JSON or "", new JSON or "", 1 if it changed else 0}. */
#define LUA_LIMIT_SET                                                       \
    "local old = redis.call('HGET', KEYS[1], ARGV[1])\n"                    \
    "local o = {}\n"                                                        \
    "if old then\n"                                                         \
    "  local ok, d = pcall(cjson.decode, old)\n"                            \
    "  if ok and type(d) == 'table' then o = d end\n"                       \
    "else old = '' end\n"                                                   \
    "local before = {o.rate_per_s, o.burst, o.concurrency}\n"               \
    "if ARGV[2] == 'clear' then o = {} else\n"                              \
    "  for i = 2, #ARGV - 1, 2 do\n"                                        \
    "    if ARGV[i + 1] == '' then o[ARGV[i]] = nil\n"                      \
    "    else o[ARGV[i]] = tonumber(ARGV[i + 1]) end\n"                     \
    "  end\n"                                                               \
    "end\n"                                                                 \
    "local out = {}\n"                                                      \
    "for _, k in ipairs({'rate_per_s', 'burst', 'concurrency'}) do\n"       \
    "  if type(o[k]) == 'number' then out[k] = o[k] end\n"                  \
    "end\n"                                                                 \
    "local changed = 0\n"                                                   \
    "if before[1] ~= out.rate_per_s or before[2] ~= out.burst or\n"         \
    "   before[3] ~= out.concurrency then changed = 1 end\n"                \
    "if next(out) == nil then\n"                                            \
    "  redis.call('HDEL', KEYS[1], ARGV[1])\n"                              \
    "  return {old, '', changed}\n"                                         \
    "end\n"                                                                 \
    "local new = cjson.encode(out)\n"                                       \
    "if changed == 1 or old == '' then\n"                                   \
    "  redis.call('HSET', KEYS[1], ARGV[1], new)\n"                         \
    "else new = old end\n"                                                  \
    "return {old, new, changed}\n"

/* LIMIT_RESERVE: KEYS[1] the job's :rate:<job> key (the theoretical
 * arrival time, ms, server clock). ARGV: k, rate per second.
 * Reserves k consecutive slots, slot i = max(now, tat) + i * 1000/rate
 * (limit_reserve in core/limit_spec.c does the same sums), moves tat past
 * the last and keeps it a minute past then. Returns {now, slot_1, ...,
 * slot_k}, whole ms (rounded up). */
#define LUA_LIMIT_RESERVE                                                   \
    LUA_NOW_MS                                                              \
    "local k, rate = tonumber(ARGV[1]), tonumber(ARGV[2])\n"                \
    "if not k or not rate or rate <= 0 or k < 1 then\n"                     \
    "  return redis.error_reply('ERR LIMIT_RESERVE: bad k or rate') end\n"  \
    "local now = now_ms()\n"                                                \
    "local tat = tonumber(redis.call('GET', KEYS[1]) or '') or 0\n"         \
    "local base = math.max(now, tat)\n"                                     \
    "local step = 1000 / rate\n"                                            \
    "local out = {now}\n"                                                   \
    "for i = 0, k - 1 do out[#out + 1] = math.ceil(base + i * step) end\n"  \
    "local nt = base + k * step\n"                                          \
    "redis.call('SET', KEYS[1], string.format('%.3f', nt), 'PX',\n"         \
    "  math.ceil(nt - now) + 60000)\n"                                      \
    "return out\n"

/* LIMIT_ACQUIRE: KEYS[1] the job's :running:<job> sorted set (stream id
 * -> lease expiry, ms, server clock). ARGV: limit, lease_ms, id_1..id_n.
 * Drops expired members, then for each id in order: already a member
 * (asked again) or fewer than limit members: added (or renewed) with
 * expiry now + lease, 1; else 0. Returns {granted_1, ..., granted_n}. */
#define LUA_LIMIT_ACQUIRE                                                   \
    LUA_NOW_MS                                                              \
    "local limit, lease = tonumber(ARGV[1]), tonumber(ARGV[2])\n"           \
    "local now = now_ms()\n"                                                \
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"                \
    "local out = {}\n"                                                      \
    "for i = 3, #ARGV do\n"                                                 \
    "  if redis.call('ZSCORE', KEYS[1], ARGV[i]) or\n"                      \
    "     redis.call('ZCARD', KEYS[1]) < limit then\n"                      \
    "    redis.call('ZADD', KEYS[1], now + lease, ARGV[i])\n"               \
    "    out[#out + 1] = 1\n"                                               \
    "  else out[#out + 1] = 0 end\n"                                        \
    "end\n"                                                                 \
    "redis.call('PEXPIRE', KEYS[1], lease + 60000)\n"                       \
    "return out\n"

/* LIMIT_RENEW: KEYS[i] the :running:<job> set of ARGV[i + 1]. ARGV:
 * lease_ms, id_1..id_n. Moves each member's expiry to now + lease (ZADD
 * XX: one that expired meanwhile is not put back). Returns n. */
#define LUA_LIMIT_RENEW                                                     \
    LUA_NOW_MS                                                              \
    "local lease = tonumber(ARGV[1])\n"                                     \
    "local now = now_ms()\n"                                                \
    "for i = 1, #KEYS do\n"                                                 \
    "  redis.call('ZADD', KEYS[i], 'XX', now + lease, ARGV[i + 1])\n"       \
    "  redis.call('PEXPIRE', KEYS[i], lease + 60000)\n"                     \
    "end\n"                                                                 \
    "return #KEYS\n"

/* LIMIT_RELEASE: KEYS[i] the :running:<job> set of ARGV[i]. Removes
 * each member (a resend removes nothing more). Returns n. */
#define LUA_LIMIT_RELEASE                                                   \
    "for i = 1, #KEYS do redis.call('ZREM', KEYS[i], ARGV[i]) end\n"        \
    "return #KEYS\n"

#endif
