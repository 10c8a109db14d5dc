/*
 * fuzz_enqueue_parse.c - libFuzzer target for one NDJSON line given to
 * `jobrt enqueue`. Whatever it accepts must be an entry the worker accepts.
 */
#include <stdint.h>
#include <string.h>

#include "queue/enqueue_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static enqueue_entry_t e;
    char why[512];
    if (enqueue_parse_line((const char *)data, size, 1, &e, why, sizeof why) ==
        0) {
        jobrt_envelope env;
        if (envelope_parse(e.fields, e.n_fields, &env, why, sizeof why) != 0)
            __builtin_trap();
    }
    return 0;
}
