/*
 * limit_spec.c - parsing and arithmetic of the fleet's limits per (queue,
 * job); see limit_spec.h. No I/O, no state.
 */
#include "core/limit_spec.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/envelope.h"

int limit_parse_rate(const char *s, double *per_s, char *err, size_t len)
{
    static const struct {
        const char *name;
        double seconds;
    } units[] = {{"s", 1}, {"sec", 1}, {"m", 60}, {"min", 60},
                 {"h", 3600}, {"hour", 3600}};
    const char *slash = s ? strchr(s, '/') : NULL;
    if (slash == NULL || slash == s) {
        snprintf(err, len, "'%s' is not a rate: expected N/s, N/m or N/h "
                 "(e.g. 100/s)", s ? s : "");
        return -1;
    }
    for (const char *p = s; p < slash; p++)
        if (!isdigit((unsigned char)*p) && *p != '.') {
            snprintf(err, len, "'%s' is not a rate: the count before '/' "
                     "must be a number (e.g. 100/s)", s);
            return -1;
        }
    char num[32];
    size_t n = (size_t)(slash - s);
    if (n >= sizeof num) {
        snprintf(err, len, "'%s' is not a rate: the count is too long", s);
        return -1;
    }
    memcpy(num, s, n);
    num[n] = '\0';
    char *end;
    errno = 0;
    double count = strtod(num, &end);
    if (errno || *end || !(count > 0)) {
        snprintf(err, len, "'%s' is not a rate: the count must be a number "
                 "above 0", s);
        return -1;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(slash + 1, units[i].name) != 0)
            continue;
        double r = count / units[i].seconds;
        if (r < LIMIT_RATE_MIN * 0.999999 || r > LIMIT_RATE_MAX) {
            snprintf(err, len, "rate '%s' is out of range: from 1/h to "
                     "%.0f/s", s, LIMIT_RATE_MAX);
            return -1;
        }
        *per_s = r;
        return 0;
    }
    snprintf(err, len, "'%s' is not a rate: the unit after '/' must be s, "
             "m or h", s);
    return -1;
}

int limit_split_flag(const char *s, char *job, size_t job_len,
                     const char **value, char *err, size_t len)
{
    const char *eq = s ? strrchr(s, '=') : NULL;
    if (eq == NULL) {
        snprintf(err, len, "'%s': expected JOB=VALUE", s ? s : "");
        return -1;
    }
    size_t n = (size_t)(eq - s);
    if (!envelope_valid_name(s, n) || n >= job_len) {
        snprintf(err, len, "'%.*s' is not a job name (1-128 characters of "
                 "[A-Za-z0-9_.:/-])", (int)n, s);
        return -1;
    }
    memcpy(job, s, n);
    job[n] = '\0';
    *value = eq + 1;
    return 0;
}

int limit_parse_concurrency(const char *s, long *n, char *err, size_t len)
{
    char *end;
    errno = 0;
    long v = s && *s ? strtol(s, &end, 10) : 0;
    if (s == NULL || *s == '\0' || errno || *end || v < 1 ||
        v > LIMIT_CONC_MAX) {
        snprintf(err, len, "'%s' is not a concurrency limit: a whole number "
                 "from 1 to %ld", s ? s : "", LIMIT_CONC_MAX);
        return -1;
    }
    *n = v;
    return 0;
}

