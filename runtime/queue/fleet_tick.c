/*
 * fleet_tick.c - the queue's share of running in a fleet of workers: parking
 * the jobs no handler here serves (they stay pending in the stream, owned
 * by a pseudo-consumer per (job, version)), taking parked jobs this worker
 * serves (every UNPARK_EVERY_MS, and soon after the served list changes),
 * dead-lettering jobs parked longer than park_ttl_ms, the registry
 * heartbeat (record and live-workers zset), removing dead consumers from
 * the group, and polling and answering `jobrt reload` requests. The
 * periodic parts run from periodic.c's tick, once the queue has started;
 * each kind has at most one call in flight, and its errors are logged
 * once per change (periodic_failed). The scripts are in scripts.c.
 */
#include "queue/queue_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/envelope.h"
#include "core/log.h"
#include "core/reasons.h"
#include "core/util.h"

#define UNPARK_EVERY_MS 500
#define UNPARK_BATCH 256      /* entries taken per UNPARK call at most */
#define PARK_EXPIRE_EVERY_MS 5000
#define PARK_EXPIRE_BATCH 100 /* entries dead-lettered per call at most */
#define CLEANUP_EVERY_MS 10000
#define CLEANUP_MIN_IDLE_MS 30000 /* a consumer idle longer may be dead */
#define CLEANUP_BATCH 100     /* consumers removed per call at most */
#define RELOAD_POLL_MS 500
#define RELOAD_REPLY_TTL_S "600"

static int ready(const queue_redis_t *q)
{
    return q->started && outbox_ready(q);
}

/* ---- parking ------------------------------------------------------------ */

void queue_redis_park(queue_redis_t *q, const char *stream_id,
                      const char *job_id, const char *job, uint32_t version,
                      const char *reason, const char *error)
{
    char pseudo[320]; /* a job name is at most 128 bytes */
    char cap[16], now[24];
    snprintf(pseudo, sizeof pseudo, "%s%s:v%u", QUEUE_PARKED_PREFIX, job,
             version);
    snprintf(cap, sizeof cap, "%d", QUEUE_PARKED_PAIRS_MAX);
    snprintf(now, sizeof now, "%lld", (long long)util_now_ms());
    ops_flush_started(q); /* before this op, as for every event */
    int ev = queue_events_on(q);
    outbox_arg(q, ev ? "3" : "2");
    outbox_arg(q, q->keys.stream);
    outbox_arg(q, q->keys.dlq); /* for a job over the pairs limit */
    if (ev)
        outbox_arg(q, q->keys.events);
    outbox_arg(q, q->o.group);
    outbox_arg(q, q->o.consumer);
    outbox_arg(q, stream_id);
    outbox_arg(q, pseudo);
    outbox_arg(q, cap);
    outbox_arg(q, reason);
    outbox_arg(q, error);
    outbox_arg(q, now);
    outbox_arg(q, q->dlq_max_len);
    if (ev)
        outbox_arg(q, q->events_max_len_s);
    if (outbox_submit(q, SCRIPT_PARK, job_id) == 0) {
        log_job_t lj = {.id = job_id, .stream_id = stream_id,
                        .queue = q->o.queue};
        LOGJD("queue", &lj, "parking job %s (entry %s) as %s", job_id,
              stream_id, pseudo);
    }
    outbox_pump(q);
}

/* ---- unparking ---------------------------------------------------------- */

static void unpark(queue_redis_t *q, size_t room);

static int can_unpark(const queue_redis_t *q)
{
    return ready(q) && q->fetching && !q->released && q->n_served > 0 &&
           !q->unpark_outstanding && !queue_pause_holds(q);
}

