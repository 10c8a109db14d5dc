/*
 * cmd_dlq.c - `jobrt dlq list|show|retry|purge`: look at the dead-letter
 * stream of a queue (NS:{QUEUE}:dlq), re-enqueue dead letters, delete them.
 *
 * An ID on the command line is a dead-letter entry id (as `list` prints
 * it) or a job id: the newest dead letter whose `id` field equals it, else
 * the newest whose `dlq_source_id` does. Retry and purge never act on
 * everything by default: they need IDs or --all.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "queue_keys.h"
#include "queue_scripts.h"
#include "cmd_redis.h"
#include "util.h"

#define SCAN_PAGE 500     /* entries per XRANGE / XREVRANGE */
#define ACT_BATCH 100     /* ids per EVAL (retry) or XDEL (purge) */
#define ERROR_COLS 80     /* `list` cuts the error to this many columns */
#define MAX_MORE 4        /* other matches of a job id named in a note */
#define ENTRY_ID_MAX 48   /* "<20 digits>-<20 digits>" and a NUL */

typedef struct {
    redisContext *c;
    queue_keys_t keys;
    const char *queue;
    const char *reason; /* filter, or NULL */
    const char *job;    /* filter, or NULL */
} dlq_t;

/* ---- replies and entries ------------------------------------------------- */

/* Runs one command; prints one error line and returns NULL on failure. */
static redisReply *dlq_cmd(dlq_t *d, const char *what, int argc,
                           const char **argv, const size_t *lens)
{
    redisReply *r = redisCommandArgv(d->c, argc, argv, lens);
    if (r == NULL) {
        fprintf(stderr, "jobrt dlq: %s failed: %s\n", what,
                d->c->errstr[0] ? d->c->errstr : "connection lost");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "jobrt dlq: %s failed: %.*s\n", what, (int)r->len,
                r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* An XRANGE element: [id, [field, value, ...]]. */
static int entry_ok(const redisReply *e)
{
    return e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
           e->element[0]->type == REDIS_REPLY_STRING &&
           e->element[0]->len < ENTRY_ID_MAX;
}

static const char *entry_id(const redisReply *e) { return e->element[0]->str; }

/* The value of the first field `name`, or NULL. */
static const redisReply *field(const redisReply *e, const char *name)
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

static int value_is(const redisReply *v, const char *s)
{
    size_t n = strlen(s);
    return v != NULL && v->len == n && memcmp(v->str, s, n) == 0;
}

/* The job id: field `id`, else the stream id it had (dlq_source_id). */
static const redisReply *job_id_of(const redisReply *e)
{
    const redisReply *v = field(e, "id");
    return v ? v : field(e, "dlq_source_id");
}

static int matches_filters(const dlq_t *d, const redisReply *e)
{
    if (d->reason && !value_is(field(e, "dlq_reason"), d->reason))
        return 0;
    if (d->job && !value_is(field(e, "job"), d->job))
        return 0;
    return 1;
}

/* "<ms>-<seq>", as Redis prints stream ids. */
static int looks_like_entry_id(const char *s)
{
    size_t a = strspn(s, "0123456789");
    if (a == 0 || a > 20 || s[a] != '-')
        return 0;
    size_t b = strspn(s + a + 1, "0123456789");
    return b > 0 && b <= 20 && s[a + 1 + b] == '\0';
}

/* ---- text ---------------------------------------------------------------- */

/* Printable ASCII as is, every other byte as \xNN. */
static size_t esc_len(unsigned char ch)
{
    return ch >= 0x20 && ch < 0x7f ? 1 : 4;
}

static void esc_byte(buf_t *b, unsigned char ch)
{
    if (esc_len(ch) == 1)
        buf_append(b, &ch, 1);
    else
        buf_appendf(b, "\\x%02x", ch);
}

/* Appends p escaped, cut to at most max columns ("..." at the end of a cut
 * value) unless max is 0. */
static void esc_append(buf_t *b, const char *p, size_t n, size_t max)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += esc_len((unsigned char)p[i]);
    if (max == 0 || total <= max) {
        for (size_t i = 0; i < n; i++)
            esc_byte(b, (unsigned char)p[i]);
        return;
    }
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = esc_len((unsigned char)p[i]);
        if (used + l > max - 3)
            break;
        esc_byte(b, (unsigned char)p[i]);
        used += l;
    }
    buf_append(b, "...", 3);
}

