/*
 * scripts.c - Lua source of the workers' scripts, queue_scripts[] (the
 * CLI's are in scripts_cli.c, the helpers they share in scripts_lua.h).
 * Keys are always passed in KEYS (cluster-safe: they share the queue's
 * hash tag). Time comes from the Redis server (TIME), so every worker
 * schedules on one clock. The invariant each script keeps is described
 * in scripts.h.
 */
#include "queue/scripts.h"
#include "queue/scripts_complete.h"
#include "queue/scripts_limits.h"
#include "queue/scripts_lua.h"
#include "queue/scripts_schedule.h"

const char *const queue_scripts[SCRIPT_COUNT] = {
    /* COMPLETE: scripts_complete.h */
    [SCRIPT_COMPLETE] = LUA_COMPLETE,

    /* REQUEUE: KEYS[1] stream, KEYS[2] delayed set.
     * ARGV: group, id, delay_ms, due_ms (absolute, server clock; 0 =
     * none), then the new entry's field/value pairs (the worker holds the
     * entry, so Redis need not look it up). The new entry goes to the
     * tail of the stream, or into the delayed set when it is due later;
     * then id is acked, and left to TRIM. Returns 1, or 0 when id was no
     * longer pending (a resend after a lost reply): nothing is added.
     * More than max_fields pairs of its own: an error, and nothing
     * changes. Events on: KEYS[3] is the events stream and ARGV ends
     * with events max len and worker (after the fields): a retried event
     * (attempt and last_error from the new fields, delay_ms, due_ms) is
     * written after the new entry, before the ack. */
    [SCRIPT_REQUEUE] = LUA_NOW_MS LUA_MAX_FIELDS LUA_PENDING_FN LUA_EVENT_FN
        "local f, last = {}, #ARGV\n"
        "if #KEYS >= 3 then last = #ARGV - 2 end\n"
        "for i = 5, last do f[#f + 1] = ARGV[i] end\n"
        "if own_pairs(f) > max_fields then\n"
        "  return redis.error_reply('ERR requeue of entry ' .. ARGV[2] ..\n"
        "    ': ' .. own_pairs(f) .. ' field/value pairs of its own, over '\n"
        "    .. 'the limit of ' .. max_fields .. '; nothing changed')\n"
        "end\n"
        "if not pending(KEYS[1], ARGV[1], ARGV[2]) then return 0 end\n"
        "local d, at = tonumber(ARGV[3]) or 0, tonumber(ARGV[4]) or 0\n"
        "local now = 0\n"
        "if d > 0 or at > 0 then now = now_ms() end\n"
        "if d > 0 then at = now + d end\n"
        "if at > now then\n"
        "  redis.call('ZADD', KEYS[2], at, cmsgpack.pack({ARGV[2], f}))\n"
        "else\n"
        "  redis.call('XADD', KEYS[1], '*', unpack(f))\n"
        "end\n"
        "if #KEYS >= 3 then\n"
        "  local m = ev_meta(f)\n"
        "  ev_emit(KEYS[3], ARGV[#ARGV - 1], 'retried', ARGV[2], f,\n"
        "    {'attempt', m.attempt or '1', 'delay_ms', tostring(d),\n"
        "     'due_ms', tostring(at), 'error', ev_cut(m.last_error),\n"
        "     'worker', ARGV[#ARGV]})\n"
        "end\n"
        "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
        "return 1\n",

    /* DLQ: KEYS[1] stream, KEYS[2] dlq, KEYS[3] record key (optional).
     * ARGV: group, id, reason, error, worker, now_ms, maxlen, record, ttl.
     * Writes the dead letter (dlq_fields when over the limit) and the
     * record, then acks and deletes id. Returns 1, or 0 when id was no
     * longer pending (a resend): nothing is written. Events on: ARGV[10]
     * is the events max len (ARGV[8] and [9] "" without a record) and
     * the last KEY the events stream: a dead_lettered event (reason,
     * error, worker) is written before the ack and delete. */
    [SCRIPT_DLQ] = LUA_BURY_FN LUA_PENDING_FN LUA_FIELDS_FN LUA_DROP_FN
        LUA_EVENT_FN
        "if not pending(KEYS[1], ARGV[1], ARGV[2]) then return 0 end\n"
        "local ev = ARGV[10] ~= nil\n"
        "local f = fields_of(KEYS[1], ARGV[2])\n"
        "bury(KEYS[2], f, ARGV[2], ARGV[3], "
        "ARGV[4], ARGV[5], ARGV[6], ARGV[7])\n"
        "if (ev and #KEYS >= 4) or (not ev and #KEYS >= 3) then\n"
        "  redis.call('SET', KEYS[3], ARGV[8], 'EX', ARGV[9])\n"
        "end\n"
        "if ev then\n"
        "  ev_emit(KEYS[#KEYS], ARGV[10], 'dead_lettered', ARGV[2], f,\n"
        "    {'attempt', ev_meta(f).attempt or '1', 'reason', ARGV[3],\n"
        "     'error', ev_cut(ARGV[4]), 'worker', ARGV[5]})\n"
        "end\n"
        "drop(KEYS[1], ARGV[1], ARGV[2])\n"
        "return 1\n",

    /* RELEASE: KEYS[1] stream, KEYS[2] dlq, optionally KEYS[3] workers
     * zset and KEYS[4] the consumer's registry record. ARGV: group,
     * consumer, now_ms, dlq maxlen, and with KEYS[4] optionally the
     * worker's pid and host (the record is left alone when another
     * process under the same name wrote it last).
     * Re-adds at the tail, fields intact (`id` added when missing),
     * every entry still pending for the consumer, each before its ack and
     * delete; one with more than max_fields pairs of its own is
     * dead-lettered as too_many_fields instead. Then removes the consumer,
     * once nothing is pending for it (never drops a pending entry), and
     * its registry record and member, so a stopped worker leaves the
     * fleet at once. Parked entries belong to pseudo-consumers: untouched.
     * Returns {how many went back, ids dead-lettered}. */
    [SCRIPT_RELEASE] = LUA_BURY_FN LUA_FIELDS_FN LUA_DROP_FN LUA_OTHER_FN
        LUA_HAND_BACK_FN
        "local n, buried = 0, {}\n"
        "for _ = 1, 1000 do\n"
        "  local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 500, "
        "ARGV[2])\n"
        "  if #p == 0 then break end\n"
        "  for _, ent in ipairs(p) do\n"
        "    local r = hand_back(KEYS[1], ARGV[1], KEYS[2], ent[1],\n"
        "      'found pending at shutdown', ARGV[2], ARGV[3], ARGV[4])\n"
        "    if r == 'back' then n = n + 1 end\n"
        "    if r == 'buried' then buried[#buried + 1] = ent[1] end\n"
        "  end\n"
        "end\n"
        "if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])"
        " == 0 then\n"
        "  redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])\n"
        "end\n"
        "if #KEYS >= 4 and other_worker(redis.call('GET', KEYS[4]), "
        "ARGV[5], ARGV[6]) == '' then\n"
        "  redis.call('ZREM', KEYS[3], ARGV[2])\n"
        "  redis.call('DEL', KEYS[4])\n"
        "end\n"
        "return {n, buried}\n",

    /* PROMOTE: KEYS[1] stream, KEYS[2] delayed set, KEYS[3] dlq.
     * ARGV: max to move, worker, dlq maxlen.
     * Each due member is re-added to the stream, or dead-lettered when it
     * cannot be (too_many_fields; invalid_envelope with its bytes in
     * dlq_delayed_member when it is not a {token, {field, value, ...}}
     * pair), and only then removed. Returns {members handled, ms until the
     * next delayed job is due or -1, how many were dead-lettered}. */
    [SCRIPT_PROMOTE] = LUA_NOW_MS LUA_BURY_FN LUA_MEMBER_FIELDS_FN
        "local now = now_ms()\n"
        "local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, "
        "'LIMIT', 0, tonumber(ARGV[1]))\n"
        "local buried = 0\n"
        "for _, m in ipairs(due) do\n"
        "  local ok, e = pcall(cmsgpack.unpack, m)\n"
        "  local token, f = nil, nil\n"
        "  if ok and type(e) == 'table' then token, f = e[1], e[2] end\n"
        "  if type(token) ~= 'string' and type(token) ~= 'number' then\n"
        "    token = nil end\n"
        "  local n = member_fields(f)\n"
        "  if n ~= nil and own_pairs(f) <= max_fields then\n"
        "    redis.call('XADD', KEYS[1], '*', unpack(f))\n"
        "  elseif n ~= nil then\n"
        "    bury(KEYS[3], f, tostring(token or ''), 'too_many_fields',\n"
        "      'delayed job has ' .. own_pairs(f) .. ' fields of its own, '\n"
        "      .. 'over the limit of '"
        "\n"
        "      .. max_fields, ARGV[2], now, ARGV[3])\n"
        "    buried = buried + 1\n"
        "  else\n"
        "    local out = {'" DLQ_FIELD_MEMBER "', m, 'dlq_reason',\n"
        "      'invalid_envelope', 'dlq_error', 'delayed-set member is not '"
        "\n"
        "      .. 'cmsgpack {token, {field, value, ...}} with strings for '\n"
        "      .. 'fields', 'dlq_worker', ARGV[2], 'dlq_at', now}\n"
        "    if token ~= nil then\n"
        "      out[#out + 1] = 'dlq_source_id'; out[#out + 1] = token end\n"
        "    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', "
        "unpack(out))\n"
        "    buried = buried + 1\n"
        "  end\n"
        "  redis.call('ZREM', KEYS[2], m)\n"
        "end\n"
        "local nxt = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')\n"
        "local wait = -1\n"
        "if #nxt == 2 then wait = math.max(0, tonumber(nxt[2]) - now) end\n"
        "return {#due, wait, buried}\n",

    /* RECLAIM: KEYS[1] stream, KEYS[2] dlq. ARGV: group, consumer,
     * lease_ms, count, max_deliveries, now_ms, dlq maxlen.
     * Goes consumer by consumer (XPENDING summary), asking each only for
     * its entries idle longer than the lease, so no number of entries
     * elsewhere hides an expired one. Entries of the consumer itself are
     * never claimed: one still running there past its deadline would only
     * gain deliveries until it became "poison" while it ran. Parked
     * pseudo-consumers are skipped: their entries wait, idle by design,
     * for a worker that serves them (UNPARK) or their expiry.
     * Entries idle longer than the lease (their worker died or hung) are
     * claimed by `consumer`, or, once delivered max_deliveries times,
     * dead-lettered as poison (written before the ack and delete).
     * Returns {claimed entries (XCLAIM reply), their delivery counts,
     * poisoned ids}. */
    [SCRIPT_RECLAIM] = LUA_BURY_FN LUA_FIELDS_FN LUA_DROP_FN LUA_PARKED_FN
        LUA_OWNERS_FN
        "local want = tonumber(ARGV[4])\n"
        "local claim, counts, poisoned = {}, {}, {}\n"
        "for _, o in ipairs(owners(KEYS[1], ARGV[1])) do\n"
        "  local left = want - #claim - #poisoned\n"
        "  if left <= 0 then break end\n"
        "  -- ours: still running here past its deadline (or re-read at\n"
        "  -- start); another worker may take it over, never we ourselves\n"
        "  if o[1] ~= ARGV[2] and not is_parked(o[1]) then\n"
        "    local p = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE',\n"
        "      tonumber(ARGV[3]), '-', '+', left, o[1])\n"
        "    for _, e in ipairs(p) do\n"
        "      if e[4] >= tonumber(ARGV[5]) then\n"
        "        bury(KEYS[2], fields_of(KEYS[1], e[1]), e[1], 'poison',\n"
        "          'delivered ' .. e[4] .. ' times without finishing: each '\n"
        "          .. 'worker running it died, hung or lost its lease (last '\n"
        "          .. 'held by ' .. e[2] .. ')', ARGV[2], ARGV[6], ARGV[7])\n"
        "        drop(KEYS[1], ARGV[1], e[1])\n"
        "        poisoned[#poisoned+1] = e[1]\n"
        "      else\n"
        "        claim[#claim+1] = e[1]; counts[e[1]] = e[4] + 1\n"
        "      end\n"
        "    end\n"
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
     * nothing yet, but the stale ids are deleted all the same. Parked
     * entries are pending too: never cut or deleted (one parked for long
     * holds the cut back; acked entries after it go as stale ids). Returns
     * the cut point ('' when there is none). */
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

    /* PARK: KEYS[1] stream, optionally KEYS[2] dlq. ARGV: group,
     * consumer, id, pseudo-consumer (QUEUE_PARKED_PREFIX
     * "<job>:v<version>"), and with KEYS[2]: the most pairs parked at once,
     * the dead-letter reason and error for a job over it, now_ms, dlq
     * maxlen.
     * If id is still pending for consumer, hands it to the pseudo-consumer
     * (XCLAIM JUSTID, so its idle time starts again) with its delivery
     * count lowered by one: a park did not run the handler, so it does not
     * count toward --max-deliveries. Nothing is acked or deleted: the
     * entry stays in the stream, pending. Returns 1, or 0 when id was not
     * pending for consumer (a resend after a lost reply): nothing changes.
     * A job that would open a new pair when the limit is reached (job
     * names and versions come from producers: random ones must not grow
     * the consumers every scan walks) is dead-lettered instead, written
     * before its ack and delete: returns 2. Events on: KEYS[3] is the
     * events stream and ARGV[10] its max len: a parked event (reason,
     * error, worker), or a dead_lettered one for a job over the limit,
     * is written before the claim, ack or delete. */
    [SCRIPT_PARK] = LUA_BURY_FN LUA_FIELDS_FN LUA_DROP_FN LUA_PARKED_FN
        LUA_EVENT_FN
        "local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], "
        "ARGV[3], 1)\n"
        "if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end\n"
        "local function ev(typ, why, err)\n"
        "  if #KEYS < 3 or ARGV[10] == nil then return end\n"
        "  ev_emit(KEYS[3], ARGV[10], typ, ARGV[3], fields_of(KEYS[1], "
        "ARGV[3]),\n"
        "    {'reason', why, 'error', ev_cut(err), 'worker', ARGV[2]})\n"
        "end\n"
        "if #KEYS >= 2 and ARGV[5] and #redis.call('XPENDING', KEYS[1], "
        "ARGV[1], '-', '+', 1, ARGV[4]) == 0 then\n"
        "  local pairs_now = 0\n"
        "  local s = redis.call('XPENDING', KEYS[1], ARGV[1])\n"
        "  for _, c in ipairs(s[4] or {}) do\n"
        "    if is_parked(c[1]) then pairs_now = pairs_now + 1 end\n"
        "  end\n"
        "  if pairs_now >= tonumber(ARGV[5]) then\n"
        "    bury(KEYS[2], fields_of(KEYS[1], ARGV[3]), ARGV[3], ARGV[6],\n"
        "      ARGV[7] .. '; not parked: ' .. pairs_now .. ' (job, version) '"
        "\n"
        "      .. 'pairs are parked on this queue already, the limit', "
        "ARGV[2],\n"
        "      ARGV[8], ARGV[9])\n"
        "    ev('dead_lettered', ARGV[6], ARGV[7])\n"
        "    drop(KEYS[1], ARGV[1], ARGV[3])\n"
        "    return 2\n"
        "  end\n"
        "end\n"
        "ev('parked', ARGV[6], ARGV[7])\n"
        "local n = math.max(0, tonumber(p[1][4]) - 1)\n"
        "redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[4], 0, ARGV[3], "
        "'RETRYCOUNT', n, 'JUSTID')\n"
        "return 1\n",

    /* UNPARK: KEYS[1] stream. ARGV: group, consumer, room, start, then
     * what the consumer serves as triples job, min version, max version.
     * For every parked pseudo-consumer whose (job, version) is served,
     * beginning with the start-th of them (mod their number, so no pair
     * starves the others), claims its oldest entries for consumer (XCLAIM
     * counts a delivery), at most room in all; XCLAIM drops an entry
     * deleted from the stream from the pending list. Pairs not served are
     * never touched. Nothing is written or removed. Returns {claimed
     * entries (XCLAIM reply), their delivery counts, {job, version, how
     * many} per pair taken from, how many served entries are still
     * parked}. */
    [SCRIPT_UNPARK] = LUA_PARKED_FN LUA_OWNERS_FN
        "local room = tonumber(ARGV[3])\n"
        "local ranges = {}\n"
        "for i = 5, #ARGV - 2, 3 do\n"
        "  local r = ranges[ARGV[i]] or {}\n"
        "  r[#r + 1] = {tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])}\n"
        "  ranges[ARGV[i]] = r\n"
        "end\n"
        "local cands = {}\n"
        "for _, o in ipairs(owners(KEYS[1], ARGV[1])) do\n"
        "  local job, v = parked_pair(o[1])\n"
        "  for _, r in ipairs(job and ranges[job] or {}) do\n"
        "    if v >= r[1] and v <= r[2] then\n"
        "      cands[#cands + 1] = {o[1], job, v, tonumber(o[2])}\n"
        "      break\n"
        "    end\n"
        "  end\n"
        "end\n"
        "local got, counts, taken, left = {}, {}, {}, 0\n"
        "local first = #cands > 0 and tonumber(ARGV[4]) % #cands or 0\n"
        "for k = 1, #cands do\n"
        "  local c = cands[(first + k - 1) % #cands + 1]\n"
        "  local ids, dc = {}, {}\n"
        "  if room > 0 then\n"
        "    for _, e in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], "
        "'-', '+', room, c[1])) do\n"
        "      ids[#ids + 1] = e[1]; dc[e[1]] = e[4] + 1\n"
        "    end\n"
        "  end\n"
        "  if #ids > 0 then\n"
        "    room = room - #ids\n"
        "    local cl = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, "
        "unpack(ids))\n"
        "    for _, e in ipairs(cl) do\n"
        "      got[#got + 1] = e; counts[#counts + 1] = dc[e[1]] or 1\n"
        "    end\n"
        "    taken[#taken + 1] = {c[2], c[3], #cl}\n"
        "  end\n"
        "  left = left + c[4] - #ids\n"
        "end\n"
        "return {got, counts, taken, left}\n",

    /* PARK_EXPIRE: KEYS[1] stream, KEYS[2] dlq, KEYS[3] workers zset,
     * KEYS[4] the registry records' key prefix (append a consumer; same
     * slot), KEYS[5] the disabled jobs (a hash: a job in it never expires
     * while parked, however long). ARGV: group, consumer, park ttl ms, max entries, worker ttl
     * ms, dlq maxlen.
     * Dead-letters parked entries idle longer than the park ttl, at most
     * max entries per call: the dead letter first, then the ack and
     * delete. The reason is schema_unsupported when a live worker (zset
     * score >= now - worker ttl) serves the job at some version (its
     * record's "plugins": [{"serves": [{"job", "min", "max"}, ...]}, ...],
     * or a top-level "serves", read with cjson), else no_handler. An
     * entry already deleted from the stream is only acked. Returns {{id,
     * reason, error} per dead letter, acked ids of deleted entries}. */
    [SCRIPT_PARK_EXPIRE] = LUA_NOW_MS LUA_BURY_FN LUA_FIELDS_FN LUA_DROP_FN
        LUA_PARKED_FN LUA_OWNERS_FN
        "local now = now_ms()\n"
        "local left = tonumber(ARGV[4])\n"
        "local live = nil\n"
        "local function served(job)\n"
        "  if live == nil then\n"
        "    live = {}\n"
        "    for _, w in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3],\n"
        "        string.format('%.0f', now - tonumber(ARGV[5])), '+inf')) do\n"
        "      local ok, t = pcall(cjson.decode,\n"
        "        redis.call('GET', KEYS[4] .. w) or '')\n"
        "      local lists = {}\n"
        "      if ok and type(t) == 'table' then\n"
        "        lists[1] = t.serves\n"
        "        if type(t.plugins) == 'table' then\n"
        "          for _, p in ipairs(t.plugins) do\n"
        "            if type(p) == 'table' then lists[#lists + 1] = p.serves "
        "end\n"
        "          end\n"
        "        end\n"
        "      end\n"
        "      for _, l in pairs(lists) do\n"
        "        for _, x in ipairs(type(l) == 'table' and l or {}) do\n"
        "          if type(x) == 'table' and type(x.job) == 'string' then\n"
        "            local r = live[x.job] or {}\n"
        "            r[#r + 1] = {tonumber(x.min), tonumber(x.max)}\n"
        "            live[x.job] = r\n"
        "          end\n"
        "        end\n"
        "      end\n"
        "    end\n"
        "  end\n"
        "  return live[job]\n"
        "end\n"
        "local function span(ms)\n"
        "  local s = math.floor(ms / 1000)\n"
        "  if s >= 86400 then return math.floor(s / 86400) .. 'd ' ..\n"
        "    math.floor(s % 86400 / 3600) .. 'h' end\n"
        "  if s >= 3600 then return math.floor(s / 3600) .. 'h ' ..\n"
        "    math.floor(s % 3600 / 60) .. 'm' end\n"
        "  if s >= 60 then return math.floor(s / 60) .. 'm ' .. s % 60 .. "
        "'s' end\n"
        "  return s .. 's'\n"
        "end\n"
        "local dead, gone = {}, {}\n"
        "for _, o in ipairs(owners(KEYS[1], ARGV[1])) do\n"
        "  if left <= 0 then break end\n"
        "  local held = false\n"
        "  if is_parked(o[1]) then\n"
        "    local j = parked_pair(o[1])\n"
        "    held = j ~= nil and redis.call('HEXISTS', KEYS[5], j) == 1\n"
        "  end\n"
        "  if is_parked(o[1]) and not held then\n"
        "    local job, v = parked_pair(o[1])\n"
        "    local what = job and (job .. ' v' .. v) or o[1]\n"
        "    local reason, err = 'no_handler', 'no live worker serves '\n"
        "    local r = job and served(job)\n"
        "    if r then\n"
        "      reason = 'schema_unsupported'\n"
        "      for _, x in ipairs(r) do\n"
        "        if x[1] and x[2] and v >= x[1] and v <= x[2] then\n"
        "          err = 'no live worker took ' end\n"
        "      end\n"
        "    end\n"
        "    for _, e in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], "
        "'IDLE',\n"
        "        tonumber(ARGV[3]), '-', '+', left, o[1])) do\n"
        "      local f = fields_of(KEYS[1], e[1])\n"
        "      if f == nil then\n"
        "        redis.call('XACK', KEYS[1], ARGV[1], e[1])\n"
        "        gone[#gone + 1] = e[1]\n"
        "      else\n"
        "        local text = 'parked ' .. span(e[3]) .. ': ' .. err .. what\n"
        "        bury(KEYS[2], f, e[1], reason, text, ARGV[2], now, "
        "ARGV[6])\n"
        "        drop(KEYS[1], ARGV[1], e[1])\n"
        "        dead[#dead + 1] = {e[1], reason, text}\n"
        "      end\n"
        "      left = left - 1\n"
        "    end\n"
        "  end\n"
        "end\n"
        "return {dead, gone}\n",

    /* HEARTBEAT: KEYS[1] workers zset, KEYS[2] the consumer's record.
     * ARGV: consumer, record (JSON), ttl ms, and optionally the worker's
     * pid and host.
     * Writes the record with the ttl and the consumer's score, the Redis
     * server's clock in ms (so workers with skewed clocks agree on who is
     * live: score >= now - ttl), and drops members older than that.
     * Returns {now, who}: who is "" unless the record it replaced was
     * written by another process under the same consumer name ("host H
     * pid P"), which the worker reports. */
    [SCRIPT_HEARTBEAT] = LUA_NOW_MS LUA_OTHER_FN
        "local now = now_ms()\n"
        "local who = other_worker(redis.call('GET', KEYS[2]), ARGV[4], "
        "ARGV[5])\n"
        "redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])\n"
        "redis.call('ZADD', KEYS[1], now, ARGV[1])\n"
        "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', "
        "string.format('(%.0f', now - tonumber(ARGV[3])))\n"
        "return {now, who}\n",

    /* CLEANUP: KEYS[1] stream, KEYS[2] workers zset. ARGV: group,
     * consumer, worker ttl ms, min idle ms, max removals.
     * Removes from the group (XGROUP DELCONSUMER) every consumer with
     * nothing pending that is a parked pseudo-consumer, or that is idle
     * longer than min idle and not a live registry member (no score, or
     * one below now - worker ttl). Never the consumer itself, never one
     * with entries pending (DELCONSUMER would drop them). Returns the
     * names removed. */
    [SCRIPT_CLEANUP] = LUA_NOW_MS LUA_PARKED_FN
        "if redis.call('EXISTS', KEYS[1]) == 0 then return {} end\n"
        "local list = redis.pcall('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])\n"
        "if type(list) ~= 'table' or list.err then return {} end\n"
        "local now, removed = now_ms(), {}\n"
        "for _, c in ipairs(list) do\n"
        "  if #removed >= tonumber(ARGV[5]) then break end\n"
        "  local f = {}\n"
        "  for i = 1, #c - 1, 2 do f[c[i]] = c[i + 1] end\n"
        "  local name = f['name']\n"
        "  if f['pending'] == 0 and name ~= ARGV[2] then\n"
        "    local dead = is_parked(name)\n"
        "    if not dead and f['idle'] > tonumber(ARGV[4]) then\n"
        "      local s = redis.call('ZSCORE', KEYS[2], name)\n"
        "      dead = not s or tonumber(s) < now - tonumber(ARGV[3])\n"
        "    end\n"
        "    if dead then\n"
        "      redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], name)\n"
        "      removed[#removed + 1] = name\n"
        "    end\n"
        "  end\n"
        "end\n"
        "return removed\n",

    /* RELOAD_REPLY: KEYS[1] the request's reply hash. ARGV: consumer,
     * outcome (JSON), ttl s. Sets the consumer's field and the hash's
     * ttl; a resend writes the same again. Returns 1. */
    [SCRIPT_RELOAD_REPLY] =
        "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
        "redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
        "return 1\n",

    /* WORKER_LOST: KEYS[1] stream, KEYS[2] dlq, KEYS[3] workers zset,
     * KEYS[4] the dead worker's registry record, KEYS[5] delayed set,
     * KEYS[5 + i] the outcome record key of listed job i. ARGV: group,
     * consumer (the worker process that died), its pid and host as its
     * record names them ('' when unknown: the record is then left to
     * expire), now_ms (dlq_at), lease ms, max deliveries, dlq maxlen,
     * failure ttl s (0: no records), n (<= QUEUE_LOST_JOBS_MAX), then 7
     * values per listed job: stream id, job id ('' = the stream id), kind
     * (charge | timeout), error, record ('' = none), next attempt (0 =
     * none left), retry delay ms.
     * Arguments are checked first: a malformed call changes nothing.
     * Each listed job still pending for consumer (else skipped: another
     * worker took it over, or it finished): charge with a delivery count
     * below max deliveries stays pending, charged, with its idle time set
     * to the lease (XCLAIM IDLE JUSTID keeps the count), so the next
     * RECLAIM of any live worker takes it; charge at the limit is
     * dead-lettered as poison, timeout without a next attempt as timeout
     * (the dead letter, then the record, then the ack and delete);
     * timeout with one is re-added with attempt and last_error set (`id`
     * added when missing) into the delayed set (due now + delay, server
     * clock; the token is the stream id, as REQUEUE) or at the tail when
     * the delay is 0, then acked and deleted. Then every other entry
     * pending for consumer is handed back at the tail, fields intact and
     * not charged (hand_back; over max_fields: too_many_fields), but one
     * delivered more than once stays pending, reclaimable at once, with
     * its count lowered by one (RECLAIM adds it back), moved to the
     * consumer "lost:<consumer>" (so a resend leaves it): an innocent keeps
     * the deliveries it earned before, so a crasher that happens to be
     * beside another's crash is not forgiven its own. An entry
     * deleted from the stream is only acked. Then the registry record and
     * member go, unless another process wrote the record (other_worker),
     * and the consumer, once nothing is pending for it. Parked
     * pseudo-consumers are never touched. A resend finds nothing of its
     * own pending but the charged entries, whose counts it keeps.
     * Returns {consumer, how many handed back, charged {id, job, count},
     * poisoned {id, job, count, error}, retried {id, job, attempt, delay},
     * timed out {id, job, count, error}, skipped {id, job, holder ('' =
     * none)}, too_many_fields {id, job ('' = unlisted)}, how many were
     * gone, who wrote the record when it was kept ('' = removed), how many
     * unlisted ones were kept pending}. */
    [SCRIPT_WORKER_LOST] = LUA_NOW_MS LUA_BURY_FN LUA_FIELDS_FN LUA_DROP_FN
        LUA_PARKED_FN LUA_OTHER_FN LUA_HAND_BACK_FN
        "local g, me, at, maxlen, ttl = ARGV[1], ARGV[2], ARGV[5], ARGV[8], "
        "ARGV[9]\n"
        "local lease, maxd = tonumber(ARGV[6]), tonumber(ARGV[7])\n"
        "local n = tonumber(ARGV[10])\n"
        "local function refuse(why)\n"
        "  return redis.error_reply('ERR worker-lost for consumer ' ..\n"
        "    tostring(me) .. ': ' .. why .. '; nothing changed')\n"
        "end\n"
        "if me == nil or me == '' or is_parked(me) then\n"
        "  return refuse('not a worker') end\n"
        "if not (lease and maxd and n and tonumber(ttl)) or n < 0 or\n"
        "   n > " LUA_STR(QUEUE_LOST_JOBS_MAX) " or #ARGV ~= 10 + 7 * n or "
        "#KEYS ~= 5 + n then\n"
        "  return refuse('malformed arguments')\n"
        "end\n"
        "local jobs, listed = {}, {}\n"
        "for i = 1, n do\n"
        "  local b = 10 + 7 * (i - 1)\n"
        "  local j = {sid = ARGV[b + 1], jid = ARGV[b + 2], kind = ARGV[b + 3],"
        "\n"
        "    err = ARGV[b + 4], rec = ARGV[b + 5], nxt = tonumber(ARGV[b + 6]),"
        "\n"
        "    delay = tonumber(ARGV[b + 7]), key = KEYS[5 + i]}\n"
        "  if not string.match(j.sid, '^%d+%-%d+$') or not j.nxt or\n"
        "     not j.delay or (j.kind ~= 'charge' and j.kind ~= 'timeout') "
        "then\n"
        "    return refuse('listed job ' .. i .. ' is malformed')\n"
        "  end\n"
        "  if j.jid == '' then j.jid = j.sid end\n"
        "  if not listed[j.sid] then listed[j.sid] = true; jobs[#jobs + 1] = j "
        "end\n"
        "end\n"
        "local why = 'found pending for worker ' .. me .. ', which died'\n"
        "local back, gone, kept = 0, 0, 0\n"
        "local charged, poisoned, retried, dead, skipped, buried =\n"
        "  {}, {}, {}, {}, {}, {}\n"
        "local sum = redis.pcall('XPENDING', KEYS[1], g)\n"
        "local grouped = type(sum) == 'table' and sum.err == nil\n"
        "for _, j in ipairs(jobs) do\n"
        "  local p = grouped and redis.call('XPENDING', KEYS[1], g, j.sid,\n"
        "    j.sid, 1) or {}\n"
        "  if #p == 0 or p[1][2] ~= me then\n"
        "    skipped[#skipped + 1] = {j.sid, j.jid, #p > 0 and p[1][2] or ''}\n"
        "  else\n"
        "    local dc, f = tonumber(p[1][4]), fields_of(KEYS[1], j.sid)\n"
        "    if f == nil then\n"
        "      redis.call('XACK', KEYS[1], g, j.sid)\n"
        "      gone = gone + 1\n"
        "    elseif j.kind == 'charge' and dc < maxd then\n"
        "      redis.call('XCLAIM', KEYS[1], g, me, 0, j.sid, 'IDLE', lease,\n"
        "        'JUSTID')\n"
        "      charged[#charged + 1] = {j.sid, j.jid, dc}\n"
        "    elseif j.kind == 'charge' or j.nxt == 0 then\n"
        "      local reason = j.kind == 'charge' and 'poison' or 'timeout'\n"
        "      bury(KEYS[2], f, j.sid, reason, j.err, me, at, maxlen)\n"
        "      if j.rec ~= '' and tonumber(ttl) > 0 then\n"
        "        redis.call('SET', j.key, j.rec, 'EX', ttl)\n"
        "      end\n"
        "      drop(KEYS[1], g, j.sid)\n"
        "      local l = reason == 'poison' and poisoned or dead\n"
        "      l[#l + 1] = {j.sid, j.jid, dc, j.err}\n"
        "    elseif own_pairs(f) > max_fields then\n"
        "      hand_back(KEYS[1], g, KEYS[2], j.sid, why, me, at, maxlen)\n"
        "      buried[#buried + 1] = {j.sid, j.jid}\n"
        "    else\n"
        "      local out, has_id = {}, false\n"
        "      for i = 1, #f - 1, 2 do\n"
        "        local k = f[i]\n"
        "        if k == 'id' then has_id = true end\n"
        "        if k ~= 'attempt' and (k ~= 'last_error' or j.err == '') "
        "then\n"
        "          out[#out + 1] = k; out[#out + 1] = f[i + 1]\n"
        "        end\n"
        "      end\n"
        "      if not has_id then out[#out + 1] = 'id'; out[#out + 1] = j.jid "
        "end\n"
        "      out[#out + 1] = 'attempt'; out[#out + 1] = tostring(j.nxt)\n"
        "      if j.err ~= '' then\n"
        "        out[#out + 1] = 'last_error'; out[#out + 1] = j.err\n"
        "      end\n"
        "      if j.delay > 0 then\n"
        "        redis.call('ZADD', KEYS[5], now_ms() + j.delay,\n"
        "          cmsgpack.pack({j.sid, out}))\n"
        "      else\n"
        "        redis.call('XADD', KEYS[1], '*', unpack(out))\n"
        "      end\n"
        "      drop(KEYS[1], g, j.sid)\n"
        "      retried[#retried + 1] = {j.sid, j.jid, j.nxt, j.delay}\n"
        "    end\n"
        "  end\n"
        "end\n"
        "local start = '-'\n"
        "for _ = 1, grouped and 1000 or 0 do\n"
        "  local p = redis.call('XPENDING', KEYS[1], g, start, '+', 500, me)\n"
        "  if #p == 0 then break end\n"
        "  for _, e in ipairs(p) do\n"
        "    if not listed[e[1]] and e[4] > 1 then\n"
        "      -- delivered before: keep the deliveries it earned (a new entry\n"
        "      -- would start at 0 and a crasher could loop); reclaimable now,\n"
        "      -- and RECLAIM's +1 gives back this delivery's. Moved to\n"
        "      -- 'lost:<consumer>', so a resend does not lower it again.\n"
        "      redis.call('XCLAIM', KEYS[1], g, 'lost:' .. me, 0, e[1], 'IDLE',\n"
        "        lease, 'RETRYCOUNT', e[4] - 1, 'JUSTID')\n"
        "      kept = kept + 1\n"
        "    elseif not listed[e[1]] then\n"
        "      local r = hand_back(KEYS[1], g, KEYS[2], e[1], why, me, at, "
        "maxlen)\n"
        "      if r == 'back' then back = back + 1\n"
        "      elseif r == 'buried' then buried[#buried + 1] = {e[1], ''}\n"
        "      else gone = gone + 1 end\n"
        "    end\n"
        "  end\n"
        "  start = '(' .. p[#p][1]\n"
        "end\n"
        "local who = other_worker(redis.call('GET', KEYS[4]), ARGV[3], "
        "ARGV[4])\n"
        "if who == '' then\n"
        "  redis.call('ZREM', KEYS[3], me)\n"
        "  redis.call('DEL', KEYS[4])\n"
        "end\n"
        "if grouped and #redis.call('XPENDING', KEYS[1], g, '-', '+', 1, me) "
        "== 0 then\n"
        "  redis.call('XGROUP', 'DELCONSUMER', KEYS[1], g, me)\n"
        "end\n"
        "return {me, back, charged, poisoned, retried, dead, skipped, buried, "
        "gone, who, kept}\n",

    /* GIVE_BACK: KEYS[1] stream. ARGV: group, consumer, id, lease_ms.
     * An entry delivered more than once that this worker cannot take (no
     * free slot, it stopped taking jobs) goes back without losing the
     * deliveries it earned (a new entry would start again at 0): if still
     * pending for consumer, it moves to QUEUE_LOST_PREFIX "<consumer>",
     * idle for the lease and its count lowered by one, so any worker's
     * next RECLAIM (which adds the one back) takes it. Nothing is written
     * or removed. Returns 1, or 0 when it was not consumer's (a resend
     * after a lost reply: already moved). */
    [SCRIPT_GIVE_BACK] =
        "local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], "
        "ARGV[3], 1)\n"
        "if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end\n"
        "redis.call('XCLAIM', KEYS[1], ARGV[1], '" QUEUE_LOST_PREFIX "' .. "
        "ARGV[2], 0, ARGV[3], 'IDLE', tonumber(ARGV[4]), 'RETRYCOUNT',\n"
        "  math.max(0, p[1][4] - 1), 'JUSTID')\n"
        "return 1\n",

    /* The schedules' scripts: their keys and arguments are described
     * in scripts_schedule.h. */
    [SCRIPT_SCHEDULE_DUE] = LUA_SCHEDULE_DUE,
    [SCRIPT_SCHEDULE_FIRE] = LUA_SCHEDULE_FIRE,
    /* The limits' scripts: their keys and arguments are described in
     * scripts_limits.h. */
    [SCRIPT_LIMIT_SET] = LUA_LIMIT_SET,
    [SCRIPT_LIMIT_RESERVE] = LUA_LIMIT_RESERVE,
    [SCRIPT_LIMIT_ACQUIRE] = LUA_LIMIT_ACQUIRE,
    [SCRIPT_LIMIT_RENEW] = LUA_LIMIT_RENEW,
    [SCRIPT_LIMIT_RELEASE] = LUA_LIMIT_RELEASE,
    [SCRIPT_RECORDS_PRUNE] = LUA_RECORDS_PRUNE,
};
