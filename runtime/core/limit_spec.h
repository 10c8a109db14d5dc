/*
 * limit_spec.h - the pure parts of the fleet's limits per (queue, job)
 * (docs/flow-control.md, "Rate limits" and "Concurrency limits"): parsing
 * rates such as "100/s" and the `jobrt run --rate JOB=R` / `--limit
 * JOB=N` flags, reading and writing a limit's JSON as the queue's :limits
 * hash holds it, the slot arithmetic of the rate limiter (GCRA, virtual
 * scheduling; the same sums as the LIMIT_RESERVE script) and the backoff
 * of a job denied a concurrency slot.
 */
#ifndef JOBRT_LIMIT_SPEC_H
#define JOBRT_LIMIT_SPEC_H

#include <stddef.h>
#include <stdint.h>

/* Rates are 1/h to LIMIT_RATE_MAX/s; concurrency 1 to LIMIT_CONC_MAX. */
#define LIMIT_RATE_MIN (1.0 / 3600.0)
#define LIMIT_RATE_MAX 100000.0
#define LIMIT_CONC_MAX 1000000L
#define LIMIT_BURST_MAX 100000.0
/* The most bytes of one limit's JSON a worker reads. */
#define LIMIT_JSON_MAX 512

/* One job's limits on one queue; 0 is "none" for each. */
typedef struct {
    double rate_per_s; /* jobs started per second, fleet-wide */
    double burst;      /* how many may start at once after a quiet time
                          (0: the default, limit_burst) */
    long concurrency;  /* jobs running at once, fleet-wide */
} limit_t;

/* "100/s", "30/m", "2.5/h" (also "100/sec", "/min", "/hour"): *per_s is
 * the rate per second. Returns 0, or -1 with err saying why. */
int limit_parse_rate(const char *s, double *per_s, char *err, size_t len);
/* A flag's "JOB=VALUE": job copied to job[job_len] (a valid job name),
 * *value points into s after the '='. Returns 0 or -1 with err set. */
int limit_split_flag(const char *s, char *job, size_t job_len,
                     const char **value, char *err, size_t len);
/* A concurrency "4": 1..LIMIT_CONC_MAX. Returns 0 or -1 with err set. */
int limit_parse_concurrency(const char *s, long *n, char *err, size_t len);

/* The limit JSON {"rate_per_s", "burst", "concurrency"} (each optional,
 * unknown fields ignored). Returns 0, or -1 with err set when it is not
 * such an object or a value is out of range. */
int limit_parse_json(const char *s, size_t n, limit_t *out, char *err,
                     size_t len);
/* "100/s" for 100, "30/m" for 0.5, "2/h" for 1/1800: the largest unit
 * that gives a whole number, else per second with decimals. */
void limit_format_rate(double per_s, char *out, size_t len);
/* One line for people: "rate 100/s (burst 10), concurrency 4" or
 * "none". */
void limit_describe(const limit_t *l, char *out, size_t len);

/* The burst in force: the given one, or rate * 0.1 s, at least 1. */
double limit_burst(const limit_t *l);
/* How far ahead of now a slot may be and still start now: (burst - 1)
 * emission intervals, in ms. */
int64_t limit_tolerance_ms(double rate_per_s, double burst);
/* Reserves k consecutive slots: slot i is max(now, tat) + i * 1000/rate
 * (ms, fractional); returns the new theoretical arrival time, the one
 * after the last slot. slots[i] gets slot i rounded up to a whole ms. */
double limit_reserve(double now_ms, double tat_ms, double rate_per_s,
                     size_t k, int64_t *slots);
/* The delay before a job denied a concurrency slot n times before (0:
 * the first denial) asks again: 100 ms doubling to 2 s, then +-25%
 * jitter from *rng. */
uint32_t limit_deny_backoff_ms(uint32_t n, uint64_t *rng);

#endif