/* A NUL-terminated copy of the escaped value, or of `dflt` if v is NULL. */
static char *cell(const redisReply *v, const char *dflt, size_t max)
{
    buf_t b = {0};
    if (v)
        esc_append(&b, v->str, v->len, max);
    else
        buf_append(&b, dflt, strlen(dflt));
    buf_append(&b, "", 1);
    return b.data; /* NULL only when out of memory */
}

/* dlq_at (ms) as UTC ISO-8601; other values escaped as they are. */
static char *time_cell(const redisReply *v)
{
    uint64_t ms;
    if (v == NULL || util_parse_u64(v->str, v->len, (uint64_t)1 << 53, &ms))
        return cell(v, "-", 30);
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    char t[32], out[48];
    if (gmtime_r(&s, &tm) == NULL ||
        strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        return cell(v, "-", 30);
    snprintf(out, sizeof out, "%s.%03dZ", t, (int)(ms % 1000));
    return strdup(out);
}

/* ---- scanning ------------------------------------------------------------ */

/* Called per entry; returns 0 to go on, 1 to stop, -1 on error. */
typedef int (*visit_fn)(dlq_t *d, const redisReply *e, void *arg);

/* Visits the DLQ newest first (reverse) or oldest first up to `last`
 * (inclusive; "+" for all), SCAN_PAGE entries per round trip. Returns 0,
 * or -1 after printing an error. */
static int scan(dlq_t *d, int reverse, const char *last, visit_fn fn,
                void *arg)
{
    char from[ENTRY_ID_MAX + 1] = "";
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
        redisReply *r = dlq_cmd(d, reverse ? "XREVRANGE" : "XRANGE", 6, argv,
                                NULL);
        if (r == NULL)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY) {
            fprintf(stderr, "jobrt dlq: unexpected reply to XRANGE\n");
            freeReplyObject(r);
            return -1;
        }
        int rc = 0;
        for (size_t i = 0; i < r->elements && rc == 0; i++) {
            const redisReply *e = r->element[i];
            if (!entry_ok(e))
                continue;
            rc = fn(d, e, arg);
            /* Exclusive start of the next page ("(" needs Redis 6.2+,
             * which the worker requires too). */
            snprintf(from, sizeof from, "(%s", entry_id(e));
        }
        size_t got = r->elements;
        freeReplyObject(r);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
        if (got < SCAN_PAGE)
            return 0;
    }
}

/* The newest entry id (the snapshot --all works up to); "" when empty. */
static int newest_id(dlq_t *d, char *out)
{
    const char *argv[] = {"XREVRANGE", d->keys.dlq, "+", "-", "COUNT", "1"};
    redisReply *r = dlq_cmd(d, "XREVRANGE", 6, argv, NULL);
    if (r == NULL)
        return -1;
    out[0] = '\0';
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
        entry_ok(r->element[0]))
        snprintf(out, ENTRY_ID_MAX, "%s", entry_id(r->element[0]));
    freeReplyObject(r);
    return 0;
}

/* One entry by its exact id: the XRANGE reply (free it) with the entry as
 * element[0], NULL if absent (*failed set on a Redis error). */