static void on_unparked(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    q->unpark_outstanding = 0;
    int held = q->unpark_first; /* the reader waited for this reply */
    q->unpark_first = 0;        /* and never waits past it */
    q->unpark_left = 0;         /* an error is not retried before the tick */
    if (periodic_failed(q, r, PERIODIC_UNPARK, "taking parked jobs") ||
        r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
        r->element[0]->type != REDIS_REPLY_ARRAY ||
        r->element[1]->type != REDIS_REPLY_ARRAY ||
        r->element[2]->type != REDIS_REPLY_ARRAY) {
        reader_fetch(q);
        return;
    }
    /* {entries, delivery counts, {job, version, n} per pair taken from,
     * how many of the pairs we serve are still parked} */
    const redisReply *got = r->element[0], *counts = r->element[1],
                     *taken = r->element[2];
    long long left = r->element[3]->integer;
    q->unpark_left = left;
    for (size_t i = 0; i < taken->elements; i++) {
        const redisReply *t = taken->element[i];
        if (t->type == REDIS_REPLY_ARRAY && t->elements == 3 &&
            t->element[0]->type == REDIS_REPLY_STRING &&
            t->element[2]->integer > 0)
            LOGI("queue", "took %lld parked job(s) of %s v%lld",
                 t->element[2]->integer, t->element[0]->str,
                 t->element[1]->integer);
    }
    for (size_t i = 0; i < got->elements; i++) {
        uint32_t n = i < counts->elements
                         ? (uint32_t)counts->element[i]->integer
                         : 1;
        reader_handle_entry(q, got->element[i], n ? n : 1);
    }
    queue_redis_flush(q);
    if (left > 0 && can_unpark(q) && q->cb.capacity(q->cb.arg) > 0) {
        if (q->read_outstanding && !q->history) {
            /* The room is held by a blocked read: end it, and unpark
             * before the next read (reader_fetch asks us first). */
            q->unpark_first = 1;
            reader_unblock(q);
        } else if (got->elements > 0 || !held) {
            /* more to take and room for it (a full batch, or the read
             * that held the room has returned): at once */
            unpark(q, q->cb.capacity(q->cb.arg));
        }
    }
    reader_fetch(q);
}

/* One UNPARK call taking at most room entries (0: only asks how many are
 * parked for us). Until the reply of one with room, the reader does not
 * read: the two would fill the same free slots. */
static void unpark(queue_redis_t *q, size_t room)
{
    if (room > UNPARK_BATCH)
        room = UNPARK_BATCH;
    size_t argc = 8 + q->served.n;
    const char **argv = malloc(argc * sizeof *argv);
    size_t *lens = malloc(argc * sizeof *lens);
    char n_room[24], start[24];
    snprintf(n_room, sizeof n_room, "%zu", room);
    snprintf(start, sizeof start, "%u", q->unpark_round++);
    const char *head[] = {"EVALSHA", q->sha[SCRIPT_UNPARK], "1",
                          q->keys.stream, q->o.group, q->o.consumer, n_room,
                          start};
    if (argv && lens) {
        for (size_t i = 0; i < 8; i++) {
            argv[i] = head[i];
            lens[i] = strlen(head[i]);
        }
        /* (job, min, max) per pair, less the disabled jobs' pairs */
        argc = 8;
        for (size_t i = 0; i + 2 < q->served.n; i += 3) {
            size_t n;
            const char *job = strlist_get(&q->served, i, &n);
            if (queue_job_disabled(q, job, n))
                continue;
            for (size_t k = 0; k < 3; k++, argc++)
                argv[argc] = strlist_get(&q->served, i + k, &lens[argc]);
        }
        if (redisAsyncCommandArgv(q->writer.ac, on_unparked, q, (int)argc,
                                  argv, lens) == REDIS_OK) {
            q->unpark_outstanding = 1;
            if (room > 0)
                q->unpark_first = 1;
        }
    }
    free(argv);
    free(lens);
}

/* The room an unpark may fill now: the free slots, less what an
 * outstanding read may still deliver. */
static void unpark_due(queue_redis_t *q)
{
    if (!can_unpark(q))
        return;
    size_t cap = q->cb.capacity(q->cb.arg);
    if (cap == 0)
        return;
    size_t held = q->read_outstanding ? q->read_count : 0;
    unpark(q, cap > held ? cap - held : 0);
}

int queue_fleet_unpark_first(queue_redis_t *q)
{
    /* Jobs parked for us (as of the last UNPARK) go before new ones:
     * they waited longer. */
    if (!q->unpark_first && q->unpark_left <= 0)
        return 0;
    if (q->unpark_outstanding)
        return 1;
    size_t cap = q->cb.capacity(q->cb.arg);
    if (can_unpark(q) && cap > 0) {
        unpark(q, cap);
        if (q->unpark_outstanding)
            return 1;
    }
    q->unpark_first = 0;
    return 0;
}

