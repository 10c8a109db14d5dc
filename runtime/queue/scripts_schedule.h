/*
 * scripts_schedule.h - Lua source of the scripts behind recurring jobs
 * (docs/scheduling.md), as C string literals for queue_scripts[]
 * (scripts.c). Not for use outside runtime/queue/. Every key shares the
 * target queue's hash tag; time is the server's (TIME).
 */
#ifndef JOBRT_QUEUE_SCRIPTS_SCHEDULE_H
#define JOBRT_QUEUE_SCRIPTS_SCHEDULE_H

#include "queue/scripts_lua.h"
#include "schedule/schedule_def.h"

/* SCHEDULE_DUE: KEYS[1] schedule_due set, KEYS[2] schedules hash.
 * ARGV: offset, count. Reads, on the server clock, the schedules due
 * now (score <= now), oldest first. Writes nothing. Returns {now,
 * name_1, due_1, definition_1 (nil when the hash has none), ...}. */
#define LUA_SCHEDULE_DUE                                                     \
    LUA_NOW_MS                                                               \
    "local now = now_ms()\n"                                                 \
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, "         \
    "'WITHSCORES', 'LIMIT', tonumber(ARGV[1]), tonumber(ARGV[2]))\n"         \
    "local out = {now}\n"                                                    \
    "for i = 1, #due - 1, 2 do\n"                                            \
    "  out[#out + 1] = due[i]\n"                                             \
    "  out[#out + 1] = due[i + 1]\n"                                         \
    "  out[#out + 1] = redis.call('HGET', KEYS[2], due[i])\n"                \
    "end\n"                                                                  \
    "return out\n"

/* SCHEDULE_FIRE: KEYS[1] schedules hash, KEYS[2] schedule_due set,
 * KEYS[3] stream, KEYS[4] schedule_fired hash.
 * ARGV: name, the due time the worker saw, the definition it planned
 * with, the next due time (-1: none), n, n tick times (ms), then the
 * job's field/value pairs (no id, no enqueued_at). Compare-and-set:
 * only while the schedule's score still is that due time and its
 * definition still that one (else another worker fired it, or the
 * operator changed it: nothing is written, 0). Then each tick's job
 * is added to the stream with id SCHEDULE_ID_PREFIX "<name>-<tick>"
 * and enqueued_at now, and only after them the next due time is set
 * (or the member removed) and the count and last tick updated.
 * Returns {1, n}. */
#define LUA_SCHEDULE_FIRE                                                    \
    LUA_NOW_MS                                                               \
    "local sc = redis.call('ZSCORE', KEYS[2], ARGV[1])\n"                    \
    "if not sc or tonumber(sc) ~= tonumber(ARGV[2]) then return 0 end\n"     \
    "if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[3] then return 0 "      \
    "end\n"                                                                  \
    "local n = tonumber(ARGV[5])\n"                                          \
    "local f = {'id', '', 'enqueued_at', tostring(now_ms())}\n"              \
    "for i = 6 + n, #ARGV do f[#f + 1] = ARGV[i] end\n"                      \
    "for i = 1, n do\n"                                                      \
    "  f[2] = '" SCHEDULE_ID_PREFIX "' .. ARGV[1] .. '-' .. ARGV[5 + i]\n"   \
    "  redis.call('XADD', KEYS[3], '*', unpack(f))\n"                        \
    "end\n"                                                                  \
    "if tonumber(ARGV[4]) < 0 then\n"                                        \
    "  redis.call('ZREM', KEYS[2], ARGV[1])\n"                               \
    "else\n"                                                                 \
    "  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])\n"                      \
    "end\n"                                                                  \
    "if n > 0 then\n"                                                        \
    "  local cnt = 0\n"                                                      \
    "  local old = redis.call('HGET', KEYS[4], ARGV[1])\n"                   \
    "  if old then cnt = tonumber(string.match(old, '^(%d+)')) or 0 end\n"   \
    "  redis.call('HSET', KEYS[4], ARGV[1], (cnt + n) .. ' ' .. "            \
    "ARGV[5 + n])\n"                                                         \
    "end\n"                                                                  \
    "return {1, n}\n"

#endif
