/*
 * abi_cxx.cpp - abi_cxx_twin.c in the C++ form of include/jobrt/plugin.h
 * (jobrt::handler, jobrt::plugin, JOBRT_PLUGIN), without designated
 * initializers. Built as C++17 with every warning an error (the header's
 * C++ compile check); the static_asserts check at compile time that the
 * descriptor is a constant holding what the C form would, and
 * test_abi_cxx compares the two built files through the loader.
 */
#include <jobrt/plugin.h>

#include <cstring>

namespace {

int twin_marker; /* what init() stores as ctx */

int twin_init(const jobrt_host_api *, jobrt_plugin_ref *, void **ctx) noexcept
{
    *ctx = &twin_marker;
    return 0;
}

void twin_fini(void *) noexcept {}

int twin_greet(const jobrt_host_api *host, void *, jobrt_job *job) noexcept
{
    static const char result[] = "{\"twin\":\"c++\"}";
    return host->job_set_result(job, result, std::strlen(result)) == 0
               ? JOBRT_OK
               : JOBRT_FAIL;
}

int twin_wide(const jobrt_host_api *, void *, jobrt_job *) noexcept
{
    return JOBRT_OK;
}

/* `handlers` also checks that the header's template does not shadow it. */
constexpr jobrt_handler_desc handlers[] = {
    jobrt::handler("cxx_twin_greet", 1, 1, twin_greet)
        .timeout_ms(10000)
        .max_attempts(3)
        .backoff(250, 8000),
    jobrt::handler("cxx_twin_wide", 2, 7, twin_wide),
};

} /* namespace */

JOBRT_PLUGIN jobrt::plugin("abi-cxx", "1.2.3", "twin-build", handlers)
    .init(twin_init)
    .fini(twin_fini);

/* The integer header, as JOBRT_PLUGIN_DESC_INIT fills it. */
static_assert(jobrt_plugin.magic == JOBRT_PLUGIN_MAGIC, "magic");
static_assert(jobrt_plugin.struct_size == sizeof(jobrt_plugin_desc),
              "struct_size");
static_assert(jobrt_plugin.abi_major == JOBRT_ABI_MAJOR, "abi_major");
static_assert(jobrt_plugin.abi_minor == JOBRT_ABI_MINOR, "abi_minor");
static_assert(jobrt_plugin.handler_size == sizeof(jobrt_handler_desc),
              "handler_size");
static_assert(jobrt_plugin.n_handlers == 2, "n_handlers counted");
static_assert(jobrt_plugin.handlers == handlers, "handlers");
static_assert(jobrt_plugin.init == twin_init && jobrt_plugin.fini == twin_fini,
              "init and fini");
static_assert(jobrt_plugin.reserved[0] == nullptr &&
                  jobrt_plugin.reserved[3] == nullptr,
              "reserved");
/* Unset handler fields read 0 (runtime default), as in C. */
static_assert(handlers[0].timeout_ms == 10000 && handlers[0].max_attempts == 3,
              "timeout_ms, max_attempts");
static_assert(handlers[0].backoff_base_ms == 250 &&
                  handlers[0].backoff_cap_ms == 8000,
              "backoff");
static_assert(handlers[1].schema_min == 2 && handlers[1].schema_max == 7 &&
                  handlers[1].timeout_ms == 0 &&
                  handlers[1].max_attempts == 0 && handlers[1].flags == 0 &&
                  handlers[1].backoff_base_ms == 0 &&
                  handlers[1].backoff_cap_ms == 0,
              "defaults");