static redisReply *fetch_entry(dlq_t *d, const char *id, int *failed)
{
    const char *argv[] = {"XRANGE", d->keys.dlq, id, id, "COUNT", "1"};
    *failed = 0;
    redisReply *r = dlq_cmd(d, "XRANGE", 6, argv, NULL);
    if (r == NULL) {
        *failed = 1;
        return NULL;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0 ||
        !entry_ok(r->element[0])) {
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* ---- resolving IDs -------------------------------------------------------- */

typedef struct {
    char first[ENTRY_ID_MAX];     /* newest match, "" if none */
    size_t n_more;                /* older matches */
    char more[MAX_MORE][ENTRY_ID_MAX];
} match_t;

typedef struct {
    const char *arg;
    char entry[ENTRY_ID_MAX]; /* resolved entry id, "" if none */
    const char *how;          /* "entry id", "job id", "source stream id" */
    match_t by_id, by_src;
} target_t;

static void match_add(match_t *m, const char *id)
{
    if (m->first[0] == '\0') {
        snprintf(m->first, sizeof m->first, "%s", id);
        return;
    }
    if (m->n_more < MAX_MORE)
        snprintf(m->more[m->n_more], sizeof m->more[0], "%s", id);
    m->n_more++;
}

typedef struct {
    target_t *t;
    size_t n;
} targets_t;

static int visit_resolve(dlq_t *d, const redisReply *e, void *arg)
{
    targets_t *ts = arg;
    const redisReply *id = field(e, "id"), *src = field(e, "dlq_source_id");
    (void)d;
    for (size_t i = 0; i < ts->n; i++) {
        target_t *t = &ts->t[i];
        if (t->entry[0])
            continue;
        if (value_is(id, t->arg))
            match_add(&t->by_id, entry_id(e));
        else if (value_is(src, t->arg))
            match_add(&t->by_src, entry_id(e));
    }
    return 0;
}

/* Resolves every target; one newest-first scan covers all the job ids.
 * Returns 0, or -1 after printing an error. Unresolved: entry[0] == 0. */
static int resolve(dlq_t *d, target_t *t, size_t n)
{
    size_t pending = 0;
    for (size_t i = 0; i < n; i++) {
        if (looks_like_entry_id(t[i].arg)) {
            int failed;
            redisReply *r = fetch_entry(d, t[i].arg, &failed);
            if (failed)
                return -1;
            if (r) {
                snprintf(t[i].entry, sizeof t[i].entry, "%s", t[i].arg);
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
    if (scan(d, 1, "+", visit_resolve, &ts) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (t[i].entry[0])
            continue;
        const match_t *m = t[i].by_id.first[0] ? &t[i].by_id : &t[i].by_src;
        if (m->first[0] == '\0')
            continue;
        snprintf(t[i].entry, sizeof t[i].entry, "%s", m->first);
        t[i].how = m == &t[i].by_id ? "job id" : "source stream id";
        if (m->n_more) {
            fprintf(stderr, "jobrt dlq: note: %zu older dead letter(s) also "
                    "have %s %s (not selected; name them by entry id):",
                    m->n_more, t[i].how, t[i].arg);
            for (size_t k = 0; k < m->n_more && k < MAX_MORE; k++)
                fprintf(stderr, " %s", m->more[k]);
            fprintf(stderr, "%s\n", m->n_more > MAX_MORE ? " ..." : "");
        }
    }
    return 0;
}

/* ---- list ---------------------------------------------------------------- */

enum { C_ENTRY, C_JOBID, C_JOB, C_V, C_REASON, C_ATTEMPT, C_AT, C_ERROR, C_N };

static const char *const col_names[C_N] = {
    "ENTRY", "JOB_ID", "JOB", "V", "REASON", "ATTEMPT", "DEAD_AT", "ERROR"};

typedef struct {
    char *(*rows)[C_N];
    size_t n, cap, want;
    int oom;
} list_t;

static int visit_list(dlq_t *d, const redisReply *e, void *arg)
{
    list_t *l = arg;
    if (!matches_filters(d, e))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        void *p = realloc(l->rows, cap * sizeof *l->rows);
        if (p == NULL) {
            l->oom = 1;
            return -1;
        }
        l->rows = p;
        l->cap = cap;
    }
    char **row = l->rows[l->n];
    row[C_ENTRY] = strdup(entry_id(e));
    row[C_JOBID] = cell(job_id_of(e), "-", 0);
    row[C_JOB] = cell(field(e, "job"), "-", 0);
    row[C_V] = cell(field(e, "v"), "-", 0);
    row[C_REASON] = cell(field(e, "dlq_reason"), "-", 0);
    row[C_ATTEMPT] = cell(field(e, "attempt"), "1", 0);
    row[C_AT] = time_cell(field(e, "dlq_at"));
    row[C_ERROR] = cell(field(e, "dlq_error"), "-", ERROR_COLS);
    l->n++;
    for (int k = 0; k < C_N; k++)
        if (row[k] == NULL) {
            l->oom = 1;
            return -1;
        }
    return l->n >= l->want ? 1 : 0;
}

static long long dlq_len(dlq_t *d)
{
    const char *argv[] = {"XLEN", d->keys.dlq};
    redisReply *r = dlq_cmd(d, "XLEN", 2, argv, NULL);
    if (r == NULL)
        return -1;
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return n;
}

static int do_list(dlq_t *d, long count)
{
    list_t l = {NULL, 0, 0, (size_t)count, 0};
    int rc = scan(d, 1, "+", visit_list, &l);
    long long total = rc == 0 ? dlq_len(d) : -1;
    if (l.oom)
        fprintf(stderr, "jobrt dlq: out of memory\n");
    if (rc != 0 || total < 0) {
        rc = 1;
        goto out;
    }
    size_t w[C_N];
    for (int k = 0; k < C_N; k++) {
        w[k] = strlen(col_names[k]);
        for (size_t i = 0; i < l.n; i++)
            if (strlen(l.rows[i][k]) > w[k])
                w[k] = strlen(l.rows[i][k]);
    }
    /* The last column unpadded: no trailing spaces. */
    for (int k = 0; k < C_N; k++)
        printf("%-*s%s", k + 1 < C_N ? (int)w[k] : 0, col_names[k],
               k + 1 < C_N ? "  " : "\n");
    for (size_t i = 0; i < l.n; i++)
        for (int k = 0; k < C_N; k++)
            printf("%-*s%s", k + 1 < C_N ? (int)w[k] : 0, l.rows[i][k],
                   k + 1 < C_N ? "  " : "\n");
    printf("%zu dead letter(s) shown, newest first, of %lld in queue %s",
           l.n, total, d->queue);
    if (d->reason || d->job)
        printf(" (matching%s%s%s%s)", d->reason ? " --reason " : "",
               d->reason ? d->reason : "", d->job ? " --job " : "",
               d->job ? d->job : "");
    if (l.n >= l.want && (long long)l.n < total)
        printf("; --count %zu reached, more may match", l.want);
    printf("\n");
    rc = 0;
out:
    for (size_t i = 0; i < l.n; i++)
        for (int k = 0; k < C_N; k++)
            free(l.rows[i][k]);
    free(l.rows);
    return rc;
}

/* ---- show ---------------------------------------------------------------- */

static int do_show(dlq_t *d, const char *arg)
{
    target_t t;
    memset(&t, 0, sizeof t);
    t.arg = arg;
    if (resolve(d, &t, 1) != 0)
        return 1;
    if (t.entry[0] == '\0') {
        fprintf(stderr, "jobrt dlq: no dead letter with id %s in queue %s "
                "(neither an entry id nor a job id there)\n", arg, d->queue);
        return 1;
    }
    int failed;
    redisReply *r = fetch_entry(d, t.entry, &failed);
    if (r == NULL) {
        if (!failed)
            fprintf(stderr, "jobrt dlq: dead letter %s vanished (retried or "
                    "purged meanwhile)\n", t.entry);
        return 1;
    }
    const redisReply *e = r->element[0], *f = e->element[1];
    char *at = time_cell(field(e, "dlq_at"));
    printf("# dead letter %s in queue %s (%s), dead-lettered at %s\n",
           t.entry, d->queue, d->keys.dlq, at ? at : "-");
    free(at);
    buf_t b = {0};
    for (size_t i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements;
         i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        buf_reset(&b);
        if (k->type == REDIS_REPLY_STRING)
            esc_append(&b, k->str, k->len, 0);
        buf_append(&b, ": ", 2);
        if (v->type == REDIS_REPLY_STRING)
            esc_append(&b, v->str, v->len, 0);
        buf_append(&b, "\n", 1);
        fwrite(b.data, 1, b.len, stdout);
    }
    buf_free(&b);
    freeReplyObject(r);
    return 0;
}

/* ---- selecting for retry and purge --------------------------------------- */

typedef struct {
    char id[ENTRY_ID_MAX];
    char *job_id; /* raw bytes, job_id_len long; NULL if none */
    size_t job_id_len;
    int expired;  /* expires_at is in the past */
} sel_t;

typedef struct {
    sel_t *v;
    size_t n, cap;
    int64_t now;
} sels_t;

/* Adds entry e; with dedupe, not if it is already selected (quadratic:
 * for IDs named on the command line only). Returns 0, -1 out of memory. */
static int sel_add(sels_t *s, const redisReply *e, int dedupe)
{
    for (size_t i = 0; dedupe && i < s->n; i++)
        if (strcmp(s->v[i].id, entry_id(e)) == 0)
            return 0; /* named twice */
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        void *p = realloc(s->v, cap * sizeof *s->v);
        if (p == NULL)
            return -1;
        s->v = p;
        s->cap = cap;
    }
    sel_t *x = &s->v[s->n];
    memset(x, 0, sizeof *x);
    snprintf(x->id, sizeof x->id, "%s", entry_id(e));
    const redisReply *j = job_id_of(e), *exp = field(e, "expires_at");
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
                   0 && ms > 0 && (int64_t)ms <= s->now)
        x->expired = 1;
    s->n++;
    return 0;
}

static void sels_free(sels_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].job_id);
    free(s->v);
}

