/*
 * bench_producer - a steady load for the reload row (bench/reload.js): one
 * synchronous hiredis client that enqueues jobs at a fixed rate, the way
 * docs/protocol.md says a producer does (XADD KEY * job NAME v 1 payload
 * {}), paced on CLOCK_MONOTONIC so that the load does not depend on the
 * harness's event loop.
 *
 *   bench_producer --port P --stream KEY --rate R --seconds S
 *                  [--job NAME] [--tick-us 250]
 *
 * Every tick (an absolute clock_nanosleep) it pipelines the XADDs that are
 * due by then (rate * elapsed - sent), so arrivals are spread evenly at
 * tick resolution and a late tick catches up instead of lowering the
 * rate. Runs for S seconds, then prints one JSON line:
 *   {"sent":N,"seconds":..,"jobs_per_s":..,"late_ticks":N,"max_lag_us":..}
 * where late_ticks counts ticks that started more than one tick late.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PER_TICK 100000

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    int port = 0;
    const char *stream = NULL, *job = "bench_reload";
    double rate = 0, seconds = 0;
    long tick_us = 250;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            fprintf(stderr, "bench_producer: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--port") == 0)
            port = atoi(v);
        else if (strcmp(a, "--stream") == 0)
            stream = v;
        else if (strcmp(a, "--rate") == 0)
            rate = atof(v);
        else if (strcmp(a, "--seconds") == 0)
            seconds = atof(v);
        else if (strcmp(a, "--job") == 0)
            job = v;
        else if (strcmp(a, "--tick-us") == 0)
            tick_us = atol(v);
        else {
            fprintf(stderr, "bench_producer: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if (port < 1 || stream == NULL || !(rate > 0) || !(seconds > 0) ||
        seconds > 600 || tick_us < 10 || tick_us > 100000) {
        fprintf(stderr, "bench_producer: need --port, --stream, --rate > 0, "
                        "--seconds in (0, 600], --tick-us in [10, 100000]\n");
        return 2;
    }
    redisContext *c = redisConnect("127.0.0.1", port);
    if (c == NULL || c->err) {
        fprintf(stderr, "bench_producer: connect: %s\n",
                c ? c->errstr : "out of memory");
        return 1;
    }
    const long long tick_ns = tick_us * 1000LL;
    const long long t0 = mono_ns();
    const long long end = t0 + (long long)(seconds * 1e9);
    long long sent = 0, late = 0, max_lag = 0;
    struct timespec next = {t0 / 1000000000LL, t0 % 1000000000LL};
    for (;;) {
        long long now = mono_ns();
        if (now >= end)
            break;
        long long want = (long long)((double)(now - t0) * rate / 1e9) + 1;
        long long n = want - sent;
        if (n > MAX_PER_TICK)
            n = MAX_PER_TICK;
        for (long long i = 0; i < n; i++)
            redisAppendCommand(c, "XADD %s * job %s v 1 payload {}", stream,
                               job);
        for (long long i = 0; i < n; i++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL ||
                r->type == REDIS_REPLY_ERROR) {
                fprintf(stderr, "bench_producer: XADD: %s\n",
                        c->err ? c->errstr
                               : (r && r->str ? r->str : "bad reply"));
                return 1;
            }
            freeReplyObject(r);
        }
        sent += n;
        /* the next tick on the fixed grid after now */
        long long next_ns = (long long)next.tv_sec * 1000000000LL +
                            next.tv_nsec;
        long long lag = now - next_ns;
        if (lag > max_lag)
            max_lag = lag;
        if (lag > tick_ns)
            late++;
        do
            next_ns += tick_ns;
        while (next_ns <= now);
        next.tv_sec = next_ns / 1000000000LL;
        next.tv_nsec = next_ns % 1000000000LL;
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) ==
               EINTR)
            ;
    }
    double secs = (double)(mono_ns() - t0) / 1e9;
    printf("{\"sent\":%lld,\"seconds\":%.6f,\"jobs_per_s\":%.1f,"
           "\"late_ticks\":%lld,\"max_lag_us\":%.1f}\n",
           sent, secs, (double)sent / secs, late, (double)max_lag / 1e3);
    redisFree(c);
    return 0;
}
