/*
 * bench_reload - the plugin of the reload row (bench/reload.js), built
 * twice from this file (bench/CMakeLists.txt): bench_reload_a.so and
 * bench_reload_b.so, plugin "bench-reload", job "bench_reload" v1, with
 * -DBENCH_RELOAD_BUILD="a" or "b" (and so two build ids). The benchmark
 * installs them in turn, by rename, as one plugin file of a running worker.
 *
 * The handler does no work. As its last step it takes CLOCK_MONOTONIC in
 * nanoseconds and appends one line, with one write(2) (O_APPEND, so lines
 * of concurrent handler threads never mix), to the file named by env
 * BENCH_RELOAD_OUT:
 *
 *     <done_ns> <build> <init_ns>
 *
 * where init_ns is CLOCK_MONOTONIC when this generation's init() ran. Each
 * load is a private copy with its own statics, so init_ns names the
 * generation that ran the job: the harness gets the gaps between
 * completions at ns resolution (outcome records only have ms), and the
 * time from a rename to its generation's init() and first completion.
 * The result is {"build":"a"} (or "b"), so outcome records name the build
 * too. Without BENCH_RELOAD_OUT it only succeeds.
 */
#include <fcntl.h>
#include <jobrt/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#ifndef BENCH_RELOAD_BUILD
#error "build with -DBENCH_RELOAD_BUILD=\"a\" (see bench/CMakeLists.txt)"
#endif

static struct {
    int fd;
    long long init_ns;
} st = {-1, 0};

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int reload_run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    static const char result[] = "{\"build\":\"" BENCH_RELOAD_BUILD "\"}";
    (void)ctx;
    host->job_set_result(job, result, sizeof result - 1);
    if (st.fd >= 0) {
        char line[64];
        int n = snprintf(line, sizeof line, "%lld " BENCH_RELOAD_BUILD
                         " %lld\n", mono_ns(), st.init_ns);
        if (write(st.fd, line, (size_t)n) != n)
            host->job_log(job, JOBRT_LOG_WARN, "short write of a sample");
    }
    return JOBRT_OK;
}

static int reload_init(const jobrt_host_api *host, jobrt_plugin_ref *self,
                       void **ctx)
{
    st.init_ns = mono_ns();
    const char *out = getenv("BENCH_RELOAD_OUT");
    if (out && *out) {
        st.fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (st.fd < 0) {
            host->log(self, JOBRT_LOG_ERROR, "cannot open %s", out);
            return 1;
        }
    }
    *ctx = &st;
    return 0;
}

static void reload_fini(void *ctx)
{
    (void)ctx;
    if (st.fd >= 0) {
        close(st.fd);
        st.fd = -1;
    }
}

static const jobrt_handler_desc reload_handlers[] = {
    {.job_name = "bench_reload", .schema_min = 1, .schema_max = 1,
     .run = reload_run},
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "bench-reload",
    .version = "1.0.0",
    .build_id = JOBRT_BUILD_ID,
    .init = reload_init,
    .fini = reload_fini,
    .n_handlers = 1,
    .handlers = reload_handlers,
};
