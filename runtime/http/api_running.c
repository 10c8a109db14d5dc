/*
 * api_running.c - the overview's "running" list: the jobs in flight on the
 * queue's live workers, as each worker's registry record lists them
 * (fleet/registry.h), oldest first, each with its latest progress report
 * (the ABI 1.2 job_progress, read from the progress keys with one MGET
 * for the whole list: queue/job_locate.h). At most API_RUNNING_MAX are
 * listed; "running_omitted" counts the rest, including the jobs a worker
 * did not list in its record. A job a worker holds that waits for a rate
 * or concurrency limit's answer (it has not started) is "waiting", listed
 * after the running ones. The progress is advisory: when its MGET fails
 * the jobs are listed without it and "running_progress_error" says why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "http/api_internal.h"
#include "queue/job_locate.h"

typedef struct {
    const registry_job_t *job;
    const char *consumer;
} running_ref_t;

/* Oldest first; a job not started yet (0: it waits for a rate or
 * concurrency limit's answer) after every running one. */
static int by_start(const void *a, const void *b)
{
    const registry_job_t *x = ((const running_ref_t *)a)->job;
    const registry_job_t *y = ((const running_ref_t *)b)->job;
    if ((x->started_ms <= 0) != (y->started_ms <= 0))
        return x->started_ms <= 0 ? 1 : -1;
    if (x->started_ms != y->started_ms)
        return x->started_ms < y->started_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* One job's object; p NULL: no progress report. */
static cJSON *running_json(const running_ref_t *r, const job_progress_t *p)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    const registry_job_t *j = r->job;
    api_add_str(o, "id", j->id, strlen(j->id), 0);
    api_add_str(o, "job", j->job, strlen(j->job), 0);
    cJSON_AddNumberToObject(o, "version", j->version);
    cJSON_AddNumberToObject(o, "attempt", j->attempt);
    api_add_str(o, "worker", r->consumer, strlen(r->consumer), 0);
    const char *state = j->started_ms > 0 ? "running" : "waiting";
    api_add_str(o, "state", state, strlen(state), 0);
    cJSON_AddNumberToObject(o, "started_ms", (double)j->started_ms);
    if (p == NULL) {
        cJSON_AddNullToObject(o, "progress");
        return o;
    }
    cJSON *pr = cJSON_AddObjectToObject(o, "progress");
    cJSON_AddNumberToObject(pr, "percent", p->percent);
    api_add_str(pr, "message", p->message, strlen(p->message), 0);
    cJSON_AddNumberToObject(pr, "at_ms", (double)p->at_ms);
    return o;
}

/* MGET of the progress keys of refs[0..n); the reply, or NULL with err. */
static redisReply *read_progress(api_ctx_t *a, const running_ref_t *refs,
                                 size_t n, char *err, size_t err_len)
{
    const char **argv = calloc(n + 1, sizeof *argv);
    size_t *lens = calloc(n + 1, sizeof *lens);
    char (*keys)[512] = calloc(n ? n : 1, sizeof *keys);
    redisReply *r = NULL;
    if (argv == NULL || lens == NULL || keys == NULL) {
        snprintf(err, err_len, "out of memory");
        goto done;
    }
    argv[0] = "MGET";
    lens[0] = 4;
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], "%s%s", a->keys->progress_prefix,
                 refs[i].job->id);
        argv[i + 1] = keys[i];
        lens[i + 1] = strlen(keys[i]);
    }
    r = redisCommandArgv(a->c, (int)n + 1, argv, lens);
    if (r == NULL) {
        snprintf(err, err_len, "MGET of the progress keys: %s",
                 a->c->errstr[0] ? a->c->errstr : "no reply");
    } else if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, err_len, "MGET of the progress keys: %.200s", r->str);
        freeReplyObject(r);
        r = NULL;
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        snprintf(err, err_len, "MGET of the progress keys: unexpected reply");
        freeReplyObject(r);
        r = NULL;
    }
done:
    free(keys);
    free(lens);
    free(argv);
    return r;
}

int api_running_add(api_ctx_t *a, const fleet_t *f, cJSON *doc, char *err,
                    size_t err_len)
{
    size_t total = 0, listed = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (!f->w[i].ok)
            continue;
        total += f->w[i].rec.inflight > f->w[i].rec.n_jobs
                     ? f->w[i].rec.inflight
                     : f->w[i].rec.n_jobs;
        listed += f->w[i].rec.n_jobs;
    }
    running_ref_t *refs = calloc(listed ? listed : 1, sizeof *refs);
    if (refs == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        for (size_t k = 0; f->w[i].ok && k < f->w[i].rec.n_jobs; k++)
            refs[n++] = (running_ref_t){&f->w[i].rec.jobs[k],
                                        f->w[i].consumer};
    qsort(refs, n, sizeof *refs, by_start);
    if (n > API_RUNNING_MAX)
        n = API_RUNNING_MAX;
    /* progress is advisory: when it cannot be read the jobs are listed
     * without it, and the page says why */
    char perr[256] = "";
    redisReply *pr = n > 0 ? read_progress(a, refs, n, perr, sizeof perr)
                           : NULL;
    if (perr[0])
        api_add_str(doc, "running_progress_error", perr, strlen(perr), 0);
    cJSON *list = cJSON_AddArrayToObject(doc, "running");
    for (size_t i = 0; list && i < n; i++) {
        const redisReply *v = pr ? pr->element[i] : NULL;
        job_progress_t p;
        int has = v && job_progress_parse(
                           v->type == REDIS_REPLY_STRING ? v->str : NULL,
                           (size_t)v->len, refs[i].job->attempt,
                           refs[i].job->deliveries, &p);
        cJSON *o = running_json(&refs[i], has ? &p : NULL);
        if (o)
            cJSON_AddItemToArray(list, o);
    }
    cJSON_AddNumberToObject(doc, "running_omitted", (double)(total - n));
    if (pr)
        freeReplyObject(pr);
    free(refs);
    return 0;
}
