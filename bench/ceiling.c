/*
 * bench_ceiling - the bare Redis Streams commands one job needs, pipelined
 * from one synchronous hiredis client, so ./scripts/bench can show jobrt as
 * a fraction of that limit. No Lua, no validation, no handler.
 *
 *   bench_ceiling --port P --jobs N [--batch 100] [--stream KEY] [--del xdel|trim]
 *                 --mode M
 *     produce  XADD KEY * job noop v 1 payload {}   (batch pipelined)
 *     consume  XREADGROUP COUNT batch + XACK/XDEL of the previous batch's
 *              ids, in one round trip per batch, until N were consumed
 *              (the stream must hold N entries: run produce first)
 *     cycle    XADD x batch + XREADGROUP COUNT batch + XACK/XDEL of the
 *              previous batch, in one round trip per batch
 *   --del trim   (consume, cycle) XTRIM MINID <newest acked id> instead of
 *                XDEL of each id: what deleting costs when Redis can drop
 *                whole listpack nodes instead of searching for each entry
 *   bench_ceiling --now   for each line read on stdin, print CLOCK_REALTIME
 *                         in microseconds (the harness brackets these with
 *                         its own clock to check the two agree)
 *
 * Prints one JSON line: {"mode":..,"jobs":..,"seconds":..,"jobs_per_s":..}.
 * Bounded: gives up after 300 s or 4*N/batch+16 round trips.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define GROUP "bench"
#define CONSUMER "ceiling"
#define MAX_BATCH 10000
#define ID_MAX 48

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, redisContext *c)
{
    fprintf(stderr, "bench_ceiling: %s: %s\n", what,
            c && c->err ? c->errstr : "unexpected reply");
    exit(1);
}

static char (*ids)[ID_MAX];
static size_t n_ids;
static int use_trim; /* --del trim: XTRIM MINID instead of XDEL */

static void append_ack_del(redisContext *c, const char *stream)
{
    static const char *argv[MAX_BATCH + 3];
    static size_t lens[MAX_BATCH + 3];
    if (n_ids == 0)
        return;
    argv[0] = "XACK";
    lens[0] = 4;
    argv[1] = stream;
    lens[1] = strlen(stream);
    argv[2] = GROUP;
    lens[2] = strlen(GROUP);
    for (size_t i = 0; i < n_ids; i++) {
        argv[3 + i] = ids[i];
        lens[3 + i] = strlen(ids[i]);
    }
    redisAppendCommandArgv(c, (int)(3 + n_ids), argv, lens);
    if (use_trim) {
        /* drops every entry older than the newest acked one: whole
         * listpack nodes go at once, with no per-entry search */
        redisAppendCommand(c, "XTRIM %s MINID %s", stream, ids[n_ids - 1]);
        return;
    }
    argv[0] = "XDEL";
    argv[2] = NULL;
    /* XDEL has no group argument: shift the ids down by one */
    for (size_t i = 0; i < n_ids; i++) {
        argv[2 + i] = ids[i];
        lens[2 + i] = strlen(ids[i]);
    }
    redisAppendCommandArgv(c, (int)(2 + n_ids), argv, lens);
}

static void append_xadd(redisContext *c, const char *stream, int batch)
{
    for (int i = 0; i < batch; i++)
        redisAppendCommand(c, "XADD %s * job noop v 1 payload {}", stream);
}

static void read_replies(redisContext *c, int n)
{
    for (int i = 0; i < n; i++) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) != REDIS_OK)
            die("reply", c);
        if (r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "bench_ceiling: %s\n", r->str);
            exit(1);
        }
        freeReplyObject(r);
    }
}

