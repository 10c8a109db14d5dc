/*
 * send_latency.h - the example's stand-in for a mail provider's latency:
 * an optional top-level payload member "send_ms" (a whole number, 0 to
 * 10000) makes the handler take that long, as a real send would, so that a
 * deploy can be watched with jobs in flight. It naps in 10 ms steps and
 * stops early when the runtime asks (shutdown, `jobrt cancel`), returning
 * -1 so the handler hands the job back. Included by both builds.
 */
#ifndef INVOICE_EMAIL_SEND_LATENCY_H
#define INVOICE_EMAIL_SEND_LATENCY_H

#include <cjson/cJSON.h>
#include <jobrt/plugin.h>
#include <time.h>

#define SEND_MS_MAX 10000

/* 0 once the simulated send is done, -1 if cancelled meanwhile. */
static int simulate_send(const jobrt_host_api *host, const jobrt_job *job,
                         const cJSON *root)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "send_ms");
    double ms = cJSON_IsNumber(item) ? item->valuedouble : 0;

    if (!(ms > 0))
        return 0;
    if (ms > SEND_MS_MAX)
        ms = SEND_MS_MAX;
    for (double left = ms; left > 0; left -= 10) {
        struct timespec step = {0, (long)((left < 10 ? left : 10) * 1e6)};
        if (host->job_cancel_requested(job))
            return -1;
        nanosleep(&step, NULL);
    }
    return 0;
}

#endif