static int visit_select(dlq_t *d, const redisReply *e, void *arg)
{
    if (!matches_filters(d, e))
        return 0;
    if (sel_add(arg, e, 0) != 0) {
        fprintf(stderr, "jobrt dlq: out of memory\n");
        return -1;
    }
    return 0;
}

/* Fills s from explicit IDs (all must resolve, else nothing is selected)
 * or from --all. Returns 0, 1 on error (printed). */
static int select_entries(dlq_t *d, char **ids, int n_ids, int all,
                          sels_t *s)
{
    if (all) {
        char last[ENTRY_ID_MAX];
        if (newest_id(d, last) != 0)
            return 1;
        if (last[0] == '\0')
            return 0;
        return scan(d, 0, last, visit_select, s) == 0 ? 0 : 1;
    }
    target_t *t = calloc((size_t)n_ids, sizeof *t);
    if (t == NULL) {
        fprintf(stderr, "jobrt dlq: out of memory\n");
        return 1;
    }
    int n_t = 0;
    for (int i = 0; i < n_ids; i++) {
        int dup = 0;
        for (int k = 0; k < n_t && !dup; k++)
            dup = strcmp(t[k].arg, ids[i]) == 0;
        if (!dup)
            t[n_t++].arg = ids[i];
    }
    n_ids = n_t;
    int rc = resolve(d, t, (size_t)n_ids);
    int missing = 0;
    for (int i = 0; rc == 0 && i < n_ids; i++)
        if (t[i].entry[0] == '\0') {
            fprintf(stderr, "jobrt dlq: no dead letter with id %s in queue "
                    "%s\n", t[i].arg, d->queue);
            missing++;
        }
    if (rc == 0 && missing) {
        fprintf(stderr, "jobrt dlq: %d of %d id(s) not found; nothing "
                "done\n", missing, n_ids);
        rc = -1;
    }
    for (int i = 0; rc == 0 && i < n_ids; i++) {
        int failed;
        redisReply *r = fetch_entry(d, t[i].entry, &failed);
        if (failed) {
            rc = -1;
        } else if (r == NULL) {
            /* Retried or purged by someone else since it was resolved. */
            fprintf(stderr, "jobrt dlq: dead letter %s (%s) vanished "
                    "meanwhile; skipped\n", t[i].entry, t[i].arg);
        } else {
            if (sel_add(s, r->element[0], 1) != 0) {
                fprintf(stderr, "jobrt dlq: out of memory\n");
                rc = -1;
            }
            freeReplyObject(r);
        }
    }
    free(t);
    return rc == 0 ? 0 : 1;
}

