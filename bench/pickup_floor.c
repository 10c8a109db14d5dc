/*
 * bench_pickup_floor - the floor under the pickup-latency probe of
 * ./scripts/bench: one synchronous hiredis client blocked in XREADGROUP
 * on the probe's stream, as jobrt's reader is, with no handler thread, no
 * validation and no completion batch. For each entry it reads the clock
 * (CLOCK_REALTIME) as soon as the reply is in, takes t_us from the
 * payload field and appends now - t_us as one line to --out (the same
 * sample the bench_latency plugin writes from inside a jobrt handler),
 * then XACKs the batch. What jobrt adds to pickup is its figure minus
 * this one, on the same producer, Redis and host.
 *
 *   bench_pickup_floor --port P --stream KEY --out FILE
 *
 * Creates the consumer group "jobrt" at $ (so the harness's remaining()
 * reads it as it reads jobrt's), prints "ready" on stderr, and runs until
 * SIGTERM or SIGINT (it blocks at most 200 ms at a time), then prints
 * "stopped: N succeeded" on stderr.
 */
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GROUP "jobrt"
#define CONSUMER "floor"
#define MAX_ENTRIES 100

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* t_us from a payload {"t_us":N}; -1 if it has none */
static long long payload_t_us(const redisReply *fields)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            strcmp(k->str, "payload") != 0)
            continue;
        const char *t = strstr(v->str, "\"t_us\"");
        if (t == NULL)
            return -1;
        t += 6;
        while (*t == ' ' || *t == ':')
            t++;
        return strtoll(t, NULL, 10);
    }
    return -1;
}

int main(int argc, char **argv)
{
    int port = 0;
    const char *stream = NULL, *out = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--stream") == 0)
            stream = argv[i + 1];
        else if (strcmp(argv[i], "--out") == 0)
            out = argv[i + 1];
    }
    if (port <= 0 || stream == NULL || out == NULL) {
        fprintf(stderr, "usage: bench_pickup_floor --port P --stream KEY "
                        "--out FILE\n");
        return 2;
    }
    int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror(out);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    redisContext *c = redisConnect("127.0.0.1", port);
    if (c == NULL || c->err) {
        fprintf(stderr, "bench_pickup_floor: redis 127.0.0.1:%d: %s\n", port,
                c ? c->errstr : "out of memory");
        return 1;
    }
    redisReply *r = redisCommand(c, "XGROUP CREATE %s " GROUP " $ MKSTREAM",
                                 stream);
    if (r == NULL || (r->type == REDIS_REPLY_ERROR &&
                      strstr(r->str, "BUSYGROUP") == NULL)) {
        fprintf(stderr, "bench_pickup_floor: XGROUP CREATE %s: %s\n", stream,
                r ? r->str : c->errstr);
        return 1;
    }
    freeReplyObject(r);
    fprintf(stderr, "ready\n");
    long done = 0;
    while (!stopping) {
        r = redisCommand(c, "XREADGROUP GROUP " GROUP " " CONSUMER
                            " COUNT %d BLOCK 200 STREAMS %s >",
                         MAX_ENTRIES, stream);
        long long now = now_us();
        if (r == NULL) {
            if (stopping)
                break;
            fprintf(stderr, "bench_pickup_floor: XREADGROUP: %s\n",
                    c->errstr);
            return 1;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->elements == 2) {
            const redisReply *entries = r->element[0]->element[1];
            for (size_t i = 0; i < entries->elements; i++) {
                const redisReply *e = entries->element[i];
                long long t = payload_t_us(e->element[1]);
                if (t >= 0) {
                    char line[32];
                    int n = snprintf(line, sizeof line, "%lld\n", now - t);
                    if (write(fd, line, (size_t)n) != n)
                        perror(out);
                }
                redisReply *a = redisCommand(c, "XACK %s " GROUP " %s",
                                             stream, e->element[0]->str);
                freeReplyObject(a);
                done++;
            }
        }
        freeReplyObject(r);
    }
    fprintf(stderr, "stopped: %ld succeeded\n", done);
    redisFree(c);
    close(fd);
    return 0;
}
