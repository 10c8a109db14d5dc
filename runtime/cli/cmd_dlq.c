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

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/redis_opts.h"
#include "core/envelope.h"
#include "core/util.h"
#include "exec/outcome.h"
#include "queue/dlq.h"
#include "queue/scripts.h"

#define ERROR_COLS 80 /* `list` cuts the error to this many columns */

/* ---- text ---------------------------------------------------------------- */

/* A NUL-terminated copy of the escaped value, or of `dflt` if v is NULL. */
static char *cell(const redisReply *v, const char *dflt, size_t max)
{
    buf_t b = {0};
    if (v)
        buf_append_escaped(&b, v->str, v->len, max, NULL);
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

/* The note about older dead letters that a job id also matched. */
static void note_more(const dlq_target_t *t)
{
    const dlq_match_t *m = t->chosen;
    if (m == NULL || m->n_more == 0)
        return;
    fprintf(stderr, "jobrt dlq: note: %zu older dead letter(s) also have %s "
            "%s (not selected; name them by entry id):", m->n_more, t->how,
            t->arg);
    for (size_t k = 0; k < m->n_more && k < DLQ_MAX_MORE; k++)
        fprintf(stderr, " %s", m->more[k]);
    fprintf(stderr, "%s\n", m->n_more > DLQ_MAX_MORE ? " ..." : "");
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
    if (!dlq_matches(d, e))
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
    row[C_ENTRY] = strdup(dlq_entry_id(e));
    row[C_JOBID] = cell(dlq_job_id_of(e), "-", 0);
    row[C_JOB] = cell(dlq_field(e, "job"), "-", 0);
    row[C_V] = cell(dlq_field(e, "v"), "-", 0);
    row[C_REASON] = cell(dlq_field(e, "dlq_reason"), "-", 0);
    row[C_ATTEMPT] = cell(dlq_field(e, "attempt"), "1", 0);
    row[C_AT] = time_cell(dlq_field(e, "dlq_at"));
    row[C_ERROR] = cell(dlq_field(e, "dlq_error"), "-", ERROR_COLS);
    l->n++;
    for (int k = 0; k < C_N; k++)
        if (row[k] == NULL) {
            l->oom = 1;
            return -1;
        }
    return l->n >= l->want ? 1 : 0;
}

static int do_list(dlq_t *d, long count)
{
    list_t l = {NULL, 0, 0, (size_t)count, 0};
    int rc = dlq_scan(d, 1, "+", visit_list, &l);
    long long total = rc == 0 ? dlq_len(d) : -1;
    if (l.oom)
        fprintf(stderr, "jobrt dlq: out of memory\n");
    else if (rc != 0 || total < 0)
        fprintf(stderr, "jobrt dlq: %s\n", d->err);
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

/* Prints one "name: value" line, both escaped. */
static void show_line(buf_t *b, const char *k, size_t k_len, const char *v,
                      size_t v_len)
{
    buf_reset(b);
    buf_append_escaped(b, k, k_len, 0, NULL);
    buf_append(b, ": ", 2);
    buf_append_escaped(b, v, v_len, 0, NULL);
    buf_append(b, "\n", 1);
    fwrite(b->data, 1, b->len, stdout);
}

/* The fields of an over-limit entry, kept as netstrings in dlq_fields:
 * printed one "name: value" line each, after a '#' line saying so.
 * Returns -1 (nothing printed, a warning on stderr) when the value is not
 * such a list; the caller then prints it as it is. */
static int show_encoded(buf_t *b, const char *entry, const redisReply *v)
{
    long n = dlq_count_netstrings(v->str, v->len);
    if (n < 0) {
        fprintf(stderr, "jobrt dlq: warning: %s of dead letter %s is not a "
                "list of netstrings (docs/protocol.md); shown as it is\n",
                DLQ_FIELD_ENCODED, entry);
        return -1;
    }
    printf("# the entry's %ld fields, decoded from %s (it had more than "
           "%d):\n", n / 2, DLQ_FIELD_ENCODED, ENVELOPE_MAX_FIELDS);
    const char *p = v->str, *end = v->str + v->len;
    strview_t name, value;
    while (dlq_next_netstring(&p, end, &name) == 1 &&
           dlq_next_netstring(&p, end, &value) == 1)
        show_line(b, name.ptr, name.len, value.ptr, value.len);
    return 0;
}

static int do_show(dlq_t *d, const char *arg)
{
    dlq_target_t t;
    memset(&t, 0, sizeof t);
    t.arg = arg;
    if (dlq_resolve(d, &t, 1) != 0) {
        fprintf(stderr, "jobrt dlq: %s\n", d->err);
        return 1;
    }
    note_more(&t);
    if (t.entry[0] == '\0') {
        fprintf(stderr, "jobrt dlq: no dead letter with id %s in queue %s "
                "(neither an entry id nor a job id there)\n", arg, d->queue);
        return 1;
    }
    int failed;
    redisReply *r = dlq_fetch(d, t.entry, &failed);
    if (r == NULL) {
        if (failed)
            fprintf(stderr, "jobrt dlq: %s\n", d->err);
        else
            fprintf(stderr, "jobrt dlq: dead letter %s vanished (retried or "
                    "purged meanwhile)\n", t.entry);
        return 1;
    }
    const redisReply *e = r->element[0], *f = e->element[1];
    char *at = time_cell(dlq_field(e, "dlq_at"));
    printf("# dead letter %s in queue %s (%s), dead-lettered at %s\n",
           t.entry, d->queue, d->keys.dlq, at ? at : "-");
    free(at);
    buf_t b = {0};
    /* An encoded entry also carries copies of its id, job and v, for
     * listing it: the decoded fields already show them. */
    int encoded = dlq_field(e, DLQ_FIELD_ENCODED) != NULL;
    for (size_t i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements;
         i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            dlq_value_is(k, DLQ_FIELD_ENCODED) &&
            show_encoded(&b, t.entry, v) == 0)
            continue;
        if (encoded && (dlq_value_is(k, "id") || dlq_value_is(k, "job") ||
                        dlq_value_is(k, "v")))
            continue;
        show_line(&b, k->type == REDIS_REPLY_STRING ? k->str : "",
                  k->type == REDIS_REPLY_STRING ? k->len : 0,
                  v->type == REDIS_REPLY_STRING ? v->str : "",
                  v->type == REDIS_REPLY_STRING ? v->len : 0);
    }
    buf_free(&b);
    freeReplyObject(r);
    return 0;
}

/* ---- selecting for retry and purge --------------------------------------- */

/* Fills s from explicit IDs (all must resolve, else nothing is selected)
 * or from --all. Returns 0, 1 on error (printed). */
static int select_entries(dlq_t *d, char **ids, int n_ids, int all,
                          dlq_sels_t *s)
{
    if (all) {
        if (dlq_select_all(d, s) == 0)
            return 0;
        fprintf(stderr, "jobrt dlq: %s\n", d->err);
        return 1;
    }
    dlq_target_t *t = calloc((size_t)n_ids, sizeof *t);
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
    int rc = dlq_resolve(d, t, (size_t)n_ids);
    if (rc != 0)
        fprintf(stderr, "jobrt dlq: %s\n", d->err);
    int missing = 0;
    for (int i = 0; rc == 0 && i < n_ids; i++) {
        note_more(&t[i]);
        if (t[i].entry[0] == '\0') {
            fprintf(stderr, "jobrt dlq: no dead letter with id %s in queue "
                    "%s\n", t[i].arg, d->queue);
            missing++;
        }
    }
    if (rc == 0 && missing) {
        fprintf(stderr, "jobrt dlq: %d of %d id(s) not found; nothing "
                "done\n", missing, n_ids);
        rc = -1;
    }
    for (int i = 0; rc == 0 && i < n_ids; i++) {
        int failed;
        redisReply *r = dlq_fetch(d, t[i].entry, &failed);
        if (failed) {
            fprintf(stderr, "jobrt dlq: %s\n", d->err);
            rc = -1;
        } else if (r == NULL) {
            /* Retried or purged by someone else since it was resolved. */
            fprintf(stderr, "jobrt dlq: dead letter %s (%s) vanished "
                    "meanwhile; skipped\n", t[i].entry, t[i].arg);
        } else {
            if (dlq_sel_add(s, r->element[0], 1) != 0) {
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

static int do_retry_purge(dlq_t *d, int retry, char **ids, int n_ids,
                          int all)
{
    dlq_sels_t s = {NULL, 0, 0, util_now_ms()};
    int rc = select_entries(d, ids, n_ids, all, &s);
    if (rc != 0)
        goto out;
    long long cancelled = 0;
    if (retry && s.n) {
        cancelled = dlq_count_cancelled(d, &s);
        if (cancelled < 0) {
            fprintf(stderr, "jobrt dlq: %s\n", d->err);
            rc = 1;
            goto out;
        }
    }
    long long done = 0;
    dlq_kept_t kept = {0, ""};
    if ((retry ? dlq_retry(d, &s, &done, &kept)
               : dlq_purge(d, &s, &done)) < 0) {
        fprintf(stderr, "jobrt dlq: %s\n", d->err);
        if (done)
            fprintf(stderr, "jobrt dlq: %lld dead letter(s) were %s before "
                    "the error\n", done, retry ? "re-enqueued" : "purged");
        rc = 1;
        goto out;
    }
    if (retry)
        printf("re-enqueued %lld job(s) to queue %s\n", done, d->queue);
    else
        printf("purged %lld\n", done);
    if (kept.n)
        fprintf(stderr, "jobrt dlq: kept %lld dead letter(s) in the DLQ, not "
                "re-enqueued (first: %s): they have no fields to re-add one "
                "by one (an entry with more than %d fields, kept encoded in "
                "%s; a delayed job that could not be read, in %s; or only "
                "dlq_* fields); `jobrt dlq show ID` prints them\n", kept.n,
                kept.first, ENVELOPE_MAX_FIELDS, DLQ_FIELD_ENCODED,
                DLQ_FIELD_MEMBER);
    if ((size_t)(done + kept.n) < s.n)
        fprintf(stderr, "jobrt dlq: %zu selected dead letter(s) were gone "
                "when their turn came (retried or purged meanwhile)\n",
                s.n - (size_t)(done + kept.n));
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
    dlq_sels_free(&s);
    return rc;
}

/* ---- entry point --------------------------------------------------------- */

/* Every dlq_reason jobrt writes (exec/outcome.h, docs/protocol.md). */
static const char *const known_reasons[] = {
    REASON_INVALID_ENVELOPE,  REASON_PAYLOAD_TOO_LARGE,
    REASON_ENTRY_TOO_LARGE,   REASON_TOO_MANY_FIELDS,
    REASON_NO_HANDLER,        REASON_SCHEMA_UNSUPPORTED,
    REASON_RETRIES_EXHAUSTED, REASON_PERMANENT_FAILURE,
    REASON_TIMEOUT,           REASON_EXPIRED,
    REASON_CANCELLED,         REASON_POISON,
    REASON_DISABLED,
};
#define N_KNOWN_REASONS (sizeof known_reasons / sizeof known_reasons[0])

/* 0 if r is a known reason, else a usage error naming them all. */
static int check_reason(const cli_cmd_t *cmd, const char *r)
{
    char list[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < N_KNOWN_REASONS; i++) {
        if (strcmp(r, known_reasons[i]) == 0)
            return 0;
        int n = snprintf(list + used, sizeof list - used, "%s%s",
                         i ? ", " : "", known_reasons[i]);
        if (n > 0 && (size_t)n < sizeof list - used)
            used += (size_t)n;
    }
    return cli_usage_error(cmd, "--reason '%s' is not a dead-letter reason; "
                           "expected one of %s", r, list);
}

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
         "R (a reason code of docs/protocol.md, e.g. no_handler).", 0, 0},
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
        "      line naming the entry. An entry that had more than 256 "
        "fields, kept as\n"
        "      one dlq_fields value, is printed decoded, one line per "
        "field.\n"
        "  jobrt dlq retry (ID... | --all [--reason R] [--job NAME])\n"
        "      Re-enqueues to the queue with the original fields; attempt, "
        "last_error\n"
        "      and dlq_* are dropped, so attempts start again. Removes them "
        "from the\n"
        "      DLQ. Prints 're-enqueued N job(s) to queue Q'. Warns about "
        "jobs that\n"
        "      will be dead-lettered again at once: still cancelled (`jobrt "
        "cancel`\n"
        "      lasts 7 days) or past their expires_at. Keeps, and counts on "
        "stderr,\n"
        "      dead letters with no fields to re-add one by one (dlq_fields, "
        "a delayed\n"
        "      job kept in dlq_delayed_member, or only dlq_* fields).\n"
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
    else if (reason)
        rc = check_reason(&cmd, reason);
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
