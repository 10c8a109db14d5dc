/*
 * fuzz_registry.c - libFuzzer target for the two documents the command
 * line reads from Redis and any client could have written: a worker's
 * registry record and a reload outcome (fleet/registry.h). A record that
 * parses must be internally consistent (every plugin's serves inside the
 * record's list, min <= max), and a rejection always says why.
 */
#include <stdint.h>
#include <string.h>

#include "fleet/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    char why[256];
    registry_record_t r;
    why[0] = '\0';
    if (registry_parse_record(s, size, &r, why, sizeof why) == 0) {
        for (size_t i = 0; i < r.n_plugins; i++) {
            const registry_plugin_t *p = &r.plugins[i];
            if (p->n_serves > r.n_serves ||
                (p->n_serves && (p->serves < r.serves ||
                                 p->serves + p->n_serves >
                                     r.serves + r.n_serves)))
                __builtin_trap();
            for (size_t j = 0; j < p->n_serves; j++) {
                if (p->serves[j].min > p->serves[j].max)
                    __builtin_trap();
                (void)registry_serves(&r, p->serves[j].job,
                                      p->serves[j].min);
            }
        }
        (void)registry_running_count(&r, "job", 1);
        registry_record_free(&r);
    } else if (why[0] == '\0') {
        __builtin_trap();
    }
    registry_outcome_t o;
    why[0] = '\0';
    if (registry_parse_reload_outcome(s, size, &o, why, sizeof why) == 0) {
        for (size_t i = 0; i < o.n_changes; i++)
            (void)registry_change_failed(&o.changes[i]);
        registry_outcome_free(&o);
    } else if (why[0] == '\0') {
        __builtin_trap();
    }
    return 0;
}
