/*
 * dlq.c - the dead-letter stream over a blocking connection; see dlq.h.
 */
#include "queue/dlq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "queue/scripts.h"

#define SCAN_PAGE 500 /* entries per XRANGE / XREVRANGE */
#define ACT_BATCH 100 /* ids per EVAL (retry) or XDEL (purge) */

/* Runs one command; on failure sets d->err and returns NULL. */
static redisReply *dlq_cmd(dlq_t *d, const char *what, int argc,
                           const char **argv, const size_t *lens)
{
    redisReply *r = redisCommandArgv(d->c, argc, argv, lens);
    if (r == NULL) {
        snprintf(d->err, sizeof d->err, "%s failed: %s", what,
                 d->c->errstr[0] ? d->c->errstr : "connection lost");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(d->err, sizeof d->err, "%s failed: %.*s", what,
                 (int)r->len, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* ---- entries ------------------------------------------------------------- */

int dlq_entry_ok(const redisReply *e)
{
    return e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
           e->element[0]->type == REDIS_REPLY_STRING &&
           e->element[0]->len < DLQ_ENTRY_ID_MAX;
}

const char *dlq_entry_id(const redisReply *e) { return e->element[0]->str; }

const redisReply *dlq_field(const redisReply *e, const char *name)
{
    const redisReply *f = e->element[1];
    size_t n = strlen(name);
    if (f->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            k->len == n && memcmp(k->str, name, n) == 0)
            return v;
    }
    return NULL;
}

int dlq_value_is(const redisReply *v, const char *s)
{
    size_t n = strlen(s);
    return v != NULL && v->len == n && memcmp(v->str, s, n) == 0;
}

const redisReply *dlq_job_id_of(const redisReply *e)
{
    const redisReply *v = dlq_field(e, "id");
    return v ? v : dlq_field(e, "dlq_source_id");
}

int dlq_matches(const dlq_t *d, const redisReply *e)
{
    if (d->reason && !dlq_value_is(dlq_field(e, "dlq_reason"), d->reason))
        return 0;
    if (d->job && !dlq_value_is(dlq_field(e, "job"), d->job))
        return 0;
    return 1;
}

int dlq_looks_like_entry_id(const char *s)
{
    size_t a = strspn(s, "0123456789");
    if (a == 0 || a > 20 || s[a] != '-')
        return 0;
    size_t b = strspn(s + a + 1, "0123456789");
    return b > 0 && b <= 20 && s[a + 1 + b] == '\0';
}

/* ---- the fields of an over-limit entry ----------------------------------- */

int dlq_next_netstring(const char **p, const char *end, strview_t *out)
{
    const char *s = *p;
    if (s == end)
        return 0;
    size_t len = 0, digits = 0;
    while (s < end && *s >= '0' && *s <= '9' && digits < 10) {
        len = len * 10 + (size_t)(*s - '0');
        s++;
        digits++;
    }
    if (digits == 0 || s == end || *s != ':')
        return -1;
    s++;
    if ((size_t)(end - s) < len + 1 || s[len] != ',')
        return -1;
    out->ptr = s;
    out->len = len;
    *p = s + len + 1;
    return 1;
}

long dlq_count_netstrings(const char *p, size_t len)
{
    const char *end = p + len;
    strview_t v;
    long n = 0;
    int rc;
    while ((rc = dlq_next_netstring(&p, end, &v)) == 1)
        n++;
    return rc < 0 || n % 2 ? -1 : n;
}

/* ---- reading ------------------------------------------------------------- */

int dlq_scan(dlq_t *d, int reverse, const char *last, dlq_visit_fn fn,
             void *arg)
{
    char from[DLQ_ENTRY_ID_MAX + 1] = "";
    char count[16];
    snprintf(count, sizeof count, "%d", SCAN_PAGE);
    for (;;) {
        const char *argv[6];
        argv[0] = reverse ? "XREVRANGE" : "XRANGE";
        argv[1] = d->keys.dlq;
        if (reverse) {
            argv[2] = from[0] ? from : "+";
            argv[3] = "-";
        } else {
            argv[2] = from[0] ? from : "-";
            argv[3] = last;
        }
        argv[4] = "COUNT";
        argv[5] = count;
        redisReply *r = dlq_cmd(d, argv[0], 6, argv, NULL);
        if (r == NULL)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY) {
            snprintf(d->err, sizeof d->err, "unexpected reply to %s",
                     argv[0]);
            freeReplyObject(r);
            return -1;
        }
        int rc = 0;
        for (size_t i = 0; i < r->elements && rc == 0; i++) {
            const redisReply *e = r->element[i];
            if (!dlq_entry_ok(e))
                continue;
            rc = fn(d, e, arg);
            /* Exclusive start of the next page ("(" needs Redis 6.2+,
             * which the worker requires too). */
            snprintf(from, sizeof from, "(%s", dlq_entry_id(e));
        }
        size_t got = r->elements;
        freeReplyObject(r);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
        if (got < SCAN_PAGE)
            return 0;
    }
}

int dlq_newest_id(dlq_t *d, char *out)
{
    const char *argv[] = {"XREVRANGE", d->keys.dlq, "+", "-", "COUNT", "1"};
    redisReply *r = dlq_cmd(d, "XREVRANGE", 6, argv, NULL);
    if (r == NULL)
        return -1;
    out[0] = '\0';
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
        dlq_entry_ok(r->element[0]))
        util_copy_str(out, DLQ_ENTRY_ID_MAX, dlq_entry_id(r->element[0]));
    freeReplyObject(r);
    return 0;
}

