/* pinned_unique.so - a valid C++ plugin "zoo-pinned-unique" (job
 * zoo_pinned_unique v1..1) whose handler bumps the static of an inline
 * function in a default-visibility namespace, built with -fgnu-unique (the
 * SDK's -fno-gnu-unique undone): the static is a STB_GNU_UNIQUE symbol,
 * which makes glibc mark the library NODELETE once it is bound, so the
 * ELF check reports pin reason "STB_GNU_UNIQUE symbol '...'". */
#include <jobrt/plugin.h>

#include <stdio.h>

namespace zoo_cache __attribute__((visibility("default"))) {
inline int &hits()
{
    static int n;
    return n;
}
} // namespace zoo_cache

static int run(const jobrt_host_api *host, void *, jobrt_job *job)
{
    char out[32];
    int n = snprintf(out, sizeof out, "{\"hits\":%d}", ++zoo_cache::hits());
    return host->job_set_result(job, out, (size_t)n) == 0 ? JOBRT_OK
                                                          : JOBRT_FAIL;
}

static const jobrt_handler_desc handlers[] = {
    {"zoo_pinned_unique", 1, 1, run, 0, 0, 0, 0, 0},
};

/* C++ has no designated initializers before C++20: the descriptor in
 * field order, with external C linkage (a const is internal otherwise). */
extern "C" JOBRT_EXPORT const jobrt_plugin_desc jobrt_plugin;
const jobrt_plugin_desc jobrt_plugin = {
    JOBRT_PLUGIN_MAGIC, sizeof(jobrt_plugin_desc), JOBRT_ABI_MAJOR,
    JOBRT_ABI_MINOR, sizeof(jobrt_handler_desc),
    "zoo-pinned-unique", "1.0.0", "zoo", nullptr, nullptr,
    sizeof(handlers) / sizeof(handlers[0]), handlers, {},
};
