/*
 * lost.c - settling the entries of a worker process that died
 * (queue_redis_worker_lost, queue.h): one WORKER_LOST op (scripts.c) per
 * dead process, built from what the supervisor read on its board, and
 * the lines that say what it did: one INFO line per call, one WARN line
 * per job dead-lettered.
 */
#include "queue/queue_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

#define LOST_IDS_SHOWN 3 /* job ids per kind in the INFO line */

static int valid_stream_id(const char *s)
{
    stream_id_t id;
    return s && stream_id_parse(s, strlen(s), &id) == 0;
}

static const char *job_id_of(const queue_lost_job_t *j)
{
    return j->job_id && *j->job_id ? j->job_id : j->stream_id;
}

void queue_redis_worker_lost(queue_redis_t *q, const char *consumer, int pid,
                             const char *host, const queue_lost_job_t *jobs,
                             size_t n)
{
    size_t pl = strlen(QUEUE_PARKED_PREFIX);
    if (consumer == NULL || *consumer == '\0' ||
        strncmp(consumer, QUEUE_PARKED_PREFIX, pl) == 0) {
        LOGE("queue", "worker-lost: '%s' is not a worker's consumer name; "
             "nothing settled", consumer ? consumer : "");
        return;
    }
    if (n > QUEUE_LOST_JOBS_MAX) {
        LOGW("queue", "worker %s lost with %zu jobs listed, over the limit "
             "of %d: the rest are handed back uncharged", consumer, n,
             QUEUE_LOST_JOBS_MAX);
        n = QUEUE_LOST_JOBS_MAX;
    }
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (valid_stream_id(jobs[i].stream_id)) {
            used++;
        } else {
            log_job_t lj = {.id = jobs[i].job_id, .queue = q->o.queue};
            LOGJW("queue", &lj, "worker %s lost: job %s has no valid stream "
                  "id ('%s'): left out of the settling", consumer,
                  jobs[i].job_id ? jobs[i].job_id : "-",
                  jobs[i].stream_id ? jobs[i].stream_id : "");
        }
    }
    char num[24], key[1024];
    snprintf(num, sizeof num, "%zu", 5 + used);
    outbox_arg(q, num);
    outbox_arg(q, q->keys.stream);
    outbox_arg(q, q->keys.dlq);
    outbox_arg(q, q->keys.workers);
    snprintf(key, sizeof key, "%s%s", q->keys.worker_prefix, consumer);
    outbox_arg(q, key);
    outbox_arg(q, q->keys.delayed);
    for (size_t i = 0; i < n; i++) {
        if (!valid_stream_id(jobs[i].stream_id))
            continue;
        snprintf(key, sizeof key, "%s%s", q->keys.job_prefix,
                 job_id_of(&jobs[i]));
        outbox_arg(q, key);
    }
    outbox_arg(q, q->o.group);
    outbox_arg(q, consumer);
    if (pid > 0)
        snprintf(num, sizeof num, "%d", pid);
    else
        num[0] = '\0'; /* unknown: the record is left to expire */
    outbox_arg(q, num);
    outbox_arg(q, host ? host : "");
    snprintf(num, sizeof num, "%lld", (long long)util_now_ms());
    outbox_arg(q, num);
    snprintf(num, sizeof num, "%lld", (long long)q->o.lease_ms);
    outbox_arg(q, num);
    snprintf(num, sizeof num, "%ld", q->o.max_deliveries);
    outbox_arg(q, num);
    outbox_arg(q, q->dlq_max_len);
    outbox_arg(q, q->failure_ttl);
    snprintf(num, sizeof num, "%zu", used);
    outbox_arg(q, num);
    for (size_t i = 0; i < n; i++) {
        const queue_lost_job_t *j = &jobs[i];
        if (!valid_stream_id(j->stream_id))
            continue;
        outbox_arg(q, j->stream_id);
        outbox_arg(q, job_id_of(j));
        outbox_arg(q, j->kind == LOST_TIMEOUT ? "timeout" : "charge");
        outbox_arg(q, j->error ? j->error : "");
        if (j->record && j->record_len)
            outbox_arg_len(q, j->record, j->record_len);
        else
            outbox_arg(q, "");
        snprintf(num, sizeof num, "%u",
                 j->kind == LOST_TIMEOUT ? j->next_attempt : 0u);
        outbox_arg(q, num);
        snprintf(num, sizeof num, "%u",
                 j->kind == LOST_TIMEOUT ? j->retry_delay_ms : 0u);
        outbox_arg(q, num);
    }
    char label[ENVELOPE_MAX_ID + 1];
    snprintf(label, sizeof label, "(worker %.100s lost)", consumer);
    outbox_submit(q, SCRIPT_WORKER_LOST, label);
    outbox_pump(q);
}

/* ---- what it did ---------------------------------------------------------- */

typedef struct {
    char s[2048];
    size_t len;
} line_t;

