/*
 * scripts_lua.h - the Lua helper functions the queue's scripts share,
 * as C string literals to paste in front of a script's body (scripts.c,
 * scripts_cli.c). Not for use outside runtime/queue/. Each macro defines
 * one or two local functions; a script pastes those it calls, each once.
 */
#ifndef JOBRT_QUEUE_SCRIPTS_LUA_H
#define JOBRT_QUEUE_SCRIPTS_LUA_H

#include "core/envelope.h"
#include "queue/keys.h"
#include "queue/events.h"

#define LUA_STR_(x) #x
#define LUA_STR(x) LUA_STR_(x)

#define LUA_NOW_MS                                                          \
    "local function now_ms()\n"                                             \
    "  local t = redis.call('TIME')\n"                                      \
    "  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"  \
    "end\n"

/* The most field/value pairs an entry may have of its own
 * (ENVELOPE_MAX_FIELDS, core/envelope.h), and own_pairs(f), how many pairs
 * of field list f are its own: all but the first id, attempt and
 * last_error, which jobrt manages. So an entry within the limit has at
 * most ENVELOPE_MAX_ENTRY_FIELDS pairs in all, and is re-added field by
 * field, far below what one Lua call can take; one over it is never
 * passed to a call value by value. The worker counts the same way
 * (envelope_own_fields). */
#define LUA_MAX_FIELDS                                                      \
    "local max_fields = " LUA_STR(ENVELOPE_MAX_FIELDS) "\n"                 \
    "local function own_pairs(f)\n"                                         \
    "  local managed, own = {}, 0\n"                                        \
    "  for i = 1, #f - 1, 2 do\n"                                           \
    "    local k = f[i]\n"                                                  \
    "    if (k == 'id' or k == 'attempt' or k == 'last_error') and\n"       \
    "       not managed[k] then\n"                                          \
    "      managed[k] = true\n"                                             \
    "    else\n"                                                            \
    "      own = own + 1\n"                                                 \
    "    end\n"                                                             \
    "  end\n"                                                               \
    "  return own\n"                                                        \
    "end\n"

/* Whether entry id of stream s is pending for group g (read only). */
#define LUA_PENDING_FN                                                      \
    "local function pending(s, g, id)\n"                                    \
    "  return #redis.call('XPENDING', s, g, id, id, 1) > 0\n"               \
    "end\n"

/* The field list of entry id of stream s, or nil when it is gone. */
#define LUA_FIELDS_FN                                                       \
    "local function fields_of(s, id)\n"                                     \
    "  local e = redis.call('XRANGE', s, id, id)\n"                         \
    "  if #e == 0 then return nil end\n"                                    \
    "  return e[1][2]\n"                                                    \
    "end\n"

/* Writes the dead letter of an entry with field list f (nil: the entry is
 * gone, only the dlq_* fields are written) into dlq d. Up to max_fields
 * pairs are copied field by field; a longer list becomes the one value
 * dlq_fields, as netstrings, so no call gets more values than Lua can
 * pass, next to copies of its first id, job and v (so `jobrt dlq` can
 * list it and find it by job id or name). Nothing is acked or deleted
 * here: the caller does that after. */
#define LUA_BURY_FN                                                         \
    LUA_MAX_FIELDS                                                          \
    "local function bury(d, f, src, reason, err, worker, at, maxlen)\n"     \
    "  local out = {}\n"                                                    \
    "  if f ~= nil and own_pairs(f) > max_fields then\n"                    \
    "    local enc = {}\n"                                                  \
    "    for i, v in ipairs(f) do\n"                                       \
    "      local s = tostring(v)\n"                                         \
    "      enc[i] = #s .. ':' .. s .. ','\n"                                \
    "    end\n"                                                             \
    "    out = {'" DLQ_FIELD_ENCODED "', table.concat(enc)}\n"              \
    "    local seen = {}\n"                                                 \
    "    for i = 1, #f - 1, 2 do\n"                                         \
    "      local k = f[i]\n"                                                \
    "      if (k == 'id' or k == 'job' or k == 'v') and not seen[k] and\n"  \
    "         #tostring(f[i + 1]) <= 256 then\n"                            \
    "        seen[k] = true\n"                                              \
    "        out[#out + 1] = k; out[#out + 1] = f[i + 1]\n"                 \
    "      end\n"                                                           \
    "    end\n"                                                             \
    "  elseif f ~= nil then\n"                                              \
    "    for i, v in ipairs(f) do out[i] = v end\n"                         \
    "  end\n"                                                               \
    "  local extra = {'dlq_reason', reason, 'dlq_error', err,\n"            \
    "    'dlq_worker', worker, 'dlq_at', at, 'dlq_source_id', src}\n"       \
    "  for _, v in ipairs(extra) do out[#out + 1] = v end\n"                \
    "  redis.call('XADD', d, 'MAXLEN', '~', maxlen, '*', unpack(out))\n"    \
    "end\n"