redisReply *dlq_fetch(dlq_t *d, const char *id, int *failed)
{
    const char *argv[] = {"XRANGE", d->keys.dlq, id, id, "COUNT", "1"};
    *failed = 0;
    redisReply *r = dlq_cmd(d, "XRANGE", 6, argv, NULL);
    if (r == NULL) {
        *failed = 1;
        return NULL;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0 ||
        !dlq_entry_ok(r->element[0])) {
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

long long dlq_len(dlq_t *d)
{
    const char *argv[] = {"XLEN", d->keys.dlq};
    redisReply *r = dlq_cmd(d, "XLEN", 2, argv, NULL);
    if (r == NULL)
        return -1;
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return n;
}

/* ---- resolving ids ------------------------------------------------------- */

static void match_add(dlq_match_t *m, const char *id)
{
    if (m->first[0] == '\0') {
        util_copy_str(m->first, sizeof m->first, id);
        return;
    }
    if (m->n_more < DLQ_MAX_MORE)
        util_copy_str(m->more[m->n_more], sizeof m->more[0], id);
    m->n_more++;
}

typedef struct {
    dlq_target_t *t;
    size_t n;
} targets_t;

static int visit_resolve(dlq_t *d, const redisReply *e, void *arg)
{
    targets_t *ts = arg;
    const redisReply *id = dlq_field(e, "id"),
                     *src = dlq_field(e, "dlq_source_id");
    (void)d;
    for (size_t i = 0; i < ts->n; i++) {
        dlq_target_t *t = &ts->t[i];
        if (t->entry[0])
            continue;
        if (dlq_value_is(id, t->arg))
            match_add(&t->by_id, dlq_entry_id(e));
        else if (dlq_value_is(src, t->arg))
            match_add(&t->by_src, dlq_entry_id(e));
    }
    return 0;
}

int dlq_resolve(dlq_t *d, dlq_target_t *t, size_t n)
{
    size_t pending = 0;
    for (size_t i = 0; i < n; i++) {
        if (dlq_looks_like_entry_id(t[i].arg)) {
            int failed;
            redisReply *r = dlq_fetch(d, t[i].arg, &failed);
            if (failed)
                return -1;
            if (r) {
                util_copy_str(t[i].entry, sizeof t[i].entry, t[i].arg);
                t[i].how = "entry id";
                freeReplyObject(r);
                continue;
            }
        }
        pending++;
    }
    if (pending == 0)
        return 0;
    targets_t ts = {t, n};
    if (dlq_scan(d, 1, "+", visit_resolve, &ts) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (t[i].entry[0])
            continue;
        const dlq_match_t *m = t[i].by_id.first[0] ? &t[i].by_id
                                                   : &t[i].by_src;
        if (m->first[0] == '\0')
            continue;
        util_copy_str(t[i].entry, sizeof t[i].entry, m->first);
        t[i].how = m == &t[i].by_id ? "job id" : "source stream id";
        t[i].chosen = m;
    }
    return 0;
}

/* ---- selections ---------------------------------------------------------- */

int dlq_sel_add(dlq_sels_t *s, const redisReply *e, int dedupe)
{
    for (size_t i = 0; dedupe && i < s->n; i++)
        if (strcmp(s->v[i].id, dlq_entry_id(e)) == 0)
            return 0; /* named twice */
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        void *p = realloc(s->v, cap * sizeof *s->v);
        if (p == NULL)
            return -1;
        s->v = p;
        s->cap = cap;
    }
    dlq_sel_t *x = &s->v[s->n];
    memset(x, 0, sizeof *x);
    util_copy_str(x->id, sizeof x->id, dlq_entry_id(e));
    const redisReply *j = dlq_job_id_of(e), *exp = dlq_field(e, "expires_at");
    if (j) {
        x->job_id = malloc(j->len + 1);
        if (x->job_id == NULL)
            return -1;
        memcpy(x->job_id, j->str, j->len);
        x->job_id[j->len] = '\0';
        x->job_id_len = j->len;
    }
    uint64_t ms;
    if (exp && util_parse_u64(exp->str, exp->len, (uint64_t)1 << 62, &ms) ==
                   0 && (int64_t)ms <= s->now)
        x->expired = 1;
    s->n++;
    return 0;
}

void dlq_sels_free(dlq_sels_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].job_id);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static int visit_select(dlq_t *d, const redisReply *e, void *arg)
{
    if (!dlq_matches(d, e))
        return 0;
    if (dlq_sel_add(arg, e, 0) != 0) {
        snprintf(d->err, sizeof d->err, "out of memory");
        return -1;
    }
    return 0;
}

