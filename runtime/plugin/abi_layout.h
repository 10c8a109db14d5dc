/*
 * abi_layout.h - the layout of every published ABI minor, frozen. The
 * public structs of include/jobrt/plugin.h only grow at the end; these
 * private copies are what each minor looked like when it was published, and
 * static asserts prove that the public structs still begin with them. The
 * loader reads from a plugin's descriptor and handler entries exactly the
 * bytes of the fields the plugin's own minor has (abi_desc_span(),
 * abi_handler_span()): never the padding after them, which a later minor
 * may have turned into a field.
 *
 * Publishing ABI 1.N: append the fields to plugin.h, add abi_*_1_N structs
 * here with their asserts, and a case to each span function. The #error
 * below stops a build whose header is ahead of this table.
 */
#ifndef JOBRT_ABI_LAYOUT_H
#define JOBRT_ABI_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "jobrt/plugin.h"

#define ABI_LATEST_FROZEN_MINOR 2

/* tests/abi builds this code against a header with an unpublished minor 3
 * (JOBRT_ABI_TEST_UNPUBLISHED_MINOR) to show that 1.0, 1.1 and 1.2 plugins
 * load into a runtime whose structs have grown. */
#if JOBRT_ABI_MINOR > ABI_LATEST_FROZEN_MINOR &&                            \
    !defined(JOBRT_ABI_TEST_UNPUBLISHED_MINOR)
#error "freeze the layout of the new ABI minor in abi_layout.h"
#endif

/* ---- ABI 1.0 (also the 1.1 and 1.2 descriptor: neither added a field) - */

typedef struct abi_desc_1_0 {
    uint32_t magic;
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t handler_size;
    const char *name;
    const char *version;
    const char *build_id;
    int (*init)(const jobrt_host_api *host, jobrt_plugin_ref *self,
                void **ctx);
    void (*fini)(void *ctx);
    uint32_t n_handlers;
    const jobrt_handler_desc *handlers;
    void *reserved[4];
} abi_desc_1_0;

typedef struct abi_handler_1_0 {
    const char *job_name;
    uint32_t schema_min;
    uint32_t schema_max;
    jobrt_handler_fn run;
    uint32_t timeout_ms;
    uint32_t max_attempts;
    uint32_t flags;
} abi_handler_1_0;

/* (also the 1.2 entry: 1.2 added no handler field) */
typedef struct abi_handler_1_1 {
    const char *job_name;
    uint32_t schema_min;
    uint32_t schema_max;
    jobrt_handler_fn run;
    uint32_t timeout_ms;
    uint32_t max_attempts;
    uint32_t flags;
    uint32_t backoff_base_ms;
    uint32_t backoff_cap_ms;
} abi_handler_1_1;

/* The host API table the runtime hands out; plugins check members added
 * after 1.0 with JOBRT_HOST_HAS, so 1.0 and 1.1 members never move. */
typedef struct abi_host_1_1 {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    void (*log)(jobrt_plugin_ref *plugin, int level, const char *fmt, ...);
    void (*job_log)(const jobrt_job *job, int level, const char *fmt, ...);
    const char *(*job_id)(const jobrt_job *job);
    const char *(*job_name)(const jobrt_job *job);
    uint32_t (*job_version)(const jobrt_job *job);
    uint32_t (*job_attempt)(const jobrt_job *job);
    const char *(*job_correlation_id)(const jobrt_job *job);
    const char *(*job_payload)(const jobrt_job *job, size_t *len);
    int64_t (*job_deadline_ms)(const jobrt_job *job);
    int (*job_cancel_requested)(const jobrt_job *job);
    int (*job_set_result)(jobrt_job *job, const char *json, size_t len);
    void (*job_set_error)(jobrt_job *job, const char *fmt, ...);
    /* added in 1.1 */
    void (*job_retry_after)(jobrt_job *job, uint32_t ms);
    uint32_t (*job_delivery_count)(const jobrt_job *job);
    const char *(*job_idempotency_key)(const jobrt_job *job);
} abi_host_1_1;

typedef struct abi_host_1_2 {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    void (*log)(jobrt_plugin_ref *plugin, int level, const char *fmt, ...);
    void (*job_log)(const jobrt_job *job, int level, const char *fmt, ...);
    const char *(*job_id)(const jobrt_job *job);
    const char *(*job_name)(const jobrt_job *job);
    uint32_t (*job_version)(const jobrt_job *job);
    uint32_t (*job_attempt)(const jobrt_job *job);
    const char *(*job_correlation_id)(const jobrt_job *job);
    const char *(*job_payload)(const jobrt_job *job, size_t *len);
    int64_t (*job_deadline_ms)(const jobrt_job *job);
    int (*job_cancel_requested)(const jobrt_job *job);
    int (*job_set_result)(jobrt_job *job, const char *json, size_t len);
    void (*job_set_error)(jobrt_job *job, const char *fmt, ...);
    void (*job_retry_after)(jobrt_job *job, uint32_t ms);
    uint32_t (*job_delivery_count)(const jobrt_job *job);
    const char *(*job_idempotency_key)(const jobrt_job *job);
    /* added in 1.2 */
    int (*job_progress)(jobrt_job *job, int percent, const char *message);
} abi_host_1_2;

/* Where the fields of a frozen struct end (its padding excluded). */
#define ABI_FIELDS_END(type, last)                                          \
    (offsetof(type, last) + sizeof(((type *)0)->last))

