/*
 * bench_latency - the pickup-latency probe of ./scripts/bench: job
 * "bench_latency" v1 carries {"t_us":N}, the producer's wall-clock time in
 * microseconds since the Unix epoch when it enqueued the job. The handler
 * computes now(CLOCK_REALTIME) - t_us first thing and appends it as one
 * decimal line, with one write(2), to the file named by env
 * JOBRT_BENCH_LATENCY_OUT (O_APPEND, so concurrent handler threads never
 * interleave within a line). Without the env variable it only succeeds.
 */
#include <fcntl.h>
#include <jobrt/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd;
} lat_ctx;

static int lat_run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long now_us = (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
    lat_ctx *c = ctx;
    const char *p = host->job_payload(job, NULL);
    const char *t = strstr(p, "\"t_us\"");
    if (t == NULL) {
        host->job_set_error(job, "payload has no t_us");
        return JOBRT_FAIL;
    }
    t += 6;
    while (*t == ' ' || *t == ':')
        t++;
    long long t_us = strtoll(t, NULL, 10);
    if (c && c->fd >= 0) {
        char line[32];
        int n = snprintf(line, sizeof line, "%lld\n", now_us - t_us);
        if (write(c->fd, line, (size_t)n) != n)
            host->job_log(job, JOBRT_LOG_WARN, "short write of a sample");
    }
    return JOBRT_OK;
}

static int lat_init(const jobrt_host_api *host, jobrt_plugin_ref *self,
                    void **ctx)
{
    static lat_ctx c = {-1};
    const char *out = getenv("JOBRT_BENCH_LATENCY_OUT");
    if (out && *out) {
        c.fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (c.fd < 0) {
            host->log(self, JOBRT_LOG_ERROR, "cannot open %s", out);
            return 1;
        }
    }
    *ctx = &c;
    return 0;
}

static void lat_fini(void *ctx)
{
    lat_ctx *c = ctx;
    if (c && c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

static const jobrt_handler_desc lat_handlers[] = {
    {.job_name = "bench_latency", .schema_min = 1, .schema_max = 1,
     .run = lat_run},
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "bench-latency",
    .version = "1.0.0",
    .build_id = "bench",
    .init = lat_init,
    .fini = lat_fini,
    .n_handlers = 1,
    .handlers = lat_handlers,
};
