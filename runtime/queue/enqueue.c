/*
 * enqueue.c - pipelined sending of jobs to enqueue; see enqueue.h.
 */
#include "queue/enqueue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/random.h>

#include "queue/events.h"
#include "queue/scripts.h"

typedef struct {
    unsigned long long tag;
    int scripted;
    char id[ENVELOPE_MAX_ID + 1];  /* the job's own id, "" if none */
    char key[ENVELOPE_MAX_ID + 1]; /* its dedupe key, "" if none */
} slot_t;

struct enqueue_sender {
    redisContext *c;
    const queue_keys_t *keys;
    slot_t *slots;
    size_t batch, pending;
    char sha[48];            /* of the ENQUEUE script; "" until loaded */
    int broken;
    uint32_t id_base, id_seq; /* for generated ids */
    enqueue_report_fn report;
    void *arg;
    long events_max_len;     /* 0: no enqueued events */
    int wait_replicas;       /* 0: no WAIT */
    long wait_timeout_ms;
    redisReply **replies;    /* a batch's replies, held for WAIT's */
};

enqueue_sender_t *enqueue_sender_create(redisContext *c,
                                        const queue_keys_t *keys,
                                        size_t batch,
                                        enqueue_report_fn report, void *arg)
{
    enqueue_sender_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->slots = calloc(batch ? batch : 1, sizeof *s->slots);
    s->replies = calloc(batch ? batch : 1, sizeof *s->replies);
    if (s->slots == NULL || s->replies == NULL) {
        free(s->slots);
        free(s->replies);
        free(s);
        return NULL;
    }
    s->c = c;
    s->keys = keys;
    s->batch = batch ? batch : 1;
    s->report = report;
    s->arg = arg;
    if (getrandom(&s->id_base, sizeof s->id_base, 0) !=
        (ssize_t)sizeof s->id_base)
        s->id_base = (uint32_t)util_mono_ms() ^ (uint32_t)util_now_ms();
    return s;
}

void enqueue_sender_destroy(enqueue_sender_t *s)
{
    if (s == NULL)
        return;
    free(s->slots);
    free(s->replies);
    free(s);
}

void enqueue_sender_set_wait(enqueue_sender_t *s, int replicas,
                             long timeout_ms)
{
    s->wait_replicas = replicas > 0 ? replicas : 0;
    s->wait_timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
}

void enqueue_sender_set_events(enqueue_sender_t *s, long max_len)
{
    s->events_max_len = max_len > 0 ? max_len : 0;
}

long enqueue_events_setting(redisContext *c, const queue_keys_t *keys)
{
    redisReply *r = redisCommand(c, "HGET %s %s", keys->events_config,
                                 EVENTS_FIELD_MAX_LEN);
    long max = 0;
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        fprintf(stderr, "jobrt enqueue: warning: could not read %s (%s): "
                "no enqueued events\n", keys->events_config,
                r ? r->str : "connection lost");
    else if (r->type == REDIS_REPLY_STRING)
        max = events_parse_max_len(r->str, r->len);
    freeReplyObject(r);
    return max;
}

static void report(enqueue_sender_t *s, const slot_t *slot,
                   enqueue_status_t st, const char *job_id, const char *error,
                   long long replicas)
{
    enqueue_result_t r = {slot->tag, st, job_id, slot->key, error, replicas,
                          s->wait_replicas > 0 && st == ENQUEUE_ADDED &&
                              replicas < s->wait_replicas};
    s->report(s->arg, &r);
}

/* Everything still pending is unknown now. */
static int broke(enqueue_sender_t *s, size_t from)
{
    char why[256];
    snprintf(why, sizeof why, "lost the connection to redis: %s",
             s->c->errstr[0] ? s->c->errstr : "connection closed");
    for (size_t i = from; i < s->pending; i++)
        report(s, &s->slots[i], ENQUEUE_UNKNOWN, NULL, why, -1);
    s->pending = 0;
    s->broken = 1;
    return -1;
}

