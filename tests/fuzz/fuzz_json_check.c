/*
 * fuzz_json_check.c - libFuzzer target for the payload validator and the
 * raw member lookup used by `jobrt enqueue`.
 */
#include <stdint.h>
#include <string.h>

#include "core/json_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *why = NULL, *val;
    size_t len;
    if (json_check(s, size, JSON_CHECK_DEFAULT_DEPTH, &why) == 0) {
        if (json_member_span(s, size, "payload", &val, &len) == 0) {
            /* the span must itself be one valid JSON value inside s */
            if (val < s || val + len > s + size ||
                json_check(val, len, JSON_CHECK_DEFAULT_DEPTH, NULL) != 0)
                __builtin_trap();
        }
    } else if (why == NULL) {
        __builtin_trap(); /* a rejection always says why */
    }
    return 0;
}
