/* probe/ctor_exit.so - a valid plugin whose ELF constructor calls
 * exit(ZOO_EXIT_STATUS) (3; probe/ctor_exit0.so is built with 0): loading
 * it ends the process that dlopen()s it. The probe must reject it, and an
 * exit(0) must not look like success. */
#include <stdlib.h>

#include "probe_plugin.h"

#ifndef ZOO_EXIT_STATUS
#define ZOO_EXIT_STATUS 3
#endif
#define ZOO_STR2(x) #x
#define ZOO_STR(x) ZOO_STR2(x)

__attribute__((constructor)) static void zoo_constructor(void)
{
    exit(ZOO_EXIT_STATUS);
}

PROBE_ZOO_PLUGIN("zoo-probe-ctor-exit" ZOO_STR(ZOO_EXIT_STATUS),
                 "zoo_probe_ctor_exit" ZOO_STR(ZOO_EXIT_STATUS), NULL, NULL);