/* Reports the job of slot by its reply r (not freed). */
static void report_reply(enqueue_sender_t *s, const slot_t *slot,
                         const redisReply *r, long long replicas)
{
    char why[600];
    if (r->type == REDIS_REPLY_ERROR) {
        if (strncmp(r->str, "NOSCRIPT", 8) == 0)
            s->sha[0] = '\0'; /* reloaded for the next scripted job */
        snprintf(why, sizeof why, "%s failed: %s",
                 slot->scripted ? "the ENQUEUE script" : "XADD", r->str);
        report(s, slot, ENQUEUE_FAILED, NULL, why, replicas);
    } else if (!slot->scripted && r->type == REDIS_REPLY_STRING) {
        report(s, slot, ENQUEUE_ADDED, slot->id[0] ? slot->id : r->str, NULL,
               replicas);
    } else if (slot->scripted && r->type == REDIS_REPLY_ARRAY &&
               r->elements == 2 &&
               r->element[0]->type == REDIS_REPLY_INTEGER &&
               r->element[1]->type == REDIS_REPLY_STRING) {
        report(s, slot,
               r->element[0]->integer ? ENQUEUE_ADDED : ENQUEUE_DUPLICATE,
               r->element[1]->str, NULL, replicas);
    } else {
        snprintf(why, sizeof why, "unexpected reply of type %d from %s",
                 r->type, slot->scripted ? "the ENQUEUE script" : "XADD");
        report(s, slot, ENQUEUE_UNKNOWN, NULL, why, replicas);
    }
}

int enqueue_sender_flush(enqueue_sender_t *s)
{
    if (s->broken)
        return -1;
    int wait = s->wait_replicas > 0 && s->pending > 0 &&
               redisAppendCommand(s->c, "WAIT %d %ld", s->wait_replicas,
                                  s->wait_timeout_ms) == REDIS_OK;
    size_t got = 0;
    int lost = 0;
    while (got < s->pending) {
        redisReply *r = NULL;
        if (redisGetReply(s->c, (void **)&r) != REDIS_OK || r == NULL) {
            lost = 1;
            break;
        }
        s->replies[got++] = r;
    }
    long long replicas = -1;
    if (wait && !lost) {
        redisReply *w = NULL;
        if (redisGetReply(s->c, (void **)&w) != REDIS_OK || w == NULL)
            lost = 1;
        else if (w->type == REDIS_REPLY_INTEGER)
            replicas = w->integer;
        if (w)
            freeReplyObject(w);
    }
    /* the jobs answered are reported (with no count of replicas when
     * WAIT's answer was lost: under-replicated, then), the rest unknown */
    for (size_t i = 0; i < got; i++) {
        report_reply(s, &s->slots[i], s->replies[i], replicas);
        freeReplyObject(s->replies[i]);
        s->replies[i] = NULL;
    }
    if (lost)
        return broke(s, got);
    s->pending = 0;
    return 0;
}

/* SCRIPT LOAD, with nothing in flight. Returns 0, 1 if Redis refused (the
 * job is reported failed), -1 if the connection broke (the job, not sent,
 * is reported failed). */
static int load_script(enqueue_sender_t *s, const slot_t *slot)
{
    char why[600];
    redisReply *r = NULL;
    if (enqueue_sender_flush(s) == 0)
        r = redisCommand(s->c, "SCRIPT LOAD %s", queue_script_enqueue);
    if (r == NULL) {
        snprintf(why, sizeof why, "not sent: lost the connection to redis: "
                 "%s", s->c->errstr[0] ? s->c->errstr : "connection closed");
        report(s, slot, ENQUEUE_FAILED, NULL, why, -1);
        s->broken = 1;
        return -1;
    }
    int rc = 0;
    if (r->type == REDIS_REPLY_STRING && r->len < sizeof s->sha) {
        memcpy(s->sha, r->str, r->len + 1);
    } else {
        snprintf(why, sizeof why, "SCRIPT LOAD of the ENQUEUE script failed: "
                 "%s", r->type == REDIS_REPLY_ERROR ? r->str
                                                    : "unexpected reply");
        report(s, slot, ENQUEUE_FAILED, NULL, why, -1);
        rc = 1;
    }
    freeReplyObject(r);
    return rc;
}

