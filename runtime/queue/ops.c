/*
 * ops.c - the state changes of a job that the worker asks for, each turned
 * into an op for the outbox: completions (batched into one XACK, or one
 * COMPLETE call when outcome records are written), requeues for a retry or
 * a not_before, dead letters, and the release of everything still pending
 * at shutdown (which also takes the worker out of the registry). Parking
 * and the fleet's other ops are in fleet_tick.c. The scripts and the invariant
 * each keeps are described in scripts.h.
 */
#include "queue/queue_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "queue/events.h"
#include "queue/records.h"

/* 1 if the batch already carries the build named key. */
static int batch_has_build(const queue_redis_t *q, const char *key)
{
    size_t len, n = strlen(key);
    for (size_t i = q->b_builds.n; i >= 2; i -= 2) { /* newest first */
        const char *k = strlist_get(&q->b_builds, i - 2, &len);
        if (len == n && memcmp(k, key, n) == 0)
            return 1;
    }
    return 0;
}

void queue_redis_complete(queue_redis_t *q, const char *stream_id,
                          const char *job_id, const char *record,
                          size_t record_len, const queue_build_t *build)
{
    size_t n_ids = q->b_ids.n, n_recs = q->b_recs.n, n_b = q->b_builds.n;
    int rc = strlist_adds(&q->b_ids, stream_id);
    if (rc == 0 && record && q->o.result_ttl_s > 0) {
        rc = strlist_adds(&q->b_recs, job_id);
        if (rc == 0)
            rc = strlist_add(&q->b_recs, record, record_len);
        if (rc == 0 && build && !batch_has_build(q, build->key)) {
            rc = strlist_adds(&q->b_builds, build->key);
            if (rc == 0)
                rc = strlist_add(&q->b_builds, build->json, build->json_len);
        }
    }
    if (rc != 0) {
        /* The lists must stay aligned: records and builds in pairs. */
        strlist_truncate(&q->b_ids, n_ids);
        strlist_truncate(&q->b_recs, n_recs);
        strlist_truncate(&q->b_builds, n_b);
        log_job_t lj = {.id = job_id, .stream_id = stream_id,
                        .queue = q->o.queue};
        LOGJE("queue", &lj, "out of memory acking job %s (entry %s); it "
              "stays pending in Redis and will be redelivered", job_id,
              stream_id);
        return;
    }
    if (q->b_ids.n >= MAX_BATCH)
        queue_redis_flush(q);
}

/* The events block COMPLETE takes after the records (scripts.c): max
 * len, worker, the started events, the completed ones, each list led by
 * its count of entries, each entry a JSON array of at most
 * EVENTS_JOBS_PER_ENTRY jobs {"id","job","v","attempt"}: the script
 * writes one stream entry per array, not one per job. */
static void event_list_args(queue_redis_t *q, strlist_t *l)
{
    char num[24];
    size_t len, events = l->n / 4;
    size_t entries = (events + EVENTS_JOBS_PER_ENTRY - 1) /
                     EVENTS_JOBS_PER_ENTRY;
    snprintf(num, sizeof num, "%zu", entries);
    outbox_arg(q, num);
    buf_t *b = &q->ev_json;
    for (size_t e = 0; e < entries; e++) {
        size_t first = e * EVENTS_JOBS_PER_ENTRY;
        size_t last = first + EVENTS_JOBS_PER_ENTRY < events
                          ? first + EVENTS_JOBS_PER_ENTRY
                          : events;
        buf_reset(b);
        int rc = buf_append(b, "[", 1);
        for (size_t i = first; rc == 0 && i < last; i++) {
            const char *id = strlist_get(l, 4 * i, &len);
            rc = buf_append(b, i > first ? ",{\"id\":" : "{\"id\":",
                            i > first ? 7 : 6) ||
                 buf_append_json_str(b, id, len);
            const char *job = strlist_get(l, 4 * i + 1, &len);
            rc = rc || buf_append(b, ",\"job\":", 7) ||
                 buf_append_json_str(b, job, len);
            /* v and attempt: decimal numbers (events.c) */
            const char *v = strlist_get(l, 4 * i + 2, &len);
            rc = rc || buf_append(b, ",\"v\":", 5) || buf_append(b, v, len);
            const char *a = strlist_get(l, 4 * i + 3, &len);
            rc = rc || buf_append(b, ",\"attempt\":", 11) ||
                 buf_append(b, a, len) || buf_append(b, "}", 1);
        }
        rc = rc || buf_append(b, "]", 1);
        if (rc == 0)
            outbox_arg_len(q, b->data, b->len);
        else /* out of memory: these events are lost, the jobs go on */
            outbox_arg(q, "[]");
    }
    strlist_reset(l);
}

