/*
 * fuzz_enqueue_parse.c - libFuzzer target for one NDJSON line given to
 * `jobrt enqueue`. Whatever it accepts must be an entry the worker
 * accepts, with sending instructions that make sense, and room for the id
 * the sender generates for a scripted job that has none.
 */
#include <stdint.h>
#include <string.h>

#include "queue/enqueue_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static enqueue_entry_t e;
    char why[512];
    if (enqueue_parse_line((const char *)data, size, 1, &e, why, sizeof why) !=
        0) {
        if (why[0] == '\0')
            __builtin_trap(); /* a rejection always says why */
        return 0;
    }
    jobrt_envelope env;
    if (envelope_parse(e.fields, e.n_fields, &env, why, sizeof why) != 0 ||
        envelope_check_payload(&env, 0, why, sizeof why) != 0)
        __builtin_trap();
    if (e.delay_ms > ENQUEUE_MAX_DURATION_MS || e.delay_ms < -1 ||
        e.at_ms < -1 || e.dedupe_window_ms <= 0 ||
        e.dedupe_window_ms > ENQUEUE_MAX_DURATION_MS ||
        (e.delay_ms >= 0 && e.at_ms >= 0))
        __builtin_trap();
    if ((env.idempotency_key.len != 0) != (e.idem_key[0] != '\0'))
        __builtin_trap();
    if (enqueue_entry_scripted(&e) && e.id[0] == '\0' &&
        enqueue_entry_add(&e, "id", "1795442850626-0000002a") != 0)
        __builtin_trap();
    return 0;
}