/* Acks entry id, then deletes it: only once its replacement is written. */
#define LUA_DROP_FN                                                         \
    "local function drop(s, g, id)\n"                                       \
    "  redis.call('XACK', s, g, id)\n"                                      \
    "  redis.call('XDEL', s, id)\n"                                         \
    "end\n"

/* A delayed-set member's field list: the number of values when f is a
 * list of an even number (2 or more) of strings or numbers, else nil. */
#define LUA_MEMBER_FIELDS_FN                                                \
    "local function member_fields(f)\n"                                     \
    "  if type(f) ~= 'table' then return nil end\n"                         \
    "  local n = #f\n"                                                      \
    "  if n < 2 or n % 2 ~= 0 then return nil end\n"                        \
    "  for i = 1, n do\n"                                                   \
    "    local t = type(f[i])\n"                                            \
    "    if t ~= 'string' and t ~= 'number' then return nil end\n"          \
    "  end\n"                                                               \
    "  return n\n"                                                          \
    "end\n"

/* is_parked(name): whether consumer name is a parked pseudo-consumer;
 * parked_pair(name): its job and version (a number), or nil when name is
 * not one or not of the form <prefix><job>:v<digits>. The job is
 * everything up to the last ":v". */
#define LUA_PARKED_FN                                                       \
    "local parked_prefix = '" QUEUE_PARKED_PREFIX "'\n"                     \
    "local function is_parked(name)\n"                                      \
    "  return string.sub(name, 1, #parked_prefix) == parked_prefix\n"       \
    "end\n"                                                                 \
    "local function parked_pair(name)\n"                                    \
    "  if not is_parked(name) then return nil end\n"                        \
    "  local job, v = string.match(string.sub(name, #parked_prefix + 1),\n" \
    "    '^(.+):v(%d+)$')\n"                                                \
    "  if job == nil then return nil end\n"                                 \
    "  return job, tonumber(v)\n"                                           \
    "end\n"

/* The consumers of group g with entries pending: {{name, count}, ...}. */
#define LUA_OWNERS_FN                                                       \
    "local function owners(s, g)\n"                                         \
    "  local sum = redis.call('XPENDING', s, g)\n"                          \
    "  if type(sum[4]) ~= 'table' then return {} end\n"                     \
    "  return sum[4]\n"                                                     \
    "end\n"

/* other_worker(record, pid, host): '' if the registry record is ours (or
 * gone, or without a host and pid to tell), else "host H pid P" of the
 * worker that wrote it. */
#define LUA_OTHER_FN                                                        \
    "local function other_worker(old, pid, host)\n"                         \
    "  if not old or not pid then return '' end\n"                          \
    "  local ok, r = pcall(cjson.decode, old)\n"                            \
    "  if not ok or type(r) ~= 'table' or r.pid == nil or\n"               \
    "     r.host == nil then return '' end\n"                               \
    "  if tostring(r.pid) == pid and tostring(r.host) == host then\n"       \
    "    return ''\n"                                                       \
    "  end\n"                                                               \
    "  return 'host ' .. tostring(r.host) .. ' pid ' .. tostring(r.pid)\n"  \
    "end\n"

/* readd(s, f, id): writes field list f again at the tail of stream s,
 * fields intact, with `id` added (the entry's id, id) when f has none.
 * The caller has checked own_pairs(f) <= max_fields; nothing is acked or
 * deleted here. */
