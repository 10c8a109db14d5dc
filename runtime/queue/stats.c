/*
 * stats.c - one queue's numbers in one EVAL (stats.h): a read-only Lua
 * script asks Redis for the stream's length, the group's lag, pending
 * count and last delivered id, the pending summary per consumer (parked
 * pairs apart), the delayed set's and the DLQ's sizes, the live registry
 * members and the oldest waiting entry, all against the server's TIME.
 *
 * Its cost is bounded: every command it runs is O(1) or O(log n) but
 * XPENDING's summary, which is linear in the group's consumers (workers,
 * parked pairs and lost: holders, which cleanup keeps few) and the sort
 * of the parked pairs by count; the pairs it returns are the
 * QUEUE_STATS_PARKED_PAIRS largest.
 */
#include "queue/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "queue/scripts_lua.h"

/* KEYS: stream, delayed, dlq, workers, paused, disabled. ARGV: group, worker TTL ms, pairs
 * cap, the parked prefix. Returns {now, length, waiting (-1: unknown), pending, parked,
 * delayed, dlq, live workers, oldest waiting age (-1: none),
 * {consumer, count, ...} of the largest parked pairs (at most the cap,
 * largest first)}. */
static const char *const stats_script = LUA_NOW_MS
    "local now = now_ms()\n"
    "local len, waiting, pending, parked = 0, 0, 0, 0\n"
    "local oldest, pairs_out = -1, {}\n"
    "local after = nil\n"
    "if redis.call('EXISTS', KEYS[1]) == 1 then\n"
    "  len = redis.call('XLEN', KEYS[1])\n"
    "  local found = false\n"
    "  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do\n"
    "    local h = {}\n"
    "    for i = 1, #g - 1, 2 do h[g[i]] = g[i + 1] end\n"
    "    if h['name'] == ARGV[1] then\n"
    "      found = true\n"
    "      pending = tonumber(h['pending']) or 0\n"
    "      if h['lag'] then waiting = tonumber(h['lag']) else waiting = -1 end\n"
    "      after = '(' .. h['last-delivered-id']\n"
    "    end\n"
    "  end\n"
    "  if not found then\n"
    /* entries added before any worker made the group all wait */
    "    waiting = len\n"
    "    after = '-'\n"
    "  end\n"
    "  if found and pending > 0 then\n"
    "    local s = redis.call('XPENDING', KEYS[1], ARGV[1])\n"
    "    local cap = tonumber(ARGV[3])\n"
    "    local all = {}\n"
    "    if type(s[4]) == 'table' then\n"
    "      for _, c in ipairs(s[4]) do\n"
    "        if string.sub(c[1], 1, #ARGV[4]) == ARGV[4] then\n"
    "          local n = tonumber(c[2]) or 0\n"
    "          parked = parked + n\n"
    "          all[#all + 1] = {c[1], n}\n"
    "        end\n"
    "      end\n"
    "    end\n"
    /* the largest pairs first; equal counts by name, so the list is
     * stable from one read to the next */
    "    table.sort(all, function(a, b)\n"
    "      if a[2] ~= b[2] then return a[2] > b[2] end\n"
    "      return a[1] < b[1]\n"
    "    end)\n"
    "    for i = 1, math.min(#all, cap) do\n"
    "      pairs_out[#pairs_out + 1] = all[i][1]\n"
    "      pairs_out[#pairs_out + 1] = all[i][2]\n"
    "    end\n"
    "  end\n"
    "  if waiting ~= 0 then\n"
    "    local e = redis.call('XRANGE', KEYS[1], after, '+', 'COUNT', 1)\n"
    "    if #e > 0 then\n"
    "      local ms = tonumber(string.match(e[1][1], '^(%d+)')) or now\n"
    "      oldest = now - ms\n"
    "      if oldest < 0 then oldest = 0 end\n"
    "    elseif waiting < 0 then\n"
    "      waiting = 0\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local delayed = redis.call('ZCARD', KEYS[2])\n"
    "local dlq = redis.call('XLEN', KEYS[3])\n"
    "local live = redis.call('ZCOUNT', KEYS[4], now - tonumber(ARGV[2]), "
    "'+inf')\n"
    "local paused = redis.call('GET', KEYS[5])\n"
    "local dis = redis.call('HKEYS', KEYS[6])\n"
    "table.sort(dis)\n"
    "local dis_out = {#dis}\n"
    "for i = 1, math.min(#dis, tonumber(ARGV[5])) do\n"
    "  dis_out[#dis_out + 1] = dis[i]\n"
    "end\n"
    "return {now, len, waiting, pending, parked, delayed, dlq, live, "
    "oldest, pairs_out, paused, dis_out}\n";