#define ABI_DESC_1_0_END ABI_FIELDS_END(abi_desc_1_0, reserved)
#define ABI_HANDLER_1_0_END ABI_FIELDS_END(abi_handler_1_0, flags)
#define ABI_HANDLER_1_1_END ABI_FIELDS_END(abi_handler_1_1, backoff_cap_ms)
#define ABI_HOST_1_0_END ABI_FIELDS_END(abi_host_1_1, job_set_error)
#define ABI_HOST_1_1_END ABI_FIELDS_END(abi_host_1_1, job_idempotency_key)
#define ABI_HOST_1_2_END ABI_FIELDS_END(abi_host_1_2, job_progress)

/* pub.f sits where frozen.f sat, with the same size. */
#define ABI_SAME_FIELD(pub, frozen, f)                                      \
    _Static_assert(offsetof(pub, f) == offsetof(frozen, f) &&               \
                       sizeof(((pub *)0)->f) == sizeof(((frozen *)0)->f),   \
                   #pub "." #f " moved: the ABI only grows at the end")

ABI_SAME_FIELD(jobrt_plugin_desc, abi_desc_1_0, magic);
ABI_SAME_FIELD(jobrt_plugin_desc, abi_desc_1_0, struct_size);
ABI_SAME_FIELD(jobrt_plugin_desc, abi_desc_1_0, abi_major);
ABI_SAME_FIELD(jobrt_plugin_desc, abi_desc_1_0, abi_minor);
ABI_SAME_FIELD(jobrt_plugin_desc, abi_desc_1_0, handler_size);
ABI_SAME_FIELD(jobrt_plugin_desc, abi_desc_1_0, name);
ABI_SAME_FIELD(jobrt_plugin_desc, abi_desc_1_0, version);
ABI_SAME_FIELD(jobrt_plugin_desc, abi_desc_1_0, build_id);
ABI_SAME_FIELD(jobrt_plugin_desc, abi_desc_1_0, init);
ABI_SAME_FIELD(jobrt_plugin_desc, abi_desc_1_0, fini);
ABI_SAME_FIELD(jobrt_plugin_desc, abi_desc_1_0, n_handlers);
ABI_SAME_FIELD(jobrt_plugin_desc, abi_desc_1_0, handlers);
ABI_SAME_FIELD(jobrt_plugin_desc, abi_desc_1_0, reserved);

ABI_SAME_FIELD(jobrt_handler_desc, abi_handler_1_1, job_name);
ABI_SAME_FIELD(jobrt_handler_desc, abi_handler_1_1, schema_min);
ABI_SAME_FIELD(jobrt_handler_desc, abi_handler_1_1, schema_max);
ABI_SAME_FIELD(jobrt_handler_desc, abi_handler_1_1, run);
ABI_SAME_FIELD(jobrt_handler_desc, abi_handler_1_1, timeout_ms);
ABI_SAME_FIELD(jobrt_handler_desc, abi_handler_1_1, max_attempts);
ABI_SAME_FIELD(jobrt_handler_desc, abi_handler_1_1, flags);
ABI_SAME_FIELD(jobrt_handler_desc, abi_handler_1_1, backoff_base_ms);
ABI_SAME_FIELD(jobrt_handler_desc, abi_handler_1_1, backoff_cap_ms);
ABI_SAME_FIELD(abi_handler_1_1, abi_handler_1_0, job_name);
ABI_SAME_FIELD(abi_handler_1_1, abi_handler_1_0, schema_min);
ABI_SAME_FIELD(abi_handler_1_1, abi_handler_1_0, schema_max);
ABI_SAME_FIELD(abi_handler_1_1, abi_handler_1_0, run);
ABI_SAME_FIELD(abi_handler_1_1, abi_handler_1_0, timeout_ms);
ABI_SAME_FIELD(abi_handler_1_1, abi_handler_1_0, max_attempts);
ABI_SAME_FIELD(abi_handler_1_1, abi_handler_1_0, flags);

ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, struct_size);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, abi_major);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, abi_minor);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, log);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, job_log);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, job_id);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, job_name);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, job_version);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, job_attempt);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, job_correlation_id);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, job_payload);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, job_deadline_ms);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, job_cancel_requested);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, job_set_result);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, job_set_error);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, job_retry_after);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, job_delivery_count);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_1, job_idempotency_key);
ABI_SAME_FIELD(jobrt_host_api, abi_host_1_2, job_progress);
ABI_SAME_FIELD(abi_host_1_2, abi_host_1_1, job_set_error);
ABI_SAME_FIELD(abi_host_1_2, abi_host_1_1, job_idempotency_key);

_Static_assert(sizeof(jobrt_plugin_desc) >= ABI_DESC_1_0_END,
               "jobrt_plugin_desc shrank below its 1.0 layout");
_Static_assert(sizeof(jobrt_handler_desc) >= ABI_HANDLER_1_1_END,
               "jobrt_handler_desc shrank below its 1.1 layout");
_Static_assert(sizeof(jobrt_host_api) >= ABI_HOST_1_2_END,
               "jobrt_host_api shrank below its 1.2 layout");

/* Bytes of a descriptor built against 1.minor that hold fields. Only
 * minors up to this runtime's JOBRT_ABI_MINOR are ever asked about; one
 * newer than the frozen table (the tests/abi build) is the header's own. */
static inline size_t abi_desc_span(unsigned minor)
{
    switch (minor) {
    case 0:
    case 1:
    case 2:
        return ABI_DESC_1_0_END;
    default:
        return sizeof(jobrt_plugin_desc);
    }
}

/* Bytes of one handler entry built against 1.minor that hold fields: a
 * 1.0 entry has 36, then 4 bytes of padding that are never read; a 1.1
 * or 1.2 one 44, then 4 more. */
static inline size_t abi_handler_span(unsigned minor)
{
    switch (minor) {
    case 0:
        return ABI_HANDLER_1_0_END;
    case 1:
    case 2:
        return ABI_HANDLER_1_1_END;
    default:
        return sizeof(jobrt_handler_desc);
    }
}

#endif
