/* probe/ctor_segv.so - a valid plugin whose ELF constructor segfaults (a
 * store through a NULL pointer the compiler cannot see is NULL): loading
 * it kills the process that dlopen()s it. The probe must reject it as a
 * crash (SIGSEGV; under AddressSanitizer the sanitizer's exit status). */
#include "probe_plugin.h"

static int *volatile nowhere; /* NULL, read at run time */

__attribute__((constructor)) static void zoo_constructor(void)
{
    *nowhere = 1;
}

PROBE_ZOO_PLUGIN("zoo-probe-ctor-segv", "zoo_probe_ctor_segv", NULL, NULL);
