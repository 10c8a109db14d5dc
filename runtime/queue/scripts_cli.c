/*
 * scripts_cli.c - Lua source of the scripts the CLI runs with EVAL
 * (enqueue with a delay or a key, dlq retry, cancel); the workers' are in
 * scripts.c. The invariant each keeps is described in scripts.h.
 */
#include "queue/scripts.h"
#include "queue/scripts_lua.h"

/* ENQUEUE: KEYS[1] stream, KEYS[2] delayed set, KEYS[3] sequence,
 * KEYS[4] idempotency key (optional: only when the dedupe window ARGV[3]
 * is above 0), then the events stream (optional).
 * ARGV: delay_ms, at_ms (0 = none), dedupe window ms, job id, then
 * field/value pairs (the few fields `jobrt enqueue` sets; the job id is
 * among them), then with the events stream its max len. With the
 * idempotency key set and present, nothing is enqueued and the first
 * job's id comes back; the key is written after the job, and the
 * enqueued event (with due_ms when delayed) after it.
 * Returns {1 created | 0 duplicate, job id}. */
const char *const queue_script_enqueue = LUA_NOW_MS LUA_EVENT_FN
    "local idem = nil\n"
    "if #KEYS >= 4 and (tonumber(ARGV[3]) or 0) > 0 then idem = KEYS[4] end\n"
    "local evk = nil\n"
    "if #KEYS >= (idem and 5 or 4) then evk = KEYS[#KEYS] end\n"
    "if idem then\n"
    "  local first = redis.call('GET', idem)\n"
    "  if first then return {0, first} end\n"
    "end\n"
    "local f, last = {}, #ARGV\n"
    "if evk then last = #ARGV - 1 end\n"
    "for i = 5, last do f[#f+1] = ARGV[i] end\n"
    "local at = tonumber(ARGV[2])\n"
    "local d = tonumber(ARGV[1])\n"
    "if at == 0 and d > 0 then at = now_ms() + d end\n"
    "local delayed = at > now_ms()\n"
    "if delayed then\n"
    "  local token = 'sched-' .. redis.call('INCR', KEYS[3])\n"
    "  redis.call('ZADD', KEYS[2], at, cmsgpack.pack({token, f}))\n"
    "else\n"
    "  redis.call('XADD', KEYS[1], '*', unpack(f))\n"
    "end\n"
    "if idem then\n"
    "  redis.call('SET', idem, ARGV[4], 'PX', ARGV[3])\n"
    "end\n"
    "if evk then\n"
    "  local extra = {}\n"
    "  if delayed then extra = {'due_ms', tostring(at)} end\n"
    "  ev_emit(evk, ARGV[#ARGV], 'enqueued', ARGV[4], f, extra)\n"
    "end\n"
    "return {1, ARGV[4]}\n";

/* DLQ_RETRY: KEYS[1] dlq, KEYS[2] stream. ARGV: dlq entry ids.
 * Re-enqueues each entry with its original fields (dlq_*, attempt and
 * last_error dropped: attempts start again), then removes it from the
 * DLQ. A dead letter with nothing to re-add field by field is kept as it
 * is: its fields encoded (dlq_fields, dlq_delayed_member), none but
 * dlq_* ones, or more than max_fields pairs.
 * Returns {how many moved, ids kept}. */
const char *const queue_script_dlq_retry = LUA_MAX_FIELDS
    "local n, kept = 0, {}\n"
    "for _, id in ipairs(ARGV) do\n"
    "  local e = redis.call('XRANGE', KEYS[1], id, id)\n"
    "  if #e > 0 then\n"
    "    local f, out, has_id, src, encoded = e[1][2], {}, false, nil, false\n"
    "    for i = 1, #f, 2 do\n"
    "      local k = f[i]\n"
    "      if k == 'id' then has_id = true end\n"
    "      if k == 'dlq_source_id' then src = f[i+1] end\n"
    "      if k == '" DLQ_FIELD_ENCODED "' or k == '" DLQ_FIELD_MEMBER "' "
    "then\n"
    "        encoded = true end\n"
    "      if k ~= 'attempt' and k ~= 'last_error' and "
    "string.sub(k, 1, 4) ~= 'dlq_' then\n"
    "        out[#out+1] = k; out[#out+1] = f[i+1]\n"
    "      end\n"
    "    end\n"
    "    if not has_id and src and #out > 0 then\n"
    "      out[#out+1] = 'id'; out[#out+1] = src end\n"
    "    if encoded or #out == 0 or own_pairs(out) > max_fields then\n"
    "      kept[#kept + 1] = id\n"
    "    else\n"
    "      redis.call('XADD', KEYS[2], '*', unpack(out))\n"
    "      redis.call('XDEL', KEYS[1], id)\n"
    "      n = n + 1\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return {n, kept}\n";

/* CANCEL: KEYS[1] cancelled set. ARGV[1] keep ms, ARGV[2..] job ids.
 * Each id gets its own score, strictly above every score in the set:
 * the first max(now_ms * 1000, highest + 1), then one more per id, so
 * workers paging by score get past any number cancelled at once. Drops
 * entries older than keep ms: those scored by this version (>= 1e14) by
 * score / 1000, those of older versions (scored in ms) by score.
 * Returns the first score used. */
const char *const queue_script_cancel = LUA_NOW_MS
    "local now = now_ms()\n"
    "local score = now * 1000\n"
    "local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')\n"
    "if #top == 2 and tonumber(top[2]) >= score then\n"
    "  score = tonumber(top[2]) + 1 end\n"
    "local first = score\n"
    "for i = 2, #ARGV do\n"
    "  redis.call('ZADD', KEYS[1], score, ARGV[i])\n"
    "  score = score + 1\n"
    "end\n"
    "local cut = now - tonumber(ARGV[1])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', "
    "string.format('(%.0f', cut))\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '1e14', "
    "string.format('(%.0f', cut * 1000))\n"
    "return string.format('%.0f', first)\n";

/* SCHEDULE_PUT: KEYS[1] schedules hash, KEYS[2] schedule_due set,
 * KEYS[3] schedule_fired hash. ARGV: name, the definition read before
 * ('' = none), the new definition, the due time ('' = none: paused or no
 * tick within 5 years; 'keep' = leave the score as it is), the most
 * schedules a queue may hold. Compare-and-set on the definition read:
 * returns 1 written, 0 it changed meanwhile (nothing written), -1 the
 * queue holds the most schedules already. A new name starts with no
 * fired count. */
const char *const queue_script_schedule_put =
    "local old = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if (old or '') ~= ARGV[2] then return 0 end\n"
    "if not old and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then\n"
    "  return -1 end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])\n"
    "if ARGV[4] == '' then\n"
    "  redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "elseif ARGV[4] ~= 'keep' then\n"
    "  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])\n"
    "end\n"
    "if not old then redis.call('HDEL', KEYS[3], ARGV[1]) end\n"
    "return 1\n";

/* SCHEDULE_REMOVE: the same KEYS. ARGV[1] name. Returns 1 removed, 0
 * there was no such schedule. */
const char *const queue_script_schedule_remove =
    "local n = redis.call('HDEL', KEYS[1], ARGV[1])\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "redis.call('HDEL', KEYS[3], ARGV[1])\n"
    "return n\n";
