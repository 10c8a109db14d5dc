/*
 * fuzz_envelope.c - libFuzzer target for the stream-entry parser: the input
 * is split on '\n' into field/value strings (as Redis would hand them over,
 * binary-safe), copied into a job slot and validated, payload included.
 */
#include <stdint.h>
#include <string.h>

#include "exec/job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strview_t fv[64];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < 64; i++) {
        if (i == size || data[i] == '\n') {
            fv[n].ptr = (const char *)data + start;
            fv[n].len = i - start;
            n++;
            start = i + 1;
        }
    }
    static struct jobrt_job job; /* reused, like a worker's slot */
    char why[512];
    if (job_load_entry(&job, "1-0", fv, n, why, sizeof why) == 0)
        envelope_check_payload(&job.env, 1 << 20, why, sizeof why);
    return 0;
}
