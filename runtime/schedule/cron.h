/*
 * cron.h - cron expressions for recurring jobs (issue 13): parsing into
 * bitmasks and finding the next fire time in a time zone. Pure: no I/O.
 *
 * Syntax: 5 fields (minute hour day-of-month month day-of-week) or 6 with
 * a leading seconds field; 5-field expressions fire at second 0. Each
 * field is a comma list of '*', n, a-b, '*' /n, a-b/n, a/n (a to the max).
 * Months JAN-DEC, days SUN-SAT (any case); day-of-week 0-7, 7 = Sunday.
 * Vixie rule: when neither day field starts with '*', a day matches when
 * EITHER matches; otherwise both must.
 *
 * DST, evaluated in the zone's local wall time:
 * - Gap (spring forward): wall times that do not exist are skipped; if
 *   the expression matches any of them, it fires once at the first
 *   instant after the gap (e.g. '30 2 * * *' at 03:00 CEST in Berlin).
 * - Repeat (fall back): a repeated wall time fires only at its first
 *   occurrence, UNLESS the hour field covers all 24 hours ('0 * * * *',
 *   '*' /15 * * * *', '* * * * * *'): such expressions run by elapsed time
 *   and fire in both occurrences, so they fire every real hour/second
 *   (02:00 CEST and 02:00 CET both fire for '0 * * * *').
 */
#ifndef JOBRT_CRON_H
#define JOBRT_CRON_H

#include <stddef.h>
#include <stdint.h>

#include "schedule/tz.h"

#define CRON_MAX_LEN 256
#define CRON_DOM_STAR 1u /* day-of-month field starts with '*' */
#define CRON_DOW_STAR 2u /* day-of-week field starts with '*' */

typedef struct {
    uint64_t sec;  /* bits 0-59 */
    uint64_t min;  /* bits 0-59 */
    uint32_t hour; /* bits 0-23 */
    uint32_t dom;  /* bits 1-31 */
    uint16_t mon;  /* bits 1-12 */
    uint8_t dow;   /* bits 0-6, 0 = Sunday */
    uint8_t flags; /* CRON_DOM_STAR | CRON_DOW_STAR */
} cron_expr_t;

/* Returns 0, or -1 with a one-line error naming the field and token, e.g.
 * "cron expression '*' /0 * * * *': minute field: '*' /0: step 0 is not
 * allowed". */
int cron_parse(const char *expr, cron_expr_t *out, char *err,
               size_t err_len);

/* First fire time strictly after after_ms (Unix ms), as Unix ms (a whole
 * second), in tz's local time (NULL = UTC); -1 if none within 5 years. */
int64_t cron_next(const cron_expr_t *c, const jobrt_tz_t *tz,
                  int64_t after_ms);

#endif
