/* no_descriptor.so - a valid shared object that exports a function but no
 * `jobrt_plugin` descriptor. */
#include <jobrt/plugin.h>

JOBRT_EXPORT int zoo_no_descriptor_hello(void);

JOBRT_EXPORT int zoo_no_descriptor_hello(void)
{
    return 42;
}