int queue_redis_set_served(queue_redis_t *q, const queue_served_t *s,
                           size_t n)
{
    strlist_t l = {0};
    for (size_t i = 0; i < n; i++) {
        char num[16];
        if (s[i].job == NULL ||
            !envelope_valid_name(s[i].job, strlen(s[i].job)) ||
            s[i].min > s[i].max) {
            strlist_free(&l);
            return -1;
        }
        strlist_adds(&l, s[i].job);
        snprintf(num, sizeof num, "%u", s[i].min);
        strlist_adds(&l, num);
        snprintf(num, sizeof num, "%u", s[i].max);
        strlist_adds(&l, num);
    }
    if (strlist_failed(&l)) {
        strlist_free(&l);
        return -1;
    }
    strlist_free(&q->served);
    q->served = l;
    q->n_served = n;
    if (n == 0)
        q->unpark_left = 0;
    q->next_unpark = 0; /* at the next tick at the latest */
    if (can_unpark(q) && !q->unpark_first) {
        q->next_unpark = util_mono_ms() + UNPARK_EVERY_MS;
        unpark_due(q); /* at once */
    }
    return 0;
}

/* ---- park expiry -------------------------------------------------------- */

static void park_expire(queue_redis_t *q);

static void on_park_expired(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    q->park_expire_outstanding = 0;
    if (periodic_failed(q, r, PERIODIC_PARK_EXPIRE,
                        "dead-lettering expired parked jobs") ||
        r->type != REDIS_REPLY_ARRAY || r->elements != 2)
        return;
    /* {{id, reason, error} per dead letter, acked ids of deleted ones} */
    const redisReply *dead = r->element[0], *gone = r->element[1];
    for (size_t i = 0; i < dead->elements; i++) {
        const redisReply *d = dead->element[i];
        if (d->type == REDIS_REPLY_ARRAY && d->elements == 3 &&
            d->element[1]->type == REDIS_REPLY_STRING) {
            if (strcmp(d->element[1]->str, REASON_NO_HANDLER) == 0)
                q->health.park_no_handler++;
            else
                q->health.park_unsupported++;
            log_job_t lj = {.stream_id = d->element[0]->str,
                            .queue = q->o.queue};
            LOGJW("queue", &lj, "entry %s of %s dead-lettered as %s: %s",
                  d->element[0]->str, q->keys.stream, d->element[1]->str,
                  d->element[2]->str);
        }
    }
    for (size_t i = 0; i < gone->elements; i++) {
        log_job_t lj = {.stream_id = gone->element[i]->str,
                        .queue = q->o.queue};
        LOGJD("queue", &lj, "parked entry %s was deleted from %s: dropped "
              "from the pending list", gone->element[i]->str,
              q->keys.stream);
    }
    /* A full batch: more may have expired. */
    if (dead->elements + gone->elements >= PARK_EXPIRE_BATCH && ready(q))
        park_expire(q);
}

static void park_expire(queue_redis_t *q)
{
    char ttl[24], batch[16], live[16];
    snprintf(ttl, sizeof ttl, "%lld", (long long)q->o.park_ttl_ms);
    snprintf(batch, sizeof batch, "%d", PARK_EXPIRE_BATCH);
    snprintf(live, sizeof live, "%d", QUEUE_WORKER_TTL_MS);
    const char *argv[] = {"EVALSHA", q->sha[SCRIPT_PARK_EXPIRE], "5",
                          q->keys.stream, q->keys.dlq, q->keys.workers,
                          q->keys.worker_prefix, q->keys.disabled,
                          q->o.group, q->o.consumer, ttl, batch, live,
                          q->dlq_max_len};
    if (redisAsyncCommandArgv(q->writer.ac, on_park_expired, q, 14, argv,
                              NULL) == REDIS_OK)
        q->park_expire_outstanding = 1;
}

/* ---- registry heartbeat ------------------------------------------------- */

/* priv is the queue owning the connection the ZADD went on (with
 * --cluster maybe an earlier queue of the process: opts.index_of) */
static void on_indexed(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    const redisReply *r = reply;
    (void)ac;
    /* with --cluster the index has a connection of its own: a MOVED
     * there moves that one (the next heartbeat indexes again) */
    if (r && r->type == REDIS_REPLY_ERROR && q->o.target->cluster &&
        redis_conn_route_error(&q->index, r->str, r->len) !=
            REDIS_ROUTE_NONE)
        return;
    periodic_failed(q, reply, PERIODIC_QUEUES, "indexing the queue in "
                    "the namespace's queue list");
}