int limit_parse_json(const char *s, size_t n, limit_t *out, char *err,
                     size_t len)
{
    memset(out, 0, sizeof *out);
    if (n > LIMIT_JSON_MAX) {
        snprintf(err, len, "over %d bytes", LIMIT_JSON_MAX);
        return -1;
    }
    cJSON *o = cJSON_ParseWithLength(s, n);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        snprintf(err, len, "not a JSON object");
        return -1;
    }
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(o, "rate_per_s"),
                *burst = cJSON_GetObjectItemCaseSensitive(o, "burst"),
                *conc = cJSON_GetObjectItemCaseSensitive(o, "concurrency");
    int rc = 0;
    if (rate && !cJSON_IsNull(rate)) {
        if (!cJSON_IsNumber(rate) ||
            rate->valuedouble < LIMIT_RATE_MIN * 0.999999 ||
            rate->valuedouble > LIMIT_RATE_MAX) {
            snprintf(err, len, "rate_per_s must be a number from 1/3600 to "
                     "%.0f", LIMIT_RATE_MAX);
            rc = -1;
        } else {
            out->rate_per_s = rate->valuedouble;
        }
    }
    if (rc == 0 && burst && !cJSON_IsNull(burst)) {
        if (!cJSON_IsNumber(burst) || burst->valuedouble < 1 ||
            burst->valuedouble > LIMIT_BURST_MAX) {
            snprintf(err, len, "burst must be a number from 1 to %.0f",
                     LIMIT_BURST_MAX);
            rc = -1;
        } else {
            out->burst = burst->valuedouble;
        }
    }
    if (rc == 0 && conc && !cJSON_IsNull(conc)) {
        if (!cJSON_IsNumber(conc) || conc->valuedouble < 1 ||
            conc->valuedouble > (double)LIMIT_CONC_MAX ||
            conc->valuedouble != floor(conc->valuedouble)) {
            snprintf(err, len, "concurrency must be a whole number from 1 "
                     "to %ld", LIMIT_CONC_MAX);
            rc = -1;
        } else {
            out->concurrency = (long)conc->valuedouble;
        }
    }
    cJSON_Delete(o);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}

void limit_format_rate(double per_s, char *out, size_t len)
{
    static const struct {
        const char *unit;
        double seconds;
    } units[] = {{"s", 1}, {"m", 60}, {"h", 3600}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        double c = per_s * units[i].seconds;
        if (fabs(c - floor(c + 0.5)) < 1e-6 * (c > 1 ? c : 1) && c >= 0.5) {
            snprintf(out, len, "%.0f/%s", floor(c + 0.5), units[i].unit);
            return;
        }
    }
    snprintf(out, len, "%.6g/s", per_s);
}

double limit_burst(const limit_t *l)
{
    if (l->burst >= 1)
        return l->burst;
    double b = l->rate_per_s * 0.1;
    return b < 1 ? 1 : b;
}

void limit_describe(const limit_t *l, char *out, size_t len)
{
    char rate[32];
    size_t used = 0;
    out[0] = '\0';
    if (l->rate_per_s > 0) {
        limit_format_rate(l->rate_per_s, rate, sizeof rate);
        int n = snprintf(out, len, "rate %s (burst %.6g%s)", rate,
                         limit_burst(l), l->burst >= 1 ? "" : ", default");
        used = n > 0 && (size_t)n < len ? (size_t)n : len - 1;
    }
    if (l->concurrency > 0)
        snprintf(out + used, len - used, "%sconcurrency %ld",
                 used ? ", " : "", l->concurrency);
    if (out[0] == '\0')
        snprintf(out, len, "none");
}

int64_t limit_tolerance_ms(double rate_per_s, double burst)
{
    if (!(rate_per_s > 0) || burst <= 1)
        return 0;
    return (int64_t)floor((burst - 1) * 1000.0 / rate_per_s);
}

double limit_reserve(double now_ms, double tat_ms, double rate_per_s,
                     size_t k, int64_t *slots)
{
    double base = tat_ms > now_ms ? tat_ms : now_ms;
    double step = 1000.0 / rate_per_s;
    for (size_t i = 0; i < k; i++)
        slots[i] = (int64_t)ceil(base + (double)i * step);
    return base + (double)k * step;
}

uint32_t limit_deny_backoff_ms(uint32_t n, uint64_t *rng)
{
    uint32_t d = 100;
    for (uint32_t i = 0; i < n && d < 2000; i++)
        d *= 2;
    if (d > 2000)
        d = 2000;
    /* xorshift64*, as job_backoff_ms */
    uint64_t x = *rng ? *rng : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *rng = x;
    uint32_t spread = d / 2; /* +-25% */
    return d - d / 4 + (uint32_t)(((x * 0x2545f4914f6cdd1dull) >> 11) %
                                  (spread + 1));
}
