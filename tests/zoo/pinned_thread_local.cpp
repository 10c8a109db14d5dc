/* pinned_thread_local.so - a valid C++ plugin "zoo-pinned-thread-local"
 * (job zoo_pinned_thread_local v1..1) whose handler uses a thread_local
 * object with a destructor: the library imports __cxa_thread_atexit, and
 * glibc keeps it mapped while any thread that ran the handler lives (and
 * after), so the ELF check reports "C++ thread_local with a destructor". */
#include <jobrt/plugin.h>

#include <stdio.h>

namespace {
struct Counter {
    int runs = 0;
    ~Counter() { runs = -1; }
};
thread_local Counter counter;
} // namespace

static int run(const jobrt_host_api *host, void *, jobrt_job *job)
{
    char out[32];
    int n = snprintf(out, sizeof out, "{\"runs\":%d}", ++counter.runs);
    return host->job_set_result(job, out, (size_t)n) == 0 ? JOBRT_OK
                                                          : JOBRT_FAIL;
}

static const jobrt_handler_desc handlers[] = {
    {"zoo_pinned_thread_local", 1, 1, run, 0, 0, 0, 0, 0},
};

/* The descriptor in field order (see pinned_unique.cpp). */
extern "C" JOBRT_EXPORT const jobrt_plugin_desc jobrt_plugin;
const jobrt_plugin_desc jobrt_plugin = {
    JOBRT_PLUGIN_MAGIC, sizeof(jobrt_plugin_desc), JOBRT_ABI_MAJOR,
    JOBRT_ABI_MINOR, sizeof(jobrt_handler_desc),
    "zoo-pinned-thread-local", "1.0.0", "zoo", nullptr, nullptr,
    sizeof(handlers) / sizeof(handlers[0]), handlers, {},
};