static void on_heartbeat(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    q->registry_outstanding = 0;
    if (periodic_failed(q, r, PERIODIC_HEARTBEAT, "writing the worker "
                        "registry record") ||
        r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_STRING ||
        !redis_conn_up(&q->writer))
        return;
    queue_write_confirmed(q);
    const char *who = r->element[1]->str;
    if (*who && strcmp(who, q->other_worker) != 0)
        LOGW("queue", "another worker (%s) runs under this worker's "
             "consumer name %s on queue %s: two workers under one name take "
             "over and hand back each other's jobs; give each worker its own "
             "--consumer (the default, <hostname>-<pid>, is unique)", who,
             q->o.consumer, q->o.queue);
    snprintf(q->other_worker, sizeof q->other_worker, "%s", who);
    /* The namespace's queue index is outside the queue's slot: a plain
     * command of its own, scored by the server time the script saw. */
    char now[24];
    snprintf(now, sizeof now, "%lld", r->element[0]->integer);
    const char *argv[] = {"ZADD", q->keys.queues, now, q->o.queue};
    queue_redis_t *owner = q;
    if (q->o.target->cluster && q->o.index_of != NULL)
        owner = q->o.index_of;
    redis_conn_t *ic = q->o.target->cluster ? &owner->index : &q->writer;
    if (!owner->closing && redis_conn_up(ic))
        redisAsyncCommandArgv(ic->ac, on_indexed, owner, 4, argv, NULL);
}

static void heartbeat(queue_redis_t *q)
{
    size_t len = 0;
    const char *rec = q->cb.heartbeat_record(q->cb.arg, &len);
    if (rec == NULL)
        return;
    char key[1024], ttl[16];
    snprintf(key, sizeof key, "%s%s", q->keys.worker_prefix, q->o.consumer);
    snprintf(ttl, sizeof ttl, "%d", QUEUE_WORKER_TTL_MS);
    const char *argv[] = {"EVALSHA", q->sha[SCRIPT_HEARTBEAT], "2",
                          q->keys.workers, key, q->o.consumer, rec, ttl,
                          q->self_pid, q->self_host};
    size_t lens[10];
    for (int i = 0; i < 10; i++)
        lens[i] = i == 6 ? len : strlen(argv[i]);
    if (redisAsyncCommandArgv(q->writer.ac, on_heartbeat, q, 10, argv,
                              lens) == REDIS_OK)
        q->registry_outstanding = 1;
}

void queue_redis_heartbeat_now(queue_redis_t *q)
{
    q->next_registry = 0; /* at the latest, the next tick sends it */
    if (q->started && q->cb.heartbeat_record && !q->released &&
        !q->registry_outstanding && redis_conn_up(&q->writer) &&
        outbox_ready(q)) {
        q->next_registry = util_mono_ms() + QUEUE_HEARTBEAT_MS;
        heartbeat(q);
    }
}

/* ---- dead consumers ----------------------------------------------------- */

static void on_cleaned(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    q->cleanup_outstanding = 0;
    if (periodic_failed(q, r, PERIODIC_CLEANUP, "removing dead consumers") ||
        r->type != REDIS_REPLY_ARRAY)
        return;
    size_t plen = strlen(QUEUE_PARKED_PREFIX);
    for (size_t i = 0; i < r->elements; i++) {
        const char *name = r->element[i]->str;
        if (r->element[i]->type != REDIS_REPLY_STRING)
            continue;
        if (strncmp(name, QUEUE_PARKED_PREFIX, plen) == 0)
            LOGD("queue", "removed parked pseudo-consumer %s of group %s on "
                 "%s: nothing parked there any more", name, q->o.group,
                 q->keys.stream);
        else
            LOGI("queue", "removed consumer %s from group %s on %s: nothing "
                 "pending, idle over %d s and not a live worker", name,
                 q->o.group, q->keys.stream, CLEANUP_MIN_IDLE_MS / 1000);
    }
}

static void cleanup(queue_redis_t *q)
{
    char live[16], idle[16], batch[16];
    snprintf(live, sizeof live, "%d", QUEUE_WORKER_TTL_MS);
    snprintf(idle, sizeof idle, "%d", CLEANUP_MIN_IDLE_MS);
    snprintf(batch, sizeof batch, "%d", CLEANUP_BATCH);
    const char *argv[] = {"EVALSHA", q->sha[SCRIPT_CLEANUP], "2",
                          q->keys.stream, q->keys.workers, q->o.group,
                          q->o.consumer, live, idle, batch};
    if (redisAsyncCommandArgv(q->writer.ac, on_cleaned, q, 10, argv, NULL) ==
        REDIS_OK)
        q->cleanup_outstanding = 1;
}