static void started_args(queue_redis_t *q)
{
    outbox_arg(q, q->events_max_len_s);
    outbox_arg(q, q->o.consumer);
    event_list_args(q, &q->ev_started);
    event_list_args(q, &q->ev_completed);
}

/* Appends one command of an OP_MULTI: its argc, then the words given
 * (NULL-terminated). */
static void multi_cmd(queue_redis_t *q, int argc, ...)
{
    char n[16];
    va_list ap;
    snprintf(n, sizeof n, "%d", argc);
    outbox_arg(q, n);
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        outbox_arg(q, va_arg(ap, const char *));
    va_end(ap);
}

/* A completion batch with records and no events, as one transaction:
 * HSET the records into the bucket (and the builds), move the expiry of
 * the bucket, its builds and the index only ever later (NX, then GT),
 * list the bucket in the index, then XACK. Without a script the records
 * go to Redis as they are (no Lua strings made of them: about 0.9 us of
 * Redis CPU per job less, bench/RESULTS.md); MULTI keeps the order and
 * the all-or-nothing of the script: a command refused as it is queued
 * (OOM under maxmemory, MOVED) makes EXEC discard all of it, so nothing
 * is acked without its record. */
static void records_multi(queue_redis_t *q, const char *bucket,
                          const char *builds, const char *start_s,
                          const char *gone_s, const char *expire_s,
                          const char *label)
{
    size_t len, n = q->b_ids.n;
    char num[24];
    snprintf(num, sizeof num, "%zu", 2 + q->b_recs.n);
    outbox_arg(q, num);
    outbox_arg(q, "HSET");
    outbox_arg(q, bucket);
    for (size_t i = 0; i < q->b_recs.n; i++) {
        const char *rec = strlist_get(&q->b_recs, i, &len);
        outbox_arg_len(q, rec, len);
    }
    if (q->b_builds.n > 0) {
        snprintf(num, sizeof num, "%zu", 2 + q->b_builds.n);
        outbox_arg(q, num);
        outbox_arg(q, "HSET");
        outbox_arg(q, builds);
        for (size_t i = 0; i < q->b_builds.n; i++) {
            const char *b = strlist_get(&q->b_builds, i, &len);
            outbox_arg_len(q, b, len);
        }
    }
    /* relative: an op sent late (Redis was away) only expires later */
    const char *keys[] = {bucket, builds};
    for (size_t k = 0; k < 2; k++) {
        /* EXPIRE of a key that is not there (no builds) does nothing */
        multi_cmd(q, 4, "EXPIRE", keys[k], expire_s, "NX");
        multi_cmd(q, 4, "EXPIRE", keys[k], expire_s, "GT");
    }
    /* the index has no TTL: it is small, and pruned as buckets go */
    multi_cmd(q, 5, "ZADD", q->keys.done, "GT", gone_s, start_s);
    snprintf(num, sizeof num, "%zu", 3 + n);
    outbox_arg(q, num);
    outbox_arg(q, "XACK");
    outbox_arg(q, q->keys.stream);
    outbox_arg(q, q->o.group);
    for (size_t i = 0; i < n; i++) {
        const char *id = strlist_get(&q->b_ids, i, &len);
        outbox_arg_len(q, id, len);
    }
    outbox_submit(q, OP_MULTI, label);
    strlist_reset(&q->b_ids);
    strlist_reset(&q->b_recs);
    strlist_reset(&q->b_builds);
}

/* The completion batch as one op. With events on it is always a COMPLETE
 * call (the script writes the completed events), and carries the
 * started events batched so far: with_started sends those even when no
 * job completed. */