#define LUA_READD_FN                                                        \
    "local function readd(s, f, id)\n"                                      \
    "  local out, has_id = {}, false\n"                                     \
    "  for i = 1, #f, 2 do\n"                                               \
    "    if f[i] == 'id' then has_id = true end\n"                          \
    "    out[i] = f[i]; out[i + 1] = f[i + 1]\n"                            \
    "  end\n"                                                               \
    "  if not has_id then out[#out + 1] = 'id'; out[#out + 1] = id end\n"   \
    "  redis.call('XADD', s, '*', unpack(out))\n"                           \
    "end\n"

/* hand_back(s, g, d, id, why, worker, at, maxlen): puts entry id of
 * stream s, pending for group g, back at the tail (readd), then acks and
 * deletes it. Returns 'back'; or 'buried' when it has more than
 * max_fields pairs of its own: dead-lettered into d as too_many_fields
 * instead (why, in the error, says where it was found); or 'gone' when it
 * was deleted from the stream: only acked. Needs LUA_BURY_FN,
 * LUA_FIELDS_FN and LUA_DROP_FN pasted before it. */
#define LUA_HAND_BACK_FN                                                    \
    LUA_READD_FN                                                            \
    "local function hand_back(s, g, d, id, why, worker, at, maxlen)\n"      \
    "  local f, r = fields_of(s, id), 'gone'\n"                             \
    "  if f ~= nil and own_pairs(f) > max_fields then\n"                    \
    "    bury(d, f, id, 'too_many_fields', 'stream entry has ' ..\n"        \
    "      own_pairs(f) .. ' fields of its own, over the limit of ' ..\n"   \
    "      max_fields .. ' (' .. why .. ')', worker, at, maxlen)\n"         \
    "    r = 'buried'\n"                                                    \
    "  elseif f ~= nil then\n"                                              \
    "    readd(s, f, id)\n"                                                 \
    "    r = 'back'\n"                                                      \
    "  end\n"                                                               \
    "  drop(s, g, id)\n"                                                    \
    "  return r\n"                                                          \
    "end\n"

/* Lifecycle events (queue/events.h). ev_meta(f): the id, job, v and
 * attempt of field list f (nil: none; the first of each counts);
 * ev_emit(key, maxlen, type, sid, f, extra): appends one event to stream
 * key, bounded by MAXLEN ~ maxlen, with type, id (the job's id, else the
 * stream id sid), job, v, at (server clock, ms; read once per call) and
 * the pairs in extra. ev_cut(s): s cut to EVENTS_ERROR_MAX bytes. Events
 * are extra writes: a script emits them before it acks or deletes. */
#define LUA_EVENT_FN                                                        \
    "local ev_at = nil\n"                                                   \
    "local function ev_meta(f)\n"                                           \
    "  local m = {}\n"                                                      \
    "  if f == nil then return m end\n"                                     \
    "  for i = 1, #f - 1, 2 do\n"                                           \
    "    local k = f[i]\n"                                                  \
    "    if (k == 'id' or k == 'job' or k == 'v' or k == 'attempt' or\n"    \
    "        k == 'last_error') and m[k] == nil then m[k] = f[i + 1] end\n" \
    "  end\n"                                                               \
    "  return m\n"                                                          \
    "end\n"                                                                 \
    "local function ev_cut(s)\n"                                            \
    "  s = tostring(s or '')\n"                                             \
    "  if #s > " LUA_STR(EVENTS_ERROR_MAX) " then\n"                        \
    "    return string.sub(s, 1, " LUA_STR(EVENTS_ERROR_MAX) ") end\n"      \
    "  return s\n"                                                          \
    "end\n"                                                                 \
    "local function ev_emit(key, maxlen, typ, sid, f, extra)\n"             \
    "  if ev_at == nil then\n"                                              \
    "    local t = redis.call('TIME')\n"                                    \
    "    ev_at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"\
    "  end\n"                                                               \
    "  local m = ev_meta(f)\n"                                              \
    "  local out = {'type', typ, 'id', m.id or sid, 'job', m.job or '',\n"  \
    "    'v', m.v or '', 'at', ev_at}\n"                                    \
    "  for _, x in ipairs(extra) do out[#out + 1] = x end\n"                \
    "  redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', unpack(out))\n"  \
    "end\n"

#endif
