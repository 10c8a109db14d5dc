/*
 * cmd_status.c - `jobrt status ID`: where job ID is (queue/job_locate.h):
 * finished (its outcome record, printed as the worker stored it), queued,
 * delayed (with its due time), parked (for which pair, since when),
 * running (on which worker, by its heartbeat record's host and pid, since
 * when, attempt and delivery count), or unknown. --wait polls until the
 * job is finished and prints the record: the record key each poll, the
 * job's known place (job_relocate) each second, and a full search only
 * when it left that place (a retry moves it between the stream and the
 * delayed set). A job finished without an outcome record is looked for
 * among the newest dead letters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/redis_opts.h"
#include "cli/stats_view.h"
#include "core/envelope.h"
#include "core/util.h"
#include "fleet/registry.h"
#include "queue/dlq.h"
#include "queue/job_locate.h"
#include "queue/records.h"

#define EXIT_DEAD 3                /* --wait: dead-lettered or cancelled */
#define EXIT_NO_OUTCOME 4          /* --wait: finished, outcome not recorded */
#define WAIT_FIRST_POLL_MS 100     /* --wait polls the record this often, */
#define WAIT_MAX_POLL_MS 1000      /* growing to this, */
#define WAIT_RELOCATE_MS 1000      /* looks at the job's known place this */
#define WAIT_SEARCH_MS 3000        /* often, and searches for it at most */
#define WAIT_MAX_MISSES 2          /* this often, this many times, when it */
                                   /* left that place */
#define DLQ_LOOKBACK 1000          /* newest dead letters looked at */

/* What the running job's worker says (its heartbeat record). */
typedef struct {
    int have_record, have_job;
    unsigned long long jobs_omitted; /* jobs it did not list */
    char host[256];
    long long pid;
    int64_t started_ms;
    uint32_t attempt;
} worker_info_t;

/* ms since the epoch as UTC ISO-8601 with ms. */
static void iso_time(char *out, size_t n, int64_t ms)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    char t[32];
    if (ms < 0 || gmtime_r(&s, &tm) == NULL ||
        strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(out, n, "?");
        return;
    }
    snprintf(out, n, "%s.%03dZ", t, (int)(ms % 1000));
}

/* Reads the heartbeat record of the consumer and the job's entry in it. */
static void read_worker(redisContext *c, const queue_keys_t *k,
                        const job_locate_t *l, worker_info_t *wi)
{
    memset(wi, 0, sizeof *wi);
    char key[1024], last[24];
    snprintf(key, sizeof key, "%s%s", k->worker_prefix, l->consumer);
    snprintf(last, sizeof last, "%d", REGISTRY_MAX_RECORD - 1);
    const char *argv[] = {"GETRANGE", key, "0", last};
    redisReply *r = redisCommandArgv(c, 4, argv, NULL);
    registry_record_t rec;
    char why[320];
    if (r && r->type == REDIS_REPLY_STRING && r->len > 0 &&
        registry_parse_record(r->str, r->len, &rec, why, sizeof why) == 0) {
        wi->have_record = 1;
        snprintf(wi->host, sizeof wi->host, "%s", rec.host);
        wi->pid = rec.pid;
        wi->jobs_omitted = rec.jobs_omitted;
        for (size_t i = 0; i < rec.n_jobs; i++)
            if (strcmp(rec.jobs[i].stream_id, l->stream_id) == 0) {
                wi->have_job = 1;
                wi->started_ms = rec.jobs[i].started_ms;
                wi->attempt = rec.jobs[i].attempt;
                break;
            }
        registry_record_free(&rec);
    }
    if (r)
        freeReplyObject(r);
}

/* The newest dead letter of a job, if any. */
typedef struct {
    const char *id;
    size_t looked;
    char entry[DLQ_ENTRY_ID_MAX];
    char reason[64];
} dead_letter_t;

static int visit_dead(dlq_t *d, const redisReply *e, void *arg)
{
    dead_letter_t *dl = arg;
    (void)d;
    const redisReply *jid = dlq_job_id_of(e);
    if (jid && jid->type == REDIS_REPLY_STRING && dlq_value_is(jid, dl->id)) {
        snprintf(dl->entry, sizeof dl->entry, "%s", dlq_entry_id(e));
        const redisReply *why = dlq_field(e, "dlq_reason");
        if (why && why->type == REDIS_REPLY_STRING)
            snprintf(dl->reason, sizeof dl->reason, "%.*s",
                     (int)(why->len < 63 ? why->len : 63), why->str);
        return 1;
    }
    return ++dl->looked >= DLQ_LOOKBACK ? 1 : 0;
}