static void flush_batch(queue_redis_t *q, int with_started)
{
    size_t n = q->b_ids.n, len;
    int ev = queue_events_on(q);
    if (!ev) {
        strlist_reset(&q->ev_started);
        strlist_reset(&q->ev_completed);
    }
    int started = ev && (q->ev_started.n > 0 || q->ev_completed.n > 0) &&
                  (with_started || n > 0);
    if (n == 0 && !started)
        return;
    const char *first = n ? strlist_get(&q->b_ids, 0, &len) : "(events)";
    if (n == 0)
        len = strlen(first);
    char label[64];
    snprintf(label, sizeof label, "%.*s%s", (int)(len > 40 ? 40 : len), first,
             n > 1 ? " and others" : "");
    for (size_t i = 0; i < n && !q->writer_only; i++) {
        /* for the trim; writer-only has none: other workers' cuts */
        const char *id = strlist_get(&q->b_ids, i, &len);
        stream_sweep_add(&q->sweep, id, len); /* on failure trims alone */
    }
    if (q->b_recs.n == 0 && !ev) { /* nothing to record: a plain XACK */
        outbox_arg(q, q->keys.stream);
        outbox_arg(q, q->o.group);
        for (size_t i = 0; i < n; i++) {
            const char *id = strlist_get(&q->b_ids, i, &len);
            outbox_arg_len(q, id, len);
        }
        outbox_submit(q, OP_XACK, label);
        strlist_reset(&q->b_ids);
        return;
    }
    /* the record bucket of now (queue/records.h) */
    char num[24], bucket[600], builds[620], start_s[24], gone_s[24],
        expire_s[24], now_s[24];
    int64_t now = util_now_ms() / 1000;
    int64_t width = records_bucket_width_s(q->o.result_ttl_s);
    int64_t start = now - now % width;
    snprintf(bucket, sizeof bucket, "%s:%lld", q->keys.done, (long long)start);
    snprintf(builds, sizeof builds, "%s:builds", bucket);
    snprintf(start_s, sizeof start_s, "%lld", (long long)start);
    snprintf(gone_s, sizeof gone_s, "%lld",
             (long long)(start + width + q->o.result_ttl_s));
    snprintf(expire_s, sizeof expire_s, "%lld", /* seconds from now */
             (long long)(start + 2 * width + q->o.result_ttl_s - now));
    snprintf(now_s, sizeof now_s, "%lld", (long long)now);
    if (!ev) {
        records_multi(q, bucket, builds, start_s, gone_s, expire_s, label);
        if (start != q->records_start) { /* a new bucket: free old ones */
            q->records_start = start;
            outbox_arg(q, "1");
            outbox_arg(q, q->keys.done);
            outbox_submit(q, SCRIPT_RECORDS_PRUNE, label);
        }
        return;
    }
    outbox_arg(q, "5");
    outbox_arg(q, q->keys.stream);
    outbox_arg(q, bucket);
    outbox_arg(q, builds);
    outbox_arg(q, q->keys.done);
    outbox_arg(q, q->keys.events);
    outbox_arg(q, q->o.group);
    outbox_arg(q, start_s);
    outbox_arg(q, gone_s);
    outbox_arg(q, expire_s);
    outbox_arg(q, now_s);
    snprintf(num, sizeof num, "%zu", n);
    outbox_arg(q, num);
    for (size_t i = 0; i < n; i++) {
        const char *id = strlist_get(&q->b_ids, i, &len);
        outbox_arg_len(q, id, len);
    }
    snprintf(num, sizeof num, "%zu", q->b_recs.n / 2);
    outbox_arg(q, num);
    for (size_t i = 0; i < q->b_recs.n; i++) {
        const char *rec = strlist_get(&q->b_recs, i, &len);
        outbox_arg_len(q, rec, len);
    }
    snprintf(num, sizeof num, "%zu", q->b_builds.n / 2);
    outbox_arg(q, num);
    for (size_t i = 0; i < q->b_builds.n; i++) {
        const char *b = strlist_get(&q->b_builds, i, &len);
        outbox_arg_len(q, b, len);
    }
    started_args(q); /* with none: the block says 0 */
    outbox_submit(q, SCRIPT_COMPLETE, label);
    strlist_reset(&q->b_ids);
    strlist_reset(&q->b_recs);
    strlist_reset(&q->b_builds);
}

void ops_flush_started(queue_redis_t *q)
{
    if (q->ev_started.n > 0 || q->ev_completed.n > 0)
        flush_batch(q, 1);
}

void queue_redis_flush(queue_redis_t *q)
{
    flush_batch(q, 0);
    queue_limits_flush(q);
    outbox_pump(q);
}

/* The requeue op; rate_slot / limit_waits: the limits' fields for the
 * new entry (NULL: none). Those fields of the entry are never copied: a
 * retry asks the limits again. */