/* ---- reload requests ---------------------------------------------------- */

#define RELOAD_IDS_PER_POLL 16

/* The value of keys.reload seen at the first successful poll is only
 * remembered: a request made before this worker started is not for it.
 * Each later change to a new id is one request. */
static void on_reload_polled(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    q->reload_outstanding = 0;
    if (periodic_failed(q, r, PERIODIC_RELOAD, "polling reload requests"))
        return;
    if (r->type != REDIS_REPLY_STRING) { /* nil: no request (any more) */
        free(q->reload_seen);
        q->reload_seen = NULL;
        q->reload_polled = 1;
        return;
    }
    if (q->reload_seen && strcmp(q->reload_seen, r->str) == 0)
        return;
    char *id = malloc(r->len + 1);
    if (id == NULL)
        return; /* asked again at the next poll */
    memcpy(id, r->str, r->len + 1);
    /* `jobrt reload` takes ids with INCR: two requests within one poll
     * show as a jump from M to N, and each of M+1..N is answered (at most
     * RELOAD_IDS_PER_POLL; a worker that was away longer answers the
     * newest). */
    uint64_t from = 0, to = 0;
    int numeric =
        q->reload_seen &&
        util_parse_u64(q->reload_seen, strlen(q->reload_seen), UINT64_MAX,
                       &from) == 0 &&
        util_parse_u64(id, strlen(id), UINT64_MAX, &to) == 0 && to > from;
    free(q->reload_seen);
    q->reload_seen = id;
    if (!q->reload_polled) {
        q->reload_polled = 1;
        return;
    }
    if (!numeric || to - from > RELOAD_IDS_PER_POLL)
        from = to - 1;
    LOGI("queue", "reload request %s on queue %s", id, q->o.queue);
    if (!numeric) {
        q->cb.on_reload_request(q->cb.arg, id);
        return;
    }
    for (uint64_t n = from + 1; n <= to; n++) {
        char one[24];
        snprintf(one, sizeof one, "%llu", (unsigned long long)n);
        q->cb.on_reload_request(q->cb.arg, one);
    }
}

static void poll_reload(queue_redis_t *q)
{
    const char *argv[] = {"GET", q->keys.reload};
    if (redisAsyncCommandArgv(q->writer.ac, on_reload_polled, q, 2, argv,
                              NULL) == REDIS_OK)
        q->reload_outstanding = 1;
}

void queue_redis_reload_reply(queue_redis_t *q, const char *request_id,
                              const char *json, size_t len)
{
    char key[1024];
    snprintf(key, sizeof key, "%s%s", q->keys.reload_prefix, request_id);
    outbox_arg(q, "1");
    outbox_arg(q, key);
    outbox_arg(q, q->o.consumer);
    outbox_arg_len(q, json, len);
    outbox_arg(q, RELOAD_REPLY_TTL_S);
    outbox_submit(q, SCRIPT_RELOAD_REPLY, "(reload reply)");
    outbox_pump(q);
}

/* ---- the tick ----------------------------------------------------------- */

void queue_fleet_tick(queue_redis_t *q, int64_t now)
{
    if (!q->started)
        return; /* before that, errors end the worker: not for these */
    if (q->cb.heartbeat_record && !q->released && !q->registry_outstanding &&
        now >= q->next_registry) {
        q->next_registry = now + QUEUE_HEARTBEAT_MS;
        heartbeat(q);
    }
    if (now >= q->next_unpark && can_unpark(q) && !q->unpark_first) {
        q->next_unpark = now + UNPARK_EVERY_MS;
        unpark_due(q);
    }
    if (q->o.park_ttl_ms > 0 && !q->park_expire_outstanding &&
        now >= q->next_park_expire) {
        q->next_park_expire = now + PARK_EXPIRE_EVERY_MS;
        park_expire(q);
    }
    if (!q->cleanup_outstanding && now >= q->next_cleanup) {
        q->next_cleanup = now + CLEANUP_EVERY_MS;
        cleanup(q);
    }
    if (q->cb.on_reload_request && !q->reload_outstanding &&
        now >= q->next_reload_poll) {
        q->next_reload_poll = now + RELOAD_POLL_MS;
        poll_reload(q);
    }
}

void queue_fleet_free(queue_redis_t *q)
{
    strlist_free(&q->served);
    free(q->reload_seen);
    q->reload_seen = NULL;
}