/* Looks for id among the queue's DLQ_LOOKBACK newest dead letters (a job
 * dead-lettered just now is among them). 0 (dl->entry "" if none), or -1
 * with err set. */
static int find_dead_letter(redisContext *c, const queue_keys_t *k,
                            const char *queue, const char *id,
                            dead_letter_t *dl, char *err, size_t err_len)
{
    memset(dl, 0, sizeof *dl);
    dl->id = id;
    dlq_t d;
    memset(&d, 0, sizeof d);
    d.c = c;
    d.keys = *k;
    d.queue = queue;
    if (dlq_scan(&d, 1, "+", visit_dead, dl) != 0) {
        snprintf(err, err_len, "job %s: reading the DLQ: %.300s", id,
                 d.err);
        return -1;
    }
    return 0;
}

/* The entry's "job vN" for a human, escaped, into b. */
static void put_job(buf_t *b, const job_locate_t *l)
{
    if (!l->job[0])
        return;
    buf_append(b, " (", 2);
    buf_append_escaped(b, l->job, strlen(l->job), 128, NULL);
    if (l->version[0]) {
        buf_append(b, " v", 2);
        buf_append_escaped(b, l->version, strlen(l->version), 16, NULL);
    }
    buf_append(b, ")", 1);
}

static void human(buf_t *b, const char *id, const char *queue,
                  const job_locate_t *l, const worker_info_t *wi,
                  const dead_letter_t *dl, const char *was)
{
    char when[48], age[32];
    buf_append(b, "job ", 4);
    buf_append_escaped(b, id, strlen(id), 0, NULL);
    put_job(b, l);
    switch (l->state) {
    case JOB_QUEUED: {
        uint64_t ms = strtoull(l->stream_id, NULL, 10);
        stats_fmt_age(age, sizeof age, l->server_ms - (int64_t)ms);
        buf_appendf(b, " is queued in queue %s: stream entry %s, waiting "
                    "%s for a worker", queue, l->stream_id, age);
        if (l->no_group)
            buf_appendf(b, " (no worker has read this queue yet)");
        break;
    }
    case JOB_DELAYED:
        iso_time(when, sizeof when, l->due_ms);
        stats_fmt_age(age, sizeof age, l->due_ms - l->server_ms);
        buf_appendf(b, " is delayed in queue %s: due at %s (in %s), attempt "
                    "%s", queue, when, l->due_ms > l->server_ms ? age : "0s",
                    l->attempt);
        break;
    case JOB_PARKED:
        iso_time(when, sizeof when, l->server_ms - l->idle_ms);
        stats_fmt_age(age, sizeof age, l->idle_ms);
        buf_appendf(b, " is parked in queue %s: pending to ", queue);
        buf_append_escaped(b, l->consumer, strlen(l->consumer), 0, NULL);
        buf_appendf(b, " (no live worker serves this job name at this "
                    "version) since %s (%s), stream entry %s", when, age,
                    l->stream_id);
        break;
    case JOB_RUNNING:
        buf_appendf(b, " is running in queue %s on worker ", queue);
        buf_append_escaped(b, l->consumer, strlen(l->consumer), 0, NULL);
        if (wi->have_record) {
            buf_append(b, " (host ", 7);
            buf_append_escaped(b, wi->host, strlen(wi->host), 0, NULL);
            buf_appendf(b, ", pid %lld)", wi->pid);
        } else if (strncmp(l->consumer, QUEUE_LOST_PREFIX,
                           strlen(QUEUE_LOST_PREFIX)) == 0) {
            buf_appendf(b, " (its worker process died; the next reclaim "
                        "hands it on)");
        } else {
            buf_appendf(b, " (no heartbeat record: it started less than a "
                        "second ago, or it died; then its lease expires and "
                        "another worker reclaims the job)");
        }
        if (wi->have_job) {
            iso_time(when, sizeof when, wi->started_ms);
            stats_fmt_age(age, sizeof age, l->server_ms - wi->started_ms);
            buf_appendf(b, " since %s (%s)", when, age);
        } else if (wi->have_record && wi->jobs_omitted) {
            buf_appendf(b, " (start time not published: its record lists "
                        "%d of its jobs in flight)", REGISTRY_MAX_JOBS);
        } else if (wi->have_record) {
            buf_appendf(b, " (start time not published yet: it started "
                        "after the worker's last heartbeat)");
        }
        buf_appendf(b, ", attempt %s, delivery %lld, stream entry %s",
                    l->attempt, l->deliveries, l->stream_id);
        if (l->has_progress) {
            buf_appendf(b, "; progress %d%%", l->progress_percent);
            if (l->progress_message[0]) {
                buf_append(b, ": ", 2);
                buf_append_escaped(b, l->progress_message,
                                   strlen(l->progress_message), 0, NULL);
            }
            stats_fmt_age(age, sizeof age,
                          l->server_ms > l->progress_at_ms
                              ? l->server_ms - l->progress_at_ms
                              : 0);
            buf_appendf(b, " (reported %s ago)", age);
        }
        break;
    case JOB_ACKED:
        if (was)
            buf_appendf(b, " finished in queue %s: it was %s, and is now in "
                        "neither the stream nor the delayed set", queue, was);
        else
            buf_appendf(b, " finished in queue %s: acknowledged", queue);
        if (dl && dl->entry[0]) {
            buf_appendf(b, "; dead-lettered (DLQ entry %s, reason ",
                        dl->entry);
            buf_append_escaped(b, dl->reason, strlen(dl->reason), 64, NULL);
            buf_appendf(b, "): `jobrt dlq show %s -q %s` shows it",
                        dl->entry, queue);
        }
        buf_appendf(b, "; no outcome record (the worker's --result-ttl or "
                    "--failure-ttl is 0, or the record expired)");
        break;
    case JOB_FINISHED:
    case JOB_NOT_FOUND:
        break;
    }
    buf_append(b, "\n", 1);
}

