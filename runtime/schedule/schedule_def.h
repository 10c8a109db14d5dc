/*
 * schedule_def.h - one recurring job (`jobrt schedule add`): its stored
 * JSON definition, checked the same way by the CLI that writes it and by
 * every worker that reads it, and the pure "what fires now" rule with the
 * missed-tick policy. No I/O but tz_load (the zone file).
 *
 * The definition, the value of NS:{QUEUE}:schedules[NAME] (docs/
 * scheduling.md): {"name","queue","cron","tz","missed":"skip"|"once",
 * "job","v","payload" (the payload's JSON text, as a string, kept byte
 * for byte), "max_attempts" (optional), "paused" (bool), "created_at",
 * "updated_at" (ms), "by"}.
 */
#ifndef JOBRT_SCHEDULE_DEF_H
#define JOBRT_SCHEDULE_DEF_H

#include <stddef.h>
#include <stdint.h>

#include "core/envelope.h"
#include "schedule/cron.h"
#include "schedule/tz.h"

#define SCHEDULE_NAME_MAX 64        /* [A-Za-z0-9_.:-] */
#define SCHEDULE_PAYLOAD_MAX 65536  /* bytes of payload JSON */
#define SCHEDULE_DEF_MAX (2 * SCHEDULE_PAYLOAD_MAX) /* bytes of definition */
#define SCHEDULE_TZ_MAX 128
#define SCHEDULE_MAX_PER_QUEUE 10000
/* A tick overdue by more than this counts as missed (no worker ran). */
#define SCHEDULE_MISSED_MS 60000
/* The most ticks one fire sends (overdue ticks under the missed limit). */
#define SCHEDULE_FIRE_BATCH 64
/* Job ids: SCHEDULE_ID_PREFIX NAME "-" <tick ms>. */
#define SCHEDULE_ID_PREFIX "sched-"

typedef enum { SCHEDULE_MISSED_SKIP, SCHEDULE_MISSED_ONCE } schedule_missed_t;

typedef struct {
    char name[SCHEDULE_NAME_MAX + 1];
    char queue[ENVELOPE_MAX_NAME + 1];
    char cron[CRON_MAX_LEN + 1];
    char tz[SCHEDULE_TZ_MAX + 1]; /* "UTC" when none was given */
    schedule_missed_t missed;
    char job[ENVELOPE_MAX_NAME + 1];
    long version;
    char *payload;                /* owned, NUL-terminated JSON text */
    long max_attempts;            /* 0: not set */
    int paused;
    int64_t created_at, updated_at;
    char by[320];
} schedule_def_t;

/* Whether name is 1..SCHEDULE_NAME_MAX characters of [A-Za-z0-9_.:-]. */
int schedule_name_ok(const char *name, size_t len);

/* Which policy s names ("skip", "once"); -1 if neither. */
int schedule_missed_parse(const char *s);
const char *schedule_missed_name(schedule_missed_t m);

/* Checks every field of d (name, queue, cron, payload JSON and size, job
 * name, version, max attempts; not the zone, see schedule_load_tz) as
 * `jobrt schedule add` must, and a job built from it passes the worker's
 * envelope check. Returns 0, or -1 with one line naming the flag in err
 * ("--cron: ...", "--payload: ..."). */
int schedule_def_check(const schedule_def_t *d, char *err, size_t err_len);

/* Loads d's zone: *out is NULL for "UTC" (no zone file needed). Returns
 * 0, or -1 with "--tz: ..." in err. */
int schedule_load_tz(const char *name, jobrt_tz_t **out, char *err,
                     size_t err_len);

/* The definition as JSON (caller frees), or NULL when out of memory. */
char *schedule_def_encode(const schedule_def_t *d);
/* Parses and checks a stored definition into d (free with
 * schedule_def_free). Returns 0, or -1 with a one-line reason. */
int schedule_def_decode(const char *json, size_t len, schedule_def_t *d,
                        char *err, size_t err_len);
void schedule_def_free(schedule_def_t *d);

/* What one poll does with a due schedule (schedule_plan). */
typedef struct {
    int64_t fires[SCHEDULE_FIRE_BATCH]; /* tick times to enqueue, oldest
                                           first */
    size_t n;
    int64_t next;     /* the new due time; -1: no tick within 5 years */
    int missed;       /* the due tick was overdue by more than missed_ms:
                         the policy applied */
    int64_t missed_first; /* with missed: the oldest missed tick (due) */
} schedule_plan_t;

/* The rule, on the server clock now (ms): a schedule due at `due`
 * (<= now) whose tick is overdue by at most missed_ms fires every tick
 * from due up to now, at most SCHEDULE_FIRE_BATCH (next is the first
 * tick not fired, maybe still <= now: the next poll goes on). Overdue by
 * more (no worker ran): SKIP fires nothing, ONCE fires one job for the
 * newest tick <= now; either way next is the first tick after now.
 * due > now: nothing fires, next = due. */
void schedule_plan(const cron_expr_t *c, const jobrt_tz_t *tz, int64_t due,
                   int64_t now, schedule_missed_t policy, int64_t missed_ms,
                   schedule_plan_t *out);

/* The newest tick of c in [lo, now], or lo when there is none (a due time
 * set by hand). Binary search: about 40 cron_next calls. */
int64_t schedule_newest_tick(const cron_expr_t *c, const jobrt_tz_t *tz,
                             int64_t lo, int64_t now);

/* "YYYY-MM-DD HH:MM:SS" in tz's local time plus its UTC offset
 * ("+01:00"), for list output. */
void schedule_format_local(const jobrt_tz_t *tz, int64_t ms, char *out,
                           size_t out_len);

#endif
