/*
 * tz.h - IANA time zones read from TZif files (v2+, 64-bit section, plus
 * the footer's POSIX TZ rule for instants after the last transition), for
 * the recurring jobs' cron evaluation (issue 13). No process-global state:
 * no setenv("TZ"), no localtime(); a loaded zone is immutable and may be
 * shared between threads. Leap seconds are not supported ("right/" zones
 * are refused). A NULL zone means UTC everywhere.
 */
#ifndef JOBRT_TZ_H
#define JOBRT_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct jobrt_tz_s jobrt_tz_t;

/* Loads zone `name` (e.g. "Europe/Berlin") from $JOBRT_ZONEINFO_DIR, or
 * /usr/share/zoneinfo. Returns the zone (caller frees with tz_free) or
 * NULL with a one-line error in err. The name must be [A-Za-z0-9_+-/]
 * only, without "..", not starting with '/'; the file at most 1 MiB. */
jobrt_tz_t *tz_load(const char *name, char *err, size_t err_len);
/* The same from directory dir (NULL: as tz_load). */
jobrt_tz_t *tz_load_dir(const char *dir, const char *name, char *err,
                        size_t err_len);
void tz_free(jobrt_tz_t *tz); /* NULL is a no-op */
const char *tz_name(const jobrt_tz_t *tz); /* "UTC" for NULL */

/* UTC offset (seconds east of UTC) at instant unix_s; *is_dst (if not
 * NULL) is set to 1 in daylight time. Cannot fail. */
int tz_offset(const jobrt_tz_t *tz, int64_t unix_s, int *is_dst);

/* The period of constant UTC offset containing unix_s: [start, end) with
 * offset; prev_offset is the offset just before start. start is INT64_MIN
 * and end INT64_MAX when there is no change that way. */
typedef struct {
    int64_t start, end;
    int offset, prev_offset;
} tz_period_t;
void tz_period(const jobrt_tz_t *tz, int64_t unix_s, tz_period_t *p);

/* Proleptic Gregorian calendar helpers (days since 1970-01-01). */
int64_t tz_days_from_civil(int64_t y, int m, int d);
void tz_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

#endif
