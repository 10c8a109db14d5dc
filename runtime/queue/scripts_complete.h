/*
 * scripts_complete.h - Lua source of COMPLETE, the script that writes a
 * completion batch's succeeded records into the queue's record bucket
 * (queue/records.h) and then acks the batch, as a C string literal for
 * queue_scripts[] (scripts.c). Not for use outside runtime/queue/.
 */
#ifndef JOBRT_QUEUE_SCRIPTS_COMPLETE_H
#define JOBRT_QUEUE_SCRIPTS_COMPLETE_H

/* COMPLETE, the form used while events are on (without events, ops.c
 * sends the same writes as one MULTI/EXEC and RECORDS_PRUNE below).
 * KEYS[1] stream, KEYS[2] the record bucket of now (a hash
 * job id -> compact record), KEYS[3] its build table (a hash build key
 * -> JSON), KEYS[4] the queue's bucket index (queue/records.h).
 * ARGV: group, bucket start, when it may go (s since the epoch), in how
 * many seconds its keys expire, the worker's now (s; unused: buckets go
 * by the server's clock), n, id_1..id_n, m, m pairs job id, record, b, b pairs
 * build key, JSON. Writes the records and builds, sets the bucket's
 * expiry relative to now (EXPIRE NX, then GT: only ever later, and a
 * batch sent late expires later, never at once), and when the bucket is
 * new in the index, UNLINKs the buckets whose time has come; then acks. Acked entries
 * stay in the stream until TRIM cuts below them. A batch with no
 * records and no events is sent as a plain XACK instead. A resend
 * writes the same records again.
 * Events on (queue/events.h): KEYS[5] is the events stream and ARGV
 * goes on after the builds with events max len, worker, s, then s
 * started entries, then c, then c completed entries, each a JSON
 * array of jobs {"id","job","v","attempt"} ("[]": skipped). It writes
 * one stream entry per array (type, jobs, at, worker), the started
 * ones first, all before the ack, then trims the events stream once
 * (MAXLEN ~ max len); a resend writes them again. n may be 0 (started
 * events only). */
#define LUA_COMPLETE                                                         \
    "local n = tonumber(ARGV[6])\n"                                          \
    "local o = 7 + n\n"                                                      \
    "local m = tonumber(ARGV[o])\n"                                          \
    "if m > 0 then\n"                                                        \
    "  redis.call('HSET', KEYS[2], unpack(ARGV, o + 1, o + 2 * m))\n"        \
    "end\n"                                                                  \
    "o = o + 2 * m + 1\n"                                                    \
    "local nb = tonumber(ARGV[o])\n"                                         \
    "if nb > 0 then\n"                                                       \
    "  redis.call('HSET', KEYS[3], unpack(ARGV, o + 1, o + 2 * nb))\n"       \
    "end\n"                                                                  \
    "o = o + 2 * nb\n"                                                       \
    "if m > 0 then\n"                                                        \
    "  if redis.call('ZADD', KEYS[4], 'GT', ARGV[3], ARGV[2]) == 1 then\n"   \
    "    -- a new bucket: free those whose time has come (server clock)\n"   \
    "    local old = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf',\n"         \
    "      '(' .. redis.call('TIME')[1], 'LIMIT', 0, 64)\n"                  \
    "    for _, start in ipairs(old) do\n"                                   \
    "      local bk = KEYS[4] .. ':' .. start\n"                             \
    "      redis.call('UNLINK', bk, bk .. ':builds')\n"                      \
    "      redis.call('ZREM', KEYS[4], start)\n"                             \
    "    end\n"                                                              \
    "  end\n"                                                                \
    "  -- relative, only ever later; the index has no TTL\n"                 \
    "  for i = 2, 3 do\n"                                                    \
    "    redis.call('EXPIRE', KEYS[i], ARGV[4], 'NX')\n"                     \
    "    redis.call('EXPIRE', KEYS[i], ARGV[4], 'GT')\n"                     \
    "  end\n"                                                                \
    "end\n"                                                                  \
    "if #KEYS >= 5 then\n"                                                   \
    "  local ek, ml, wk = KEYS[5], ARGV[o + 1], ARGV[o + 2]\n"               \
    "  local t = redis.call('TIME')\n"                                       \
    "  local at = t[1] .. string.sub(string.format('%06d', "                 \
    "tonumber(t[2])), 1, 3)\n"                                               \
    "  local k = 0\n"                                                        \
    "  o = o + 3\n"                                                          \
    "  for _, typ in ipairs({'started', 'completed'}) do\n"                  \
    "    for _ = 1, tonumber(ARGV[o]) do\n"                                  \
    "      o = o + 1\n"                                                      \
    "      if ARGV[o] ~= '[]' then\n"                                        \
    "        redis.call('XADD', ek, '*', 'type', typ, 'jobs', ARGV[o],\n"    \
    "          'at', at, 'worker', wk)\n"                                    \
    "        k = k + 1\n"                                                    \
    "      end\n"                                                            \
    "    end\n"                                                              \
    "    o = o + 1\n"                                                        \
    "  end\n"                                                                \
    "  -- one trim for the call, not one per XADD\n"                         \
    "  if k > 0 then redis.call('XTRIM', ek, 'MAXLEN', '~', ml) end\n"       \
    "end\n"                                                                  \
    "local ids = {}\n"                                                       \
    "for i = 1, n do\n"                                                      \
    "  ids[#ids + 1] = ARGV[6 + i]\n"                                        \
    "  if #ids == 1000 or i == n then\n"                                     \
    "    redis.call('XACK', KEYS[1], ARGV[1], unpack(ids)); ids = {}\n"      \
    "  end\n"                                                                \
    "end\n"                                                                  \
    "return n\n"

/* RECORDS_PRUNE: KEYS[1] the queue's bucket index. By the server's
 * clock (TIME), UNLINKs (freed off the main thread) up to 64 record buckets whose time
 * has come, with their build tables, and takes them out of the index.
 * Sent by a worker when it opens a new bucket (ops.c; the events form of
 * COMPLETE does the same itself). Returns how many it freed. */
#define LUA_RECORDS_PRUNE                                                    \
    "local now = redis.call('TIME')[1]\n"                                    \
    "local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now,\n" \
    "  'LIMIT', 0, 64)\n"                                                    \
    "for _, start in ipairs(old) do\n"                                       \
    "  local bk = KEYS[1] .. ':' .. start\n"                                 \
    "  redis.call('UNLINK', bk, bk .. ':builds')\n"                          \
    "  redis.call('ZREM', KEYS[1], start)\n"                                 \
    "end\n"                                                                  \
    "return #old\n"

#endif