/* ---- retry and purge ----------------------------------------------------- */

/* How many selected jobs are in the cancelled set (ZSCORE, pipelined). */
static long long count_cancelled(dlq_t *d, const sels_t *s)
{
    long long n = 0;
    for (size_t i = 0; i < s->n; i += 1000) {
        size_t end = i + 1000 < s->n ? i + 1000 : s->n, sent = 0;
        for (size_t k = i; k < end; k++) {
            if (s->v[k].job_id == NULL)
                continue;
            const char *argv[] = {"ZSCORE", d->keys.cancelled, s->v[k].job_id};
            size_t lens[] = {6, strlen(d->keys.cancelled),
                             s->v[k].job_id_len};
            if (redisAppendCommandArgv(d->c, 3, argv, lens) != REDIS_OK)
                return -1;
            sent++;
        }
        for (size_t k = 0; k < sent; k++) {
            void *rp = NULL;
            if (redisGetReply(d->c, &rp) != REDIS_OK || rp == NULL)
                return -1;
            redisReply *r = rp;
            if (r->type == REDIS_REPLY_STRING)
                n++;
            freeReplyObject(r);
        }
    }
    return n;
}

/* Runs `verb` over the selected ids in batches; returns how many moved or
 * were deleted, or -1 after printing an error. */