int queue_parse_parked_pair(const char *name, size_t len,
                            queue_parked_pair_t *p)
{
    size_t plen = strlen(QUEUE_PARKED_PREFIX);
    if (len <= plen || memcmp(name, QUEUE_PARKED_PREFIX, plen) != 0)
        return 0;
    const char *job = name + plen;
    size_t rest = len - plen;
    size_t cut = rest; /* the last ":v" */
    for (size_t i = rest; i >= 2; i--)
        if (job[i - 2] == ':' && job[i - 1] == 'v') {
            cut = i - 2;
            break;
        }
    if (cut == rest || cut == 0 || cut > ENVELOPE_MAX_NAME ||
        !envelope_valid_name(job, cut))
        return 0;
    uint64_t v;
    if (util_parse_u64(job + cut + 2, rest - cut - 2, ENVELOPE_MAX_VERSION,
                       &v))
        return 0;
    memcpy(p->job, job, cut);
    p->job[cut] = '\0';
    p->version = (uint32_t)v;
    return 1;
}

static int is_int(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_INTEGER;
}

int queue_stats_read(redisContext *c, const queue_keys_t *keys,
                     const char *group, queue_stats_t *out, char *err,
                     size_t err_len)
{
    memset(out, 0, sizeof *out);
    out->waiting = 0;
    out->oldest_waiting_ms = -1;
    char ttl[24], cap[24];
    snprintf(ttl, sizeof ttl, "%d", FLEET_WORKER_TTL_MS);
    snprintf(cap, sizeof cap, "%d", QUEUE_STATS_PARKED_PAIRS);
    char dis_cap[16];
    snprintf(dis_cap, sizeof dis_cap, "%d", QUEUE_STATS_DISABLED);
    const char *argv[] = {"EVAL", stats_script, "6", keys->stream,
                          keys->delayed, keys->dlq, keys->workers,
                          keys->paused, keys->disabled, group, ttl, cap,
                          QUEUE_PARKED_PREFIX, dis_cap};
    redisReply *r = redisCommandArgv(c, 14, argv, NULL);
    if (r == NULL) {
        snprintf(err, err_len, "stats of stream %s: %s", keys->stream,
                 c->errstr[0] ? c->errstr : "connection lost");
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, err_len, "stats of stream %s: %s", keys->stream,
                 r->str);
        freeReplyObject(r);
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 12 ||
        r->element[11]->type != REDIS_REPLY_ARRAY ||
        r->element[11]->elements == 0 ||
        r->element[9]->type != REDIS_REPLY_ARRAY) {
        snprintf(err, err_len, "stats of stream %s: unexpected reply",
                 keys->stream);
        freeReplyObject(r);
        return -1;
    }
    for (size_t i = 0; i < 9; i++)
        if (!is_int(r->element[i])) {
            snprintf(err, err_len, "stats of stream %s: unexpected reply",
                     keys->stream);
            freeReplyObject(r);
            return -1;
        }
    redisReply **e = r->element;
    out->server_ms = e[0]->integer;
    out->length = e[1]->integer;
    out->waiting = e[2]->integer;
    out->pending = e[3]->integer;
    out->parked = e[4]->integer;
    out->running = out->pending - out->parked;
    if (out->running < 0)
        out->running = 0;
    out->delayed = e[5]->integer;
    out->dlq = e[6]->integer;
    out->live_workers = e[7]->integer;
    out->oldest_waiting_ms = e[8]->integer;
    if (e[10]->type == REDIS_REPLY_STRING) {
        out->paused = 1;
        size_t n = e[10]->len < sizeof out->paused_json - 1
                       ? e[10]->len
                       : sizeof out->paused_json - 1;
        memcpy(out->paused_json, e[10]->str, n);
        out->paused_json[n] = '\0';
    }
    const redisReply *dis = e[11];
    out->disabled_total = is_int(dis->element[0]) ? dis->element[0]->integer
                                                  : 0;
    for (size_t i = 1; i < dis->elements &&
                       out->n_disabled < QUEUE_STATS_DISABLED;
         i++) {
        const redisReply *d = dis->element[i];
        if (d->type != REDIS_REPLY_STRING || d->len > ENVELOPE_MAX_NAME ||
            !envelope_valid_name(d->str, d->len))
            continue;
        memcpy(out->disabled[out->n_disabled], d->str, d->len);
        out->disabled[out->n_disabled][d->len] = '\0';
        out->n_disabled++;
    }
    const redisReply *pairs = e[9];
    for (size_t i = 0; i + 1 < pairs->elements &&
                       out->n_parked_pairs < QUEUE_STATS_PARKED_PAIRS;
         i += 2) {
        const redisReply *name = pairs->element[i];
        const redisReply *n = pairs->element[i + 1];
        if (name->type != REDIS_REPLY_STRING || !is_int(n))
            continue;
        queue_parked_pair_t *p = &out->parked_pairs[out->n_parked_pairs];
        if (!queue_parse_parked_pair(name->str, name->len, p))
            continue;
        p->count = n->integer;
        out->n_parked_pairs++;
    }
    freeReplyObject(r);
    return 0;
}
