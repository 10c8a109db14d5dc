/*
 * probe_plugin.h - what the probe's zoo plugins (probe_*.c, built into
 * ${JOBRT_ZOO_DIR}/probe) share: a valid descriptor serving one job of
 * their own, so that only the one thing each does wrong (in a
 * constructor, init() or fini()) can get it rejected.
 * PROBE_ZOO_PLUGIN(name, job, init, fini) defines it; the handler answers
 * {"ok":true}.
 */
#ifndef JOBRT_ZOO_PROBE_PLUGIN_H
#define JOBRT_ZOO_PROBE_PLUGIN_H

#include <jobrt/plugin.h>

static int probe_zoo_run(const jobrt_host_api *host, void *ctx,
                         jobrt_job *job)
{
    (void)ctx;
    host->job_set_result(job, "{\"ok\":true}", 11);
    return JOBRT_OK;
}

#define PROBE_ZOO_PLUGIN(plugin_name, job, init_fn, fini_fn)                \
    static const jobrt_handler_desc probe_zoo_handlers[] = {                \
        {.job_name = job, .schema_min = 1, .schema_max = 1,                 \
         .run = probe_zoo_run},                                             \
    };                                                                      \
    JOBRT_PLUGIN {                                                          \
        JOBRT_PLUGIN_DESC_INIT,                                             \
        .name = plugin_name,                                                \
        .version = "1.0.0",                                                 \
        .build_id = JOBRT_BUILD_ID,                                         \
        .init = init_fn,                                                    \
        .fini = fini_fn,                                                    \
        .n_handlers = 1,                                                    \
        .handlers = probe_zoo_handlers,                                     \
    }

#endif