static long long act(dlq_t *d, const sels_t *s, int retry)
{
    const char *argv[5 + ACT_BATCH];
    long long done = 0;
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
        if (r == NULL) {
            if (done)
                fprintf(stderr, "jobrt dlq: %lld dead letter(s) were %s "
                        "before the error\n", done,
                        retry ? "re-enqueued" : "purged");
            return -1;
        }
        if (r->type == REDIS_REPLY_INTEGER)
            done += r->integer;
        freeReplyObject(r);
    }
    return done;
}

static int do_retry_purge(dlq_t *d, int retry, char **ids, int n_ids,
                          int all)
{
    sels_t s = {NULL, 0, 0, util_now_ms()};
    int rc = select_entries(d, ids, n_ids, all, &s);
    if (rc != 0)
        goto out;
    long long cancelled = 0;
    if (retry && s.n) {
        cancelled = count_cancelled(d, &s);
        if (cancelled < 0) {
            fprintf(stderr, "jobrt dlq: checking for cancelled jobs failed: "
                    "%s\n", d->c->errstr[0] ? d->c->errstr : "bad reply");
            rc = 1;
            goto out;
        }
    }
    long long done = act(d, &s, retry);
    if (done < 0) {
        rc = 1;
        goto out;
    }
    if (retry)
        printf("re-enqueued %lld job(s) to queue %s\n", done, d->queue);
    else
        printf("purged %lld\n", done);
    if ((size_t)done < s.n)
        fprintf(stderr, "jobrt dlq: %zu selected dead letter(s) were gone "
                "when their turn came (retried or purged meanwhile)\n",
                s.n - (size_t)done);
    if (retry) {
        size_t expired = 0;
        for (size_t i = 0; i < s.n; i++)
            expired += (size_t)s.v[i].expired;
        if (cancelled)
            fprintf(stderr, "jobrt dlq: warning: %lld of them %s cancelled "
                    "with `jobrt cancel` (kept 7 days); workers will "
                    "dead-letter %s again as cancelled\n", cancelled,
                    cancelled == 1 ? "is" : "are",
                    cancelled == 1 ? "it" : "them");
        if (expired)
            fprintf(stderr, "jobrt dlq: warning: %zu of them %s an "
                    "expires_at in the past; workers will dead-letter %s "
                    "again as expired\n", expired,
                    expired == 1 ? "has" : "have",
                    expired == 1 ? "it" : "them");
    }
out:
    sels_free(&s);
    return rc;
}

/* ---- entry point --------------------------------------------------------- */