int dlq_select_all(dlq_t *d, dlq_sels_t *s)
{
    char last[DLQ_ENTRY_ID_MAX];
    if (dlq_newest_id(d, last) != 0)
        return -1;
    if (last[0] == '\0')
        return 0;
    return dlq_scan(d, 0, last, visit_select, s);
}

/* ---- acting -------------------------------------------------------------- */

long long dlq_count_cancelled(dlq_t *d, const dlq_sels_t *s)
{
    long long n = 0;
    for (size_t i = 0; i < s->n; i += 1000) {
        size_t end = i + 1000 < s->n ? i + 1000 : s->n, sent = 0;
        for (size_t k = i; k < end; k++) {
            if (s->v[k].job_id == NULL)
                continue;
            const char *argv[] = {"ZSCORE", d->keys.cancelled,
                                  s->v[k].job_id};
            size_t lens[] = {6, strlen(d->keys.cancelled),
                             s->v[k].job_id_len};
            if (redisAppendCommandArgv(d->c, 3, argv, lens) != REDIS_OK)
                goto failed;
            sent++;
        }
        for (size_t k = 0; k < sent; k++) {
            void *rp = NULL;
            if (redisGetReply(d->c, &rp) != REDIS_OK || rp == NULL)
                goto failed;
            redisReply *r = rp;
            if (r->type == REDIS_REPLY_STRING)
                n++;
            freeReplyObject(r);
        }
    }
    return n;
failed:
    snprintf(d->err, sizeof d->err, "checking for cancelled jobs failed: %s",
             d->c->errstr[0] ? d->c->errstr : "bad reply");
    return -1;
}

/* Counts the kept ids of one DLQ_RETRY reply, {moved, {ids kept}}. */
static long long retry_reply(const redisReply *r, dlq_kept_t *kept)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_ARRAY)
        return -1;
    const redisReply *ids = r->element[1];
    for (size_t i = 0; i < ids->elements; i++) {
        if (kept->n++ == 0 && ids->element[i]->type == REDIS_REPLY_STRING)
            util_copy_str(kept->first, sizeof kept->first,
                          ids->element[i]->str);
    }
    return r->element[0]->integer;
}

static long long act(dlq_t *d, const dlq_sels_t *s, dlq_kept_t *kept,
                     long long *done)
{
    const char *argv[5 + ACT_BATCH];
    int retry = kept != NULL;
    *done = 0;
    for (size_t i = 0; i < s->n; i += ACT_BATCH) {
        size_t end = i + ACT_BATCH < s->n ? i + ACT_BATCH : s->n;
        int argc = 0;
        if (retry) {
            argv[argc++] = "EVAL";
            argv[argc++] = queue_script_dlq_retry;
            argv[argc++] = "2";
            argv[argc++] = d->keys.dlq;
            argv[argc++] = d->keys.stream;
        } else {
            argv[argc++] = "XDEL";
            argv[argc++] = d->keys.dlq;
        }
        for (size_t k = i; k < end; k++)
            argv[argc++] = s->v[k].id;
        redisReply *r = dlq_cmd(d, retry ? "re-enqueueing (EVAL)" : "XDEL",
                                argc, argv, NULL);
        if (r == NULL)
            return -1;
        long long n = retry ? retry_reply(r, kept)
                            : r->type == REDIS_REPLY_INTEGER ? r->integer
                                                             : -1;
        freeReplyObject(r);
        if (n < 0) {
            snprintf(d->err, sizeof d->err, "unexpected reply to %s",
                     retry ? "re-enqueueing (EVAL)" : "XDEL");
            return -1;
        }
        *done += n;
    }
    return *done;
}

long long dlq_retry(dlq_t *d, const dlq_sels_t *s, long long *done,
                    dlq_kept_t *kept)
{
    kept->n = 0;
    kept->first[0] = '\0';
    return act(d, s, kept, done);
}

long long dlq_purge(dlq_t *d, const dlq_sels_t *s, long long *done)
{
    return act(d, s, NULL, done);
}