static cJSON *json_doc(const char *id, const char *queue,
                       const job_locate_t *l, const worker_info_t *wi,
                       const dead_letter_t *dl, unsigned long long limit)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "queue", queue);
    cJSON_AddStringToObject(o, "state", job_state_name(l->state));
    cJSON_AddNumberToObject(o, "server_time_ms", (double)l->server_ms);
    if (l->state == JOB_FINISHED) {
        cJSON *rec = cJSON_ParseWithLength(l->record, l->record_len);
        if (rec)
            cJSON_AddItemToObject(o, "record", rec);
        else
            cJSON_AddStringToObject(o, "record_text", l->record);
    } else if (l->state == JOB_ACKED) {
        cJSON_AddNullToObject(o, "record");
        if (dl && dl->entry[0]) {
            cJSON *d = cJSON_AddObjectToObject(o, "dead_letter");
            cJSON_AddStringToObject(d, "entry", dl->entry);
            cJSON_AddStringToObject(d, "reason", dl->reason);
        }
    }
    if (l->state != JOB_FINISHED && l->state != JOB_NOT_FOUND) {
        if (l->job[0])
            cJSON_AddStringToObject(o, "job", l->job);
        if (l->version[0])
            cJSON_AddStringToObject(o, "v", l->version);
        cJSON_AddStringToObject(o, "attempt", l->attempt);
    }
    if (l->stream_id[0] && l->state != JOB_DELAYED)
        cJSON_AddStringToObject(o, "stream_id", l->stream_id);
    if (l->state == JOB_QUEUED)
        cJSON_AddBoolToObject(o, "no_group", l->no_group);
    if (l->state == JOB_DELAYED) {
        cJSON_AddNumberToObject(o, "due_ms", (double)l->due_ms);
        cJSON_AddStringToObject(o, "token", l->token);
    }
    if (l->state == JOB_PARKED || l->state == JOB_RUNNING) {
        cJSON_AddStringToObject(o, "consumer", l->consumer);
        cJSON_AddNumberToObject(o, "deliveries", (double)l->deliveries);
        cJSON_AddNumberToObject(o, "idle_ms", (double)l->idle_ms);
    }
    if (l->state == JOB_PARKED)
        cJSON_AddNumberToObject(o, "since_ms",
                                (double)(l->server_ms - l->idle_ms));
    if (l->state == JOB_RUNNING) {
        if (wi->have_record) {
            cJSON_AddStringToObject(o, "host", wi->host);
            cJSON_AddNumberToObject(o, "pid", (double)wi->pid);
        }
        if (wi->have_job)
            cJSON_AddNumberToObject(o, "since_ms", (double)wi->started_ms);
        else if (wi->have_record)
            cJSON_AddNullToObject(o, "since_ms"); /* not published */
        if (l->has_progress) {
            cJSON *p = cJSON_AddObjectToObject(o, "progress");
            cJSON_AddNumberToObject(p, "percent", l->progress_percent);
            if (l->progress_message[0])
                cJSON_AddStringToObject(p, "message", l->progress_message);
            else
                cJSON_AddNullToObject(p, "message");
            cJSON_AddNumberToObject(p, "at", (double)l->progress_at_ms);
        } else {
            cJSON_AddNullToObject(o, "progress"); /* none reported */
        }
    }
    if (l->state == JOB_NOT_FOUND) {
        cJSON_AddNumberToObject(o, "scanned", (double)l->scanned);
        cJSON_AddNumberToObject(o, "scan_limit", (double)limit);
        cJSON_AddBoolToObject(o, "scan_cut", l->scan_cut);
    }
    return o;
}