int cmd_dlq(int argc, char **argv)
{
    redis_cli_opts_t ro = REDIS_CLI_OPTS_INIT;
    const char *reason = NULL, *job = NULL;
    long count = 0; /* 0: not given */
    int all = 0;
    const cli_opt_t opts[] = {
        REDIS_CLI_OPT_ROWS(ro, "Queue whose dead letters to use"),
        {"reason", 0, NULL, OPT_STRING, &reason, "R",
         "list, retry --all, purge --all: only dead letters with dlq_reason "
         "R.", 0, 0},
        {"job", 0, NULL, OPT_STRING, &job, "NAME",
         "list, retry --all, purge --all: only jobs named NAME.", 0, 0},
        {"count", 'n', NULL, OPT_INT, &count, "N",
         "list: show at most N (default 50).", 1, 1000000},
        {"all", 0, NULL, OPT_FLAG, &all, NULL,
         "retry, purge: every dead letter (that matches the filters).", 0, 0},
    };
    const cli_cmd_t cmd = {
        "dlq",
        "jobrt dlq list|show|retry|purge [ID...] [options]",
        "Inspects the dead-letter stream of a queue (NS:{QUEUE}:dlq) and "
        "re-enqueues or\ndeletes dead letters. A dead letter is the job's "
        "stream entry with all its\nfields plus dlq_reason, dlq_error, "
        "dlq_worker, dlq_at and dlq_source_id.\n\n"
        "  jobrt dlq list [--reason R] [--job NAME] [--count N]\n"
        "      Newest first, one line each: entry id, job id, job name, v, "
        "reason,\n"
        "      attempt, when (UTC) and the error cut to 80 columns; a header "
        "line\n"
        "      first and a count line last. At most N lines (default 50).\n"
        "  jobrt dlq show ID\n"
        "      Every field of one dead letter as 'name: value' lines, after "
        "a '#'\n"
        "      line naming the entry.\n"
        "  jobrt dlq retry (ID... | --all [--reason R] [--job NAME])\n"
        "      Re-enqueues to the queue with the original fields; attempt, "
        "last_error\n"
        "      and dlq_* are dropped, so attempts start again. Removes them "
        "from the\n"
        "      DLQ. Prints 're-enqueued N job(s) to queue Q'. Warns about "
        "jobs that\n"
        "      will be dead-lettered again at once: still cancelled (`jobrt "
        "cancel`\n"
        "      lasts 7 days) or past their expires_at.\n"
        "  jobrt dlq purge (ID... | --all [--reason R] [--job NAME])\n"
        "      Deletes dead letters for good. Prints 'purged N'.\n\n"
        "ID is a dead-letter entry id (first column of list) or a job id: "
        "the newest\ndead letter whose id field equals it, else whose "
        "dlq_source_id does (older\nones are named in a note). Put -- "
        "before IDs that start with '-'. retry and\npurge need IDs or --all;"
        " --reason and --job (exact matches) only narrow\n--all, which takes "
        "the dead letters present when it starts, oldest first.\nBytes "
        "outside printable ASCII are shown as \\xNN.\n\n"
        "Exit codes: 0 done (also when list, retry --all or purge --all "
        "match nothing);\n1 Redis error, or an ID matches no dead letter "
        "(show; retry and purge then\nchange nothing); 2 bad usage.",
        opts, (int)(sizeof opts / sizeof opts[0])};

    char **pos = calloc((size_t)(argc > 0 ? argc : 1), sizeof *pos);
    if (pos == NULL) {
        fprintf(stderr, "jobrt dlq: out of memory\n");
        return 1;
    }
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, argc, &n_pos);
    if (rc) {
        free(pos);
        return rc == 1 ? 0 : rc;
    }
    const char *sub = n_pos > 0 ? pos[0] : NULL;
    char **ids = pos + 1;
    int n_ids = n_pos > 0 ? n_pos - 1 : 0;
    int is_list = 0, is_show = 0, is_retry = 0, is_purge = 0;
    if (sub == NULL)
        rc = cli_usage_error(&cmd, "expected a subcommand: list, show, "
                             "retry or purge");
    else if (!(is_list = !strcmp(sub, "list")) &&
             !(is_show = !strcmp(sub, "show")) &&
             !(is_retry = !strcmp(sub, "retry")) &&
             !(is_purge = !strcmp(sub, "purge")))
        rc = cli_usage_error(&cmd, "unknown subcommand '%s' (expected list, "
                             "show, retry or purge)", sub);
    else if (is_list && n_ids > 0)
        rc = cli_usage_error(&cmd, "list takes no IDs (use show ID)");
    else if ((is_list || is_show) && all)
        rc = cli_usage_error(&cmd, "--all is for retry and purge");
    else if (is_show && n_ids != 1)
        rc = cli_usage_error(&cmd, "show expects exactly one ID");
    else if (is_show && (reason || job))
        rc = cli_usage_error(&cmd, "show takes no --reason or --job");
    else if (!is_list && count)
        rc = cli_usage_error(&cmd, "--count is for list");
    else if ((is_retry || is_purge) && n_ids == 0 && !all)
        rc = cli_usage_error(&cmd, "%s needs IDs or --all (it never acts on "
                             "everything by default)", sub);
    else if ((is_retry || is_purge) && n_ids > 0 && all)
        rc = cli_usage_error(&cmd, "give IDs or --all, not both");
    else if ((is_retry || is_purge) && !all && (reason || job))
        rc = cli_usage_error(&cmd, "--reason and --job narrow --all; with "
                             "IDs they are not used");
    if (rc) {
        free(pos);
        return rc;
    }

    dlq_t d;
    memset(&d, 0, sizeof d);
    d.queue = ro.queue;
    d.reason = reason;
    d.job = job;
    d.c = redis_cli_connect(&cmd, &ro, &d.keys, &rc);
    if (d.c == NULL) {
        free(pos);
        return rc;
    }
    if (is_list)
        rc = do_list(&d, count ? count : 50);
    else if (is_show)
        rc = do_show(&d, ids[0]);
    else
        rc = do_retry_purge(&d, is_retry, ids, n_ids, all);
    redisFree(d.c);
    free(pos);
    return rc;
}