static void addf(line_t *l, const char *fmt, ...)
{
    if (l->len >= sizeof l->s - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->s + l->len, sizeof l->s - l->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len += (size_t)n;
    if (l->len > sizeof l->s - 1)
        l->len = sizeof l->s - 1;
}

static const char *str_at(const redisReply *t, size_t i)
{
    if (t->type != REDIS_REPLY_ARRAY || i >= t->elements ||
        t->element[i]->type != REDIS_REPLY_STRING)
        return "";
    return t->element[i]->str;
}

static long long int_at(const redisReply *t, size_t i)
{
    if (t->type != REDIS_REPLY_ARRAY || i >= t->elements ||
        t->element[i]->type != REDIS_REPLY_INTEGER)
        return 0;
    return t->element[i]->integer;
}

/* One kind of the INFO line: "; N <what> (<first few>, and M more)",
 * each of the first few formatted from its tuple by item(). */
static void add_kind(line_t *l, int *first, const redisReply *list,
                     const char *what,
                     void (*item)(line_t *, const redisReply *))
{
    if (list->type != REDIS_REPLY_ARRAY || list->elements == 0)
        return;
    addf(l, "%s%zu %s (", *first ? "" : "; ", list->elements, what);
    *first = 0;
    for (size_t i = 0; i < list->elements && i < LOST_IDS_SHOWN; i++) {
        addf(l, "%s", i ? ", " : "");
        item(l, list->element[i]);
    }
    if (list->elements > LOST_IDS_SHOWN)
        addf(l, ", and %zu more", list->elements - LOST_IDS_SHOWN);
    addf(l, ")");
}

static void item_charged(line_t *l, const redisReply *t)
{
    addf(l, "job %s, delivered %lld time(s)", str_at(t, 1), int_at(t, 2));
}

static void item_poisoned(line_t *l, const redisReply *t)
{
    addf(l, "job %s after %lld deliveries", str_at(t, 1), int_at(t, 2));
}

static void item_retried(line_t *l, const redisReply *t)
{
    addf(l, "job %s: attempt %lld in %lld ms", str_at(t, 1), int_at(t, 2),
         int_at(t, 3));
}

static void item_dead(line_t *l, const redisReply *t)
{
    addf(l, "job %s", str_at(t, 1));
}

static void item_skipped(line_t *l, const redisReply *t)
{
    const char *holder = str_at(t, 2);
    if (*holder)
        addf(l, "job %s: held by %s", str_at(t, 1), holder);
    else
        addf(l, "job %s: not pending", str_at(t, 1));
}

void lost_replied(queue_redis_t *q, const redisReply *r)
{
    /* {consumer, handed back, charged, poisoned, retried, timed out,
     * skipped, too_many_fields, gone, who, kept} */
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 11)
        return;
    for (size_t i = 2; i <= 7; i++)
        if (r->element[i]->type != REDIS_REPLY_ARRAY)
            return;
    const char *who = str_at(r, 0);
    const redisReply *charged = r->element[2], *poisoned = r->element[3],
                     *retried = r->element[4], *dead = r->element[5],
                     *skipped = r->element[6], *buried = r->element[7];
    long long back = int_at(r, 1), gone = int_at(r, 8);
    q->health.lost_poisoned += poisoned->elements;
    q->health.lost_timed_out += dead->elements;
    q->health.lost_too_many_fields += buried->elements;
    line_t l = {.len = 0};
    int first = 1;
    addf(&l, "worker %s lost: ", who);
    if (back > 0) {
        addf(&l, "%lld job(s) released for redelivery", back);
        first = 0;
    }
    long long kept = int_at(r, 10);
    if (kept > 0) {
        addf(&l, "%s%lld delivered before, reclaimable now with their "
             "earlier deliveries kept", first ? "" : "; ", kept);
        first = 0;
    }
    add_kind(&l, &first, charged, "charged a delivery, reclaimable now",
             item_charged);
    add_kind(&l, &first, poisoned, "dead-lettered as poison", item_poisoned);
    add_kind(&l, &first, retried, "timed out, retried", item_retried);
    add_kind(&l, &first, dead, "timed out with no attempts left, "
             "dead-lettered as timeout", item_dead);
    add_kind(&l, &first, skipped, "skipped, no longer its own",
             item_skipped);
    if (buried->elements > 0) {
        addf(&l, "%s%zu dead-lettered as too_many_fields", first ? "" : "; ",
             buried->elements);
        first = 0;
    }
    if (gone > 0) {
        addf(&l, "%s%lld already deleted from the stream (acked)",
             first ? "" : "; ", gone);
        first = 0;
    }
    if (first)
        addf(&l, "nothing of it was pending");
    const char *other = str_at(r, 9);
    if (*other)
        addf(&l, "; its registry record was left alone: written by %s",
             other);
    LOGI("queue", "%s", l.s);

    for (size_t i = 0; i < poisoned->elements; i++) {
        const redisReply *t = poisoned->element[i];
        log_job_t lj = {.id = str_at(t, 1), .stream_id = str_at(t, 0),
                        .queue = q->o.queue};
        LOGJW("queue", &lj, "job %s (entry %s) of queue %s dead-lettered as "
              "poison: delivered %lld times (--max-deliveries %ld), the "
              "last on worker %s, which died: %s", str_at(t, 1),
              str_at(t, 0), q->o.queue, int_at(t, 2), q->o.max_deliveries,
              who, str_at(t, 3));
    }
    for (size_t i = 0; i < dead->elements; i++) {
        const redisReply *t = dead->element[i];
        log_job_t lj = {.id = str_at(t, 1), .stream_id = str_at(t, 0),
                        .queue = q->o.queue};
        LOGJW("queue", &lj, "job %s (entry %s) of queue %s dead-lettered as "
              "timeout, no attempts left (worker %s was killed for it): %s",
              str_at(t, 1), str_at(t, 0), q->o.queue, who, str_at(t, 3));
    }
    for (size_t i = 0; i < buried->elements; i++) {
        const redisReply *t = buried->element[i];
        const char *job = str_at(t, 1);
        log_job_t lj = {.id = job, .stream_id = str_at(t, 0),
                        .queue = q->o.queue};
        LOGJW("queue", &lj, "entry %s%s%s of queue %s dead-lettered as "
              "too_many_fields: it has more than %d fields of its own "
              "(found pending for worker %s, which died)", str_at(t, 0),
              *job ? ", job " : "", job, q->o.queue, ENVELOPE_MAX_FIELDS,
              who);
    }
}