static int print_json(cJSON *doc)
{
    char *s = doc ? cJSON_PrintUnformatted(doc) : NULL;
    int rc = s ? 0 : 1;
    if (s)
        printf("%s\n", s);
    free(s);
    cJSON_Delete(doc);
    return rc;
}

/* 0 when the record's status is succeeded, EXIT_DEAD otherwise. */
static int record_exit(const job_locate_t *l)
{
    cJSON *rec = cJSON_ParseWithLength(l->record, l->record_len);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(rec, "status");
    int ok = cJSON_IsString(st) && strcmp(st->valuestring, "succeeded") == 0;
    cJSON_Delete(rec);
    return ok ? 0 : EXIT_DEAD;
}

static void not_found_line(const char *id, const char *queue,
                           const job_locate_t *l)
{
    fprintf(stderr, "jobrt status: no job %s in queue %s: no record, and "
            "not queued, delayed, parked or running (never enqueued here, "
            "or its record expired; if it was dead-lettered, `jobrt dlq "
            "show %s -q %s` shows it)", id, queue, id, queue);
    if (l->scan_cut)
        fprintf(stderr, "; note: only the first %llu %s of the stream "
                "and delayed set were scanned (--scan-limit)", l->scanned,
                l->scanned == 1 ? "entry" : "entries");
    fprintf(stderr, "\n");
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The record alone, for --wait between full looks. 1 found (in l), 0
 * not, -1 error. */
static int poll_record(redisContext *c, const queue_keys_t *k,
                       const char *id, job_locate_t *l, char *err,
                       size_t err_len)
{
    char *rec = NULL;
    size_t len = 0;
    int found = records_get(c, k, k->name, id, &rec, &len, err, err_len);
    if (found == 1) {
        job_locate_free(l);
        l->record = rec;
        l->record_len = len;
        l->state = JOB_FINISHED;
    }
    return found;
}

static int live_state(job_state_t s)
{
    return s == JOB_QUEUED || s == JOB_DELAYED || s == JOB_PARKED ||
           s == JOB_RUNNING;
}

/* --wait's state between polls. */
typedef struct {
    redisContext *c;
    const queue_keys_t *keys;
    const char *queue, *group, *id;
    unsigned long long scan_limit;
    int64_t next_look, next_search;
    int misses;           /* searches since it left its known place */
    job_locate_t known;   /* where it was last seen */
    const char *was;      /* JOB_ACKED after it vanished: its last state */
} waiter_t;

/* One look for a job --wait has seen before: its known place, and when
 * it left that, a full search (at most every WAIT_SEARCH_MS). l is the
 * latest answer: live, finished, acked, or JOB_NOT_FOUND while it is
 * between places; when a search misses and the DLQ has it, or after
 * WAIT_MAX_MISSES searches that miss, it is taken as finished without a
 * record (JOB_ACKED, w->was set). Returns 0, or -1 with err. */
static int wait_look(waiter_t *w, job_locate_t *l, char *err, size_t err_len)
{
    int64_t now = util_now_ms();
    if (now < w->next_look)
        return 0;
    w->next_look = now + WAIT_RELOCATE_MS;
    job_locate_t at;
    if (job_relocate(w->c, w->keys, w->group, w->id, &w->known, &at, err,
                     err_len) != 0)
        return -1;
    if (at.state == JOB_NOT_FOUND) {
        if (now < w->next_search) {
            l->state = JOB_NOT_FOUND; /* between places: look again */
            return 0;
        }
        w->next_search = now + WAIT_SEARCH_MS;
        if (job_locate(w->c, w->keys, w->group, w->id, w->scan_limit, &at,
                       err, err_len) != 0)
            return -1;
    }
    job_locate_free(l);
    *l = at;
    if (live_state(at.state)) {
        w->known = at;
        w->known.record = NULL;
        w->misses = 0;
    } else if (at.state == JOB_NOT_FOUND) {
        dead_letter_t dl;
        if (find_dead_letter(w->c, w->keys, w->queue, w->id, &dl, err,
                             err_len) != 0)
            return -1;
        if (dl.entry[0] || ++w->misses >= WAIT_MAX_MISSES) {
            /* finished without a record: what it was, from where it was */
            l->state = JOB_ACKED;
            w->was = job_state_name(w->known.state);
            snprintf(l->job, sizeof l->job, "%s", w->known.job);
            snprintf(l->version, sizeof l->version, "%s", w->known.version);
            snprintf(l->attempt, sizeof l->attempt, "%s", w->known.attempt);
        }
    }
    return 0;
}

int cmd_status(int argc, char **argv)
{
    redis_cli_opts_t ro = REDIS_CLI_OPTS_INIT;
    const char *group = "jobrt";
    long scan_limit = (long)JOB_LOCATE_DEFAULT_LIMIT;
    int wait = 0, json = 0;
    int64_t timeout_ms = 0;
    const cli_opt_t opts[] = {
        REDIS_CLI_OPT_ROWS(ro, "Queue the job was enqueued to"),
        {"group", 0, "JOBRT_GROUP", OPT_STRING, &group, "NAME",
         "The fleet's consumer group (default jobrt).", 0, 0},
        {"scan-limit", 0, NULL, OPT_INT, &scan_limit, "N",
         "Entries of the stream and delayed set looked at, in all, to find "
         "a job by an id that is not its stream entry id (default "
         "1000000).", 1, 1000000000},
        {"wait", 0, NULL, OPT_FLAG, &wait, NULL,
         "Wait until the job is finished, then print its record.", 0, 0},
        {"timeout", 0, NULL, OPT_DURATION, &timeout_ms, "DUR",
         "With --wait: give up after DUR (default: wait as long as it "
         "takes).", 1, 366LL * 86400000},
        {"json", 0, NULL, OPT_FLAG, &json, NULL,
         "Print one JSON object: {\"id\", \"queue\", \"state\", "
         "\"server_time_ms\", and per state \"record\" (finished; null "
         "when none was kept, with \"dead_letter\": {\"entry\", \"reason\"} "
         "when it was dead-lettered), "
         "\"job\", \"v\", \"attempt\", \"stream_id\", \"due_ms\" and "
         "\"token\" (delayed), \"consumer\", \"deliveries\", \"idle_ms\", "
         "\"since_ms\" (parked, running; null when the worker did not "
         "publish it), \"host\", \"pid\", \"progress\" (running: "
         "{\"percent\", \"message\", \"at\"} as the handler last "
         "reported it, null when it did not), "
         "\"scanned\", \"scan_limit\", \"scan_cut\" (unknown)} "
         "(docs/inspecting.md).", 0, 0},
    };
    const cli_cmd_t cmd = {
        "status", "jobrt status ID [--queue NAME] [--scan-limit N] [--wait "
        "[--timeout DUR]] [--json]",
        "Says where job ID is: finished (prints its outcome record as "
        "JSON: status\nsucceeded, dead or cancelled, reason, result or "
        "error, attempts, plugin,\ntimestamps; kept for the worker's "
        "--result-ttl / --failure-ttl), queued (in the\nstream, not yet "
        "delivered), delayed (with its due time), parked (pending "
        "to\nparked:JOB:vN, since when), running (on which worker, host "
        "and pid, since when,\nattempt, delivery count, and its progress "
        "when its handler reports it), or\nunknown. An ID of the form of a "
        "stream entry id (the default job id) is looked\nup directly; "
        "another is searched for in the stream and the delayed set, a "
        "page\nof 1000 at a time, up to --scan-limit entries (a note says "
        "when the limit cut\nthe search). A job not found, or finished "
        "without an outcome record, is looked\nfor among the newest 1000 "
        "dead letters. --wait polls the record, looks at the\njob's known "
        "place each second, and searches again only when a retry moved "
        "it.\nPut -- before an ID that starts with '-'.\n"
        "Exit codes: 0 found (any state); with --wait, 0 succeeded, 3 dead "
        "or\ncancelled, 4 finished but no outcome record was kept and no "
        "dead letter\nfound (--result-ttl 0); 1 unknown, --timeout reached "
        "or Redis error; 2 bad\nusage (e.g. an ID that is not 1-128 "
        "printable ASCII characters without\nspaces).",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&cmd, argc, argv, pos, 1, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (n_pos != 1)
        return cli_usage_error(&cmd, "expected one job ID");
    const char *id = pos[0];
    if (!envelope_valid_id(id, strlen(id)))
        return cli_usage_error(&cmd, "'%s' is not a job id (1-%d printable "
                               "ASCII characters, no spaces)", id,
                               ENVELOPE_MAX_ID);
    if (timeout_ms && !wait)
        return cli_usage_error(&cmd, "--timeout needs --wait");
    queue_keys_t keys;
    redisContext *c = redis_cli_connect(&cmd, &ro, &keys, &rc);
    if (c == NULL)
        return rc;
    char err[512];
    job_locate_t l;
    worker_info_t wi = {0};
    dead_letter_t dl = {0};
    int64_t start = util_now_ms();
    int64_t poll = WAIT_FIRST_POLL_MS;
    rc = job_locate(c, &keys, group, id, (unsigned long long)scan_limit, &l,
                    err, sizeof err);
    /* not found, no record: dead-lettered while no record was kept? */
    if (rc == 0 && l.state == JOB_NOT_FOUND) {
        rc = find_dead_letter(c, &keys, ro.queue, id, &dl, err, sizeof err);
        if (rc == 0 && dl.entry[0])
            l.state = JOB_ACKED;
    }
    waiter_t w = {c, &keys, ro.queue, group, id,
                  (unsigned long long)scan_limit, start + WAIT_RELOCATE_MS,
                  0, 0, l, NULL};
    w.known.record = NULL;
    while (rc == 0 && wait &&
           (live_state(l.state) || l.state == JOB_NOT_FOUND) &&
           live_state(w.known.state)) {
        int64_t now = util_now_ms();
        if (timeout_ms && now - start >= timeout_ms) {
            fprintf(stderr, "jobrt status: job %s is still %s after "
                    "--timeout\n", id, job_state_name(w.known.state));
            job_locate_free(&l);
            redisFree(c);
            return 1;
        }
        int64_t nap = poll;
        if (timeout_ms && start + timeout_ms - now < nap)
            nap = start + timeout_ms - now;
        sleep_ms(nap);
        poll = poll * 3 / 2 > WAIT_MAX_POLL_MS ? WAIT_MAX_POLL_MS
                                              : poll * 3 / 2;
        int found = poll_record(c, &keys, id, &l, err, sizeof err);
        if (found < 0) {
            rc = -1;
            break;
        }
        if (found == 0 && wait_look(&w, &l, err, sizeof err) != 0)
            rc = -1;
    }
    if (rc == 0 && l.state == JOB_ACKED && !dl.entry[0] &&
        find_dead_letter(c, &keys, ro.queue, id, &dl, err, sizeof err) != 0)
        rc = -1;
    if (rc != 0) {
        fprintf(stderr, "jobrt status: %s\n", err);
        job_locate_free(&l);
        redisFree(c);
        return 1;
    }
    if (l.state == JOB_RUNNING)
        read_worker(c, &keys, &l, &wi);
    redisFree(c);
    if (json) {
        rc = print_json(json_doc(id, ro.queue, &l, &wi, &dl,
                                 (unsigned long long)scan_limit));
    } else if (l.state == JOB_FINISHED) {
        printf("%.*s\n", (int)l.record_len, l.record);
    } else if (l.state != JOB_NOT_FOUND) {
        buf_t b = {0};
        human(&b, id, ro.queue, &l, &wi, &dl, w.was);
        if (b.data)
            fwrite(b.data, 1, b.len, stdout);
        buf_free(&b);
    }
    if (l.state == JOB_NOT_FOUND) {
        if (!json)
            not_found_line(id, ro.queue, &l);
        rc = 1;
    } else if (rc == 0 && wait && l.state == JOB_FINISHED) {
        rc = record_exit(&l);
    } else if (rc == 0 && wait && l.state == JOB_ACKED) {
        rc = dl.entry[0] ? EXIT_DEAD : EXIT_NO_OUTCOME;
    }
    job_locate_free(&l);
    return rc;
}
