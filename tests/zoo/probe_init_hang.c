/* probe/init_hang.so - a valid plugin whose init() never returns (it
 * sleeps in a loop): loading it wedges the process that calls init(). The
 * probe must kill it at its time limit and reject it. */
#include <unistd.h>

#include "probe_plugin.h"

static int zoo_init(const jobrt_host_api *host, struct jobrt_plugin *self,
                    void **ctx)
{
    (void)host;
    (void)self;
    *ctx = NULL;
    for (;;)
        sleep(1);
}

PROBE_ZOO_PLUGIN("zoo-probe-init-hang", "zoo_probe_init_hang", zoo_init,
                 NULL);
