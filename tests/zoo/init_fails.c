/* init_fails.so - a valid plugin whose init() logs why and returns -1, so
 * the loader must reject it (and must not call fini or any handler: both
 * leave a trace, "init_fails.fini" and "init_fails.run", see trace.h). */
#include <jobrt/plugin.h>

#include "trace.h"

static int run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)host;
    (void)ctx;
    (void)job;
    zoo_trace("init_fails.run");
    return JOBRT_OK;
}

static void zoo_fini(void *ctx)
{
    (void)ctx;
    zoo_trace("init_fails.fini");
}

static int zoo_init(const jobrt_host_api *host, struct jobrt_plugin *self,
                    void **ctx)
{
    *ctx = NULL;
    host->log(self, JOBRT_LOG_ERROR,
              "init_fails: refusing to start (this plugin always does)");
    return -1;
}

static const jobrt_handler_desc handlers[] = {
    {
        .job_name = "zoo_init_fails",
        .schema_min = 1,
        .schema_max = 1,
        .run = run,
    },
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "zoo-init-fails",
    .version = "1.0.0",
    .build_id = "zoo",
    .init = zoo_init,
    .fini = zoo_fini,
    .n_handlers = sizeof(handlers) / sizeof(handlers[0]),
    .handlers = handlers,
};
