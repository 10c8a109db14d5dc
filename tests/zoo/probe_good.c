/* probe/good.so - a valid plugin with an init() and a fini() that each
 * leave a trace naming the process they ran in ("probe_good.init.<pid>",
 * "probe_good.fini.<pid>", see trace.h): the probe must pass it, and a
 * test can count the processes init() ran in (the probe's and the
 * loader's) and see that the probe's ran fini() too. */
#include <stdio.h>
#include <unistd.h>

#include "probe_plugin.h"
#include "trace.h"

static void trace_pid(const char *what)
{
    char name[64];
    snprintf(name, sizeof name, "probe_good.%s.%ld", what, (long)getpid());
    zoo_trace(name);
}

static int zoo_init(const jobrt_host_api *host, struct jobrt_plugin *self,
                    void **ctx)
{
    (void)host;
    (void)self;
    *ctx = NULL;
    trace_pid("init");
    return 0;
}

static void zoo_fini(void *ctx)
{
    (void)ctx;
    trace_pid("fini");
}

PROBE_ZOO_PLUGIN("zoo-probe-good", "zoo_probe_good", zoo_init, zoo_fini);
