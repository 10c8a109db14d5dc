/* probe/init_abort.so - a valid plugin whose init() calls abort(): loading
 * it kills the process that calls init() with SIGABRT. The probe must
 * reject it as a crash in init(). */
#include <stdlib.h>

#include "probe_plugin.h"

static int zoo_init(const jobrt_host_api *host, struct jobrt_plugin *self,
                    void **ctx)
{
    (void)host;
    (void)self;
    *ctx = NULL;
    abort();
}

PROBE_ZOO_PLUGIN("zoo-probe-init-abort", "zoo_probe_init_abort", zoo_init,
                 NULL);