/* Reads an XREADGROUP reply into ids[]; returns how many entries. */
static size_t read_group_reply(redisContext *c)
{
    redisReply *r;
    if (redisGetReply(c, (void **)&r) != REDIS_OK)
        die("XREADGROUP", c);
    n_ids = 0;
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "bench_ceiling: %s\n", r->str);
        exit(1);
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        redisReply *entries = r->element[0]->element[1];
        for (size_t i = 0; i < entries->elements && i < MAX_BATCH; i++) {
            redisReply *e = entries->element[i];
            snprintf(ids[n_ids++], ID_MAX, "%s", e->element[0]->str);
        }
    }
    freeReplyObject(r);
    return n_ids;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *stream = "ceiling:{q}:stream";
    const char *mode = "cycle";
    int port = 6379, batch = 100;
    long jobs = 100000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--now") == 0) {
            /* one timestamp per input line (at most 1000 lines), so the
             * caller can bracket it between two of its own clock reads */
            char line[64];
            for (int k = 0; k < 1000 && fgets(line, sizeof line, stdin); k++) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                printf("%lld\n", (long long)ts.tv_sec * 1000000LL +
                                     ts.tv_nsec / 1000);
                fflush(stdout);
            }
            return 0;
        }
        if (v == NULL) {
            fprintf(stderr, "bench_ceiling: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--port") == 0)
            port = atoi(v);
        else if (strcmp(a, "--jobs") == 0)
            jobs = atol(v);
        else if (strcmp(a, "--batch") == 0)
            batch = atoi(v);
        else if (strcmp(a, "--stream") == 0)
            stream = v;
        else if (strcmp(a, "--mode") == 0)
            mode = v;
        else if (strcmp(a, "--del") == 0)
            use_trim = strcmp(v, "trim") == 0;
        else {
            fprintf(stderr, "bench_ceiling: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if (batch < 1 || batch > MAX_BATCH || jobs < 1 || port < 1) {
        fprintf(stderr, "bench_ceiling: bad --batch, --jobs or --port\n");
        return 2;
    }
    ids = calloc((size_t)batch, ID_MAX);
    redisContext *c = redisConnect(host, port);
    if (c == NULL || c->err)
        die("connect", c);

    if (strcmp(mode, "produce") != 0) {
        redisReply *r = redisCommand(c, "XGROUP CREATE %s %s 0 MKSTREAM",
                                     stream, GROUP);
        if (r == NULL)
            die("XGROUP", c);
        freeReplyObject(r); /* BUSYGROUP is fine */
    }

    long done = 0, trips = 0, max_trips = 4 * (jobs / batch) + 16;
    double t0 = mono_s(), deadline = t0 + 300;
    if (strcmp(mode, "produce") == 0) {
        while (done < jobs && trips++ < max_trips && mono_s() < deadline) {
            int b = jobs - done < batch ? (int)(jobs - done) : batch;
            append_xadd(c, stream, b);
            read_replies(c, b);
            done += b;
        }
    } else if (strcmp(mode, "consume") == 0 || strcmp(mode, "cycle") == 0) {
        int cycle = strcmp(mode, "cycle") == 0;
        long added = 0;
        while (done < jobs && trips++ < max_trips && mono_s() < deadline) {
            int b = 0, acks = n_ids > 0 ? 2 : 0;
            if (cycle) {
                b = jobs - added < batch ? (int)(jobs - added) : batch;
                append_xadd(c, stream, b);
                added += b;
            }
            append_ack_del(c, stream);
            redisAppendCommand(c, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s >",
                               GROUP, CONSUMER, batch, stream);
            read_replies(c, b + acks);
            size_t got = read_group_reply(c);
            if (got == 0 && !cycle)
                break; /* stream ran dry */
            done += (long)got;
        }
        append_ack_del(c, stream);
        read_replies(c, n_ids > 0 ? 2 : 0);
    } else {
        fprintf(stderr, "bench_ceiling: unknown --mode %s\n", mode);
        return 2;
    }
    double secs = mono_s() - t0;
    printf("{\"mode\":\"%s\",\"jobs\":%ld,\"batch\":%d,\"seconds\":%.6f,"
           "\"jobs_per_s\":%.1f}\n", mode, done, batch, secs,
           secs > 0 ? (double)done / secs : 0.0);
    redisFree(c);
    free(ids);
    return done == jobs ? 0 : 1;
}
