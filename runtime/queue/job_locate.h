/*
 * job_locate.h - where one job is, for `jobrt status`: finished (its
 * outcome record), queued in the stream, delayed, parked (pending to a
 * parked:<job>:v<N> pseudo-consumer), running (pending to a worker), or
 * not found. Over a blocking connection; prints nothing.
 *
 * A job id that has the form of a stream entry id (the default job id)
 * is looked up directly (XRANGE of that id, XPENDING of it). Otherwise, or
 * when that entry is not the job's live copy (a retry re-adds it with an
 * `id` field), the stream and then the delayed set are scanned a page of
 * JOB_LOCATE_PAGE at a time, each page in one read-only script that
 * returns only a match, until scan_limit entries have been looked at in
 * all. Pages are read one after the other, not atomically: a job that
 * moves between the stream and the delayed set during a scan can be
 * missed (then it is reported as not found; ask again). Every reply
 * element is checked for its type before it is read.
 *
 * A running job's latest progress report (the ABI 1.2 job_progress, which
 * its worker writes to keys.progress_prefix + id: exec/progress.h) is read
 * too; a value that is not the JSON the worker writes, or is longer than
 * JOB_PROGRESS_MAX_VALUE bytes, counts as no report, and so does one
 * whose "attempt" or "delivery" is not the running entry's (an earlier
 * run's, which a worker that died or was killed left behind).
 */
#ifndef JOBRT_QUEUE_JOB_LOCATE_H
#define JOBRT_QUEUE_JOB_LOCATE_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "core/envelope.h"
#include "queue/keys.h"

#define JOB_LOCATE_PAGE 1000
#define JOB_LOCATE_DEFAULT_LIMIT 1000000ULL
#define JOB_PROGRESS_MAX_VALUE 4096
#define JOB_PROGRESS_MESSAGE_MAX 200

typedef enum {
    JOB_NOT_FOUND,
    JOB_FINISHED, /* record holds the outcome record */
    JOB_ACKED,    /* acknowledged, not yet cut from the stream, no record
                     (--result-ttl 0, or it expired) */
    JOB_QUEUED,
    JOB_DELAYED,
    JOB_PARKED,
    JOB_RUNNING
} job_state_t;

typedef struct {
    job_state_t state;
    int64_t server_ms;       /* the Redis server's clock */
    char *record;            /* JOB_FINISHED: the record (malloc'd) */
    size_t record_len;
    char stream_id[48];      /* queued, acked, parked, running: the entry */
    char consumer[256];      /* parked, running: pending to it */
    int64_t idle_ms;         /* parked, running: XPENDING idle */
    long long deliveries;    /* parked, running: XPENDING count */
    int64_t due_ms;          /* delayed: score (server clock ms) */
    char due_score[32];      /* delayed: the score as Redis wrote it */
    char token[64];          /* delayed: the member's token */
    char job[ENVELOPE_MAX_NAME + 1]; /* the entry's job and v fields, as */
    char version[16];        /* they are (cut to fit), "" if absent */
    char attempt[16];        /* the attempt field, "1" if absent */
    int no_group;            /* queued: no worker made the group yet */
    /* running: its latest progress report, if it published one */
    int has_progress;
    int progress_percent;    /* 0..100 */
    int64_t progress_at_ms;  /* when the handler reported it (wall clock) */
    char progress_message[JOB_PROGRESS_MESSAGE_MAX + 1]; /* "" if none */
    unsigned long long scanned; /* entries the scans looked at */
    int scan_cut;            /* the scan stopped at scan_limit */
} job_locate_t;

/* A running job's latest progress report, as its progress key holds it. */
typedef struct {
    int percent;    /* 0..100 */
    int64_t at_ms;  /* when the handler reported it (wall clock) */
    char message[JOB_PROGRESS_MESSAGE_MAX + 1]; /* "" if none */
} job_progress_t;

/* Reads a progress key's value (s[0..len), NULL: no key) into out: 1 when
 * it is the JSON a worker writes, at most JOB_PROGRESS_MAX_VALUE bytes,
 * of the run with this attempt and delivery count (a report of an earlier
 * run, which a worker that died or was killed left behind, is not), and 0
 * otherwise (out is then cleared). */
int job_progress_parse(const char *s, size_t len, unsigned long attempt,
                       unsigned long long deliveries, job_progress_t *out);

/* Finds job id in the queue of keys, read through consumer group group.
 * Returns 0 (free out with job_locate_free), or -1 with one line naming
 * the job and Redis's error in err. */
int job_locate(redisContext *c, const queue_keys_t *keys, const char *group,
               const char *id, unsigned long long scan_limit,
               job_locate_t *out, char *err, size_t err_len);

/* Looks for job id again where prev (an earlier job_locate or
 * job_relocate of it) found it, without a scan: its record, then its
 * stream entry (one script: queued, parked, running, or acknowledged),
 * or its delayed member among those of the same score. When it is no
 * longer there (a retry moved it between the stream and the delayed set,
 * or it finished and its entry was trimmed) out->state is JOB_NOT_FOUND:
 * a full job_locate may find it elsewhere. Returns 0, or -1 with err. */
int job_relocate(redisContext *c, const queue_keys_t *keys,
                 const char *group, const char *id,
                 const job_locate_t *prev, job_locate_t *out, char *err,
                 size_t err_len);

void job_locate_free(job_locate_t *l);

/* "queued", "delayed", ... "unknown" (JOB_NOT_FOUND). */
const char *job_state_name(job_state_t s);

#endif