static void requeue_op(queue_redis_t *q, const char *stream_id,
                       const char *job_id, const strview_t *fv, size_t n,
                       uint32_t attempt, const char *error, uint32_t delay_ms,
                       int64_t due_ms, const char *rate_slot,
                       const char *limit_waits)
{
    char num[24];
    ops_flush_started(q); /* its started event goes first */
    int ev = queue_events_on(q) && attempt != 0; /* a retry */
    outbox_arg(q, ev ? "3" : "2");
    outbox_arg(q, q->keys.stream);
    outbox_arg(q, q->keys.delayed);
    if (ev)
        outbox_arg(q, q->keys.events);
    outbox_arg(q, q->o.group);
    outbox_arg(q, stream_id);
    snprintf(num, sizeof num, "%u", delay_ms);
    outbox_arg(q, num);
    snprintf(num, sizeof num, "%lld", (long long)due_ms);
    outbox_arg(q, num);
    /* the entry's fields, with attempt and last_error replaced */
    const strview_t *old_attempt = NULL, *old_error = NULL;
    int has_id = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        if (strview_is(&fv[i], "attempt")) {
            old_attempt = &fv[i + 1];
        } else if (strview_is(&fv[i], "last_error")) {
            old_error = &fv[i + 1];
        } else if (strview_is(&fv[i], QUEUE_FIELD_RATE_SLOT) ||
                   strview_is(&fv[i], QUEUE_FIELD_LIMIT_WAITS)) {
            continue;
        } else {
            has_id |= strview_is(&fv[i], "id");
            outbox_arg_len(q, fv[i].ptr, fv[i].len);
            outbox_arg_len(q, fv[i + 1].ptr, fv[i + 1].len);
        }
    }
    if (!has_id) {
        outbox_arg(q, "id");
        outbox_arg(q, job_id);
    }
    if (attempt) {
        snprintf(num, sizeof num, "%u", attempt);
        outbox_arg(q, "attempt");
        outbox_arg(q, num);
    } else if (old_attempt && old_attempt->len) {
        outbox_arg(q, "attempt");
        outbox_arg_len(q, old_attempt->ptr, old_attempt->len);
    }
    if (error && *error) {
        outbox_arg(q, "last_error");
        outbox_arg(q, error);
    } else if (old_error && old_error->len) {
        outbox_arg(q, "last_error");
        outbox_arg_len(q, old_error->ptr, old_error->len);
    }
    if (rate_slot) {
        outbox_arg(q, QUEUE_FIELD_RATE_SLOT);
        outbox_arg(q, rate_slot);
    }
    if (limit_waits) {
        outbox_arg(q, QUEUE_FIELD_LIMIT_WAITS);
        outbox_arg(q, limit_waits);
    }
    if (ev) { /* the events block: after the fields */
        outbox_arg(q, q->events_max_len_s);
        outbox_arg(q, q->o.consumer);
    }
    if (!q->writer_only) /* no trim of ours: other workers' cuts */
        stream_sweep_add(&q->sweep, stream_id, strlen(stream_id));
    outbox_submit(q, SCRIPT_REQUEUE, job_id);
}

void queue_redis_requeue(queue_redis_t *q, const char *stream_id,
                         const char *job_id, const strview_t *fv, size_t n,
                         uint32_t attempt, const char *error,
                         uint32_t delay_ms, int64_t due_ms)
{
    requeue_op(q, stream_id, job_id, fv, n, attempt, error, delay_ms, due_ms,
               NULL, NULL);
}

void queue_redis_requeue_limited(queue_redis_t *q, const char *stream_id,
                                 const char *job_id, const strview_t *fv,
                                 size_t n, uint32_t delay_ms, int64_t due_ms,
                                 int64_t rate_slot_ms, uint32_t waits)
{
    char slot[24], w[16];
    snprintf(slot, sizeof slot, "%lld", (long long)rate_slot_ms);
    snprintf(w, sizeof w, "%u", waits);
    requeue_op(q, stream_id, job_id, fv, n, 0, NULL, delay_ms, due_ms,
               rate_slot_ms > 0 ? slot : NULL, waits > 0 ? w : NULL);
}