static int append_xadd(enqueue_sender_t *s, const enqueue_entry_t *e)
{
    const char *argv[3 + ENQUEUE_MAX_FIELDS];
    size_t lens[3 + ENQUEUE_MAX_FIELDS];
    argv[0] = "XADD";
    lens[0] = 4;
    argv[1] = s->keys->stream;
    lens[1] = strlen(s->keys->stream);
    argv[2] = "*";
    lens[2] = 1;
    for (size_t i = 0; i < e->n_fields; i++) {
        argv[3 + i] = e->fields[i].ptr;
        lens[3 + i] = e->fields[i].len;
    }
    return redisAppendCommandArgv(s->c, (int)(3 + e->n_fields), argv, lens) ==
                   REDIS_OK
               ? 0
               : -1;
}

/* EVALSHA sha numkeys stream delayed seq [idem] [events] delay at window
 * id fields... [events max len] (see queue_script_enqueue) */
static int append_script(enqueue_sender_t *s, const enqueue_entry_t *e)
{
    const char *argv[13 + ENQUEUE_MAX_FIELDS];
    size_t lens[13 + ENQUEUE_MAX_FIELDS];
    char idem[sizeof s->keys->idem_prefix + ENVELOPE_MAX_ID];
    char delay[24], at[24], window[24], evmax[24];
    int ev = s->events_max_len > 0;
    int n = 0;
#define ARG(p)                                                              \
    do {                                                                    \
        argv[n] = (p);                                                      \
        lens[n] = strlen(argv[n]);                                          \
        n++;                                                                \
    } while (0)
    ARG("EVALSHA");
    ARG(s->sha);
    ARG(e->idem_key[0] ? (ev ? "5" : "4") : (ev ? "4" : "3"));
    ARG(s->keys->stream);
    ARG(s->keys->delayed);
    ARG(s->keys->seq);
    if (e->idem_key[0]) {
        snprintf(idem, sizeof idem, "%s%s", s->keys->idem_prefix,
                 e->idem_key);
        ARG(idem);
    }
    if (ev)
        ARG(s->keys->events);
    snprintf(delay, sizeof delay, "%lld",
             (long long)(e->delay_ms > 0 ? e->delay_ms : 0));
    snprintf(at, sizeof at, "%lld", (long long)(e->at_ms > 0 ? e->at_ms : 0));
    /* the script takes KEYS[4] as the idempotency key only with a window */
    snprintf(window, sizeof window, "%lld",
             (long long)(e->idem_key[0] ? (e->dedupe_window_ms > 0
                                               ? e->dedupe_window_ms
                                               : 1)
                                        : 0));
    ARG(delay);
    ARG(at);
    ARG(window);
    ARG(e->id);
#undef ARG
    for (size_t i = 0; i < e->n_fields; i++) {
        argv[n] = e->fields[i].ptr;
        lens[n++] = e->fields[i].len;
    }
    if (ev) {
        snprintf(evmax, sizeof evmax, "%ld", s->events_max_len);
        argv[n] = evmax;
        lens[n++] = strlen(evmax);
    }
    return redisAppendCommandArgv(s->c, n, argv, lens) == REDIS_OK ? 0 : -1;
}

int enqueue_sender_add(enqueue_sender_t *s, enqueue_entry_t *e,
                       unsigned long long tag)
{
    if (s->broken)
        return -1;
    /* With events on every job goes through the script, which writes its
     * enqueued event in the same call (so it needs an id of its own). */
    slot_t slot = {.tag = tag, .scripted = enqueue_entry_scripted(e) ||
                                           s->events_max_len > 0};
    if (slot.scripted && e->id[0] == '\0') {
        char id[40];
        snprintf(id, sizeof id, "%lld-%08x", (long long)util_now_ms(),
                 (unsigned)(s->id_base + s->id_seq++));
        if (enqueue_entry_add(e, "id", id) != 0) {
            report(s, &slot, ENQUEUE_FAILED, NULL,
                   "no room for a generated id (out of memory)", -1);
            return 0;
        }
    }
    util_copy_str(slot.id, sizeof slot.id, e->id);
    if (slot.scripted)
        util_copy_str(slot.key, sizeof slot.key, e->idem_key);
    if (slot.scripted && s->sha[0] == '\0') {
        int rc = load_script(s, &slot);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    if ((slot.scripted ? append_script(s, e) : append_xadd(s, e)) != 0) {
        /* hiredis could not format it: out of memory */
        report(s, &slot, ENQUEUE_FAILED, NULL, "out of memory", -1);
        return 0;
    }
    s->slots[s->pending++] = slot;
    return s->pending == s->batch ? enqueue_sender_flush(s) : 0;
}