void queue_redis_dead_letter(queue_redis_t *q, const char *stream_id,
                             const char *job_id, const char *reason,
                             const char *error, const char *record,
                             size_t record_len)
{
    char now[24], key[700];
    int with_record = record && q->o.failure_ttl_s > 0;
    ops_flush_started(q); /* its started event goes first */
    int ev = queue_events_on(q);
    snprintf(now, sizeof now, "%lld", (long long)util_now_ms());
    outbox_arg(q, with_record ? (ev ? "4" : "3") : (ev ? "3" : "2"));
    outbox_arg(q, q->keys.stream);
    outbox_arg(q, q->keys.dlq);
    if (with_record) {
        snprintf(key, sizeof key, "%s%s", q->keys.job_prefix, job_id);
        outbox_arg(q, key);
    }
    if (ev)
        outbox_arg(q, q->keys.events);
    outbox_arg(q, q->o.group);
    outbox_arg(q, stream_id);
    outbox_arg(q, reason);
    outbox_arg(q, error ? error : "");
    outbox_arg(q, q->o.consumer);
    outbox_arg(q, now);
    outbox_arg(q, q->dlq_max_len);
    if (with_record) {
        outbox_arg_len(q, record, record_len);
        outbox_arg(q, q->failure_ttl);
    } else if (ev) {
        outbox_arg(q, "");
        outbox_arg(q, "");
    }
    if (ev)
        outbox_arg(q, q->events_max_len_s);
    outbox_submit(q, SCRIPT_DLQ, job_id);
}

void queue_redis_release_pending(queue_redis_t *q)
{
    if (q->read_outstanding) {
        /* A read sent before the stop may still be delivered, on the
         * reader's own connection, after a release sent now on the
         * writer's: its entries would stay pending for a consumer that is
         * gone. Release once Redis has answered it (reader.c). */
        q->released = 1;
        q->release_deferred = 1;
        reader_unblock(q);
        return;
    }
    queue_release_now(q);
}

void queue_release_now(queue_redis_t *q)
{
    char now[24], record[1024];
    snprintf(now, sizeof now, "%lld", (long long)util_now_ms());
    snprintf(record, sizeof record, "%s%s", q->keys.worker_prefix,
             q->o.consumer);
    q->released = 1; /* no heartbeat puts the record back */
    outbox_arg(q, "4");
    outbox_arg(q, q->keys.stream);
    outbox_arg(q, q->keys.dlq); /* for entries over the field limit */
    outbox_arg(q, q->keys.workers); /* leave the registry */
    outbox_arg(q, record);
    outbox_arg(q, q->o.group);
    outbox_arg(q, q->o.consumer);
    outbox_arg(q, now);
    outbox_arg(q, q->dlq_max_len);
    outbox_arg(q, q->self_pid);
    outbox_arg(q, q->self_host);
    outbox_submit(q, SCRIPT_RELEASE, "(release)");
    /* then a last cut, so the stream holds only what is left to run */
    outbox_arg(q, "1");
    outbox_arg(q, q->keys.stream);
    outbox_arg(q, q->o.group);
    outbox_submit(q, SCRIPT_TRIM, "(trim)");
    outbox_pump(q);
}

void ops_release_replied(queue_redis_t *q, const redisReply *r)
{
    /* {how many went back, ids dead-lettered as too_many_fields} */
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_ARRAY)
        return;
    const redisReply *buried = r->element[1];
    if (r->element[0]->integer > 0)
        LOGI("queue", "released %lld unfinished job(s) back to queue %s for "
             "immediate redelivery", r->element[0]->integer, q->o.queue);
    for (size_t i = 0; i < buried->elements; i++) {
        if (buried->element[i]->type != REDIS_REPLY_STRING)
            continue;
        log_job_t lj = {.stream_id = buried->element[i]->str,
                        .queue = q->o.queue};
        LOGJW("queue", &lj, "entry %s of %s dead-lettered at release: "
              "too_many_fields: it has more than %d fields of its own",
              buried->element[i]->str, q->keys.stream, ENVELOPE_MAX_FIELDS);
    }
}

void queue_redis_give_back(queue_redis_t *q, const char *stream_id,
                           const char *job_id, const strview_t *fv, size_t n,
                           uint32_t deliveries)
{
    if (deliveries <= 1) {
        queue_redis_requeue(q, stream_id, job_id, fv, n, 0, NULL, 0, 0);
        return;
    }
    char lease[24];
    snprintf(lease, sizeof lease, "%lld", (long long)q->o.lease_ms);
    outbox_arg(q, "1");
    outbox_arg(q, q->keys.stream);
    outbox_arg(q, q->o.group);
    outbox_arg(q, q->o.consumer);
    outbox_arg(q, stream_id);
    outbox_arg(q, lease);
    outbox_submit(q, SCRIPT_GIVE_BACK, job_id);
}
