/*
 * queue_internal.h - the state of one Redis Streams backend, shared by the
 * files that implement it (not for use outside runtime/queue/):
 *
 *   queue.c     create, start, destroy; whether everything is confirmed
 *   outbox.c    the writer connection: scripts loaded (retried with
 *               backoff), ops sent, resent after a lost reply, retried
 *               after an error reply
 *   reader.c    the reader connection: XREADGROUP, re-reading our own
 *               pending entries after a reconnect
 *   ops.c       the job state changes the worker asks for: complete
 *               (batched), requeue, dead-letter, release at shutdown
 *   lost.c      settling the entries of a worker process that died (the
 *               supervisor's one op, in writer-only mode)
 *   periodic.c  the tick: promote delayed jobs, reclaim expired leases,
 *               renew ours, poll cancellations, trim the stream; calls
 *               fleet_tick.c
 *   pause.c     `jobrt pause` and `jobrt disable`: polling the queue's
 *               paused flag and its disabled jobs
 *   fleet_tick.c  the fleet: park and unpark jobs, expire parked ones, the
 *               registry heartbeat, removing dead consumers, `jobrt
 *               reload` requests and replies
 *   schedule_tick.c  recurring jobs (`jobrt schedule`): polling the due
 *               schedules and firing each tick once for the whole fleet
 *   progress_key.c  running jobs' progress keys (fire and forget)
 *   events.c    lifecycle events: polling the setting, batching started
 *               events (the scripts write the others)
 *   limits.c    the fleet's limits per (queue, job): polling the :limits
 *               hash, writing --rate/--limit, rate reservations,
 *               concurrency slots (acquire, renew, release)
 *
 * All of it runs on the loop thread.
 */
#ifndef JOBRT_QUEUE_INTERNAL_H
#define JOBRT_QUEUE_INTERNAL_H

#include <stdint.h>

#include "core/strlist.h"
#include "queue/queue.h"
#include "queue/scripts.h"
#include "queue/sweep.h"

#define MAX_FETCH 1000 /* entries per XREADGROUP */
#define MAX_BATCH 256  /* completions per XACK / COMPLETE call */
#define OP_MAX_TRIES 20
#define OP_XACK (-1)   /* an op that is a plain XACK, not a script */
#define OP_MULTI (-2)  /* commands in one MULTI/EXEC: argv is, per
                          command, its argc in decimal then its args */

/* The kinds of periodic call (periodic.c, fleet_tick.c), for their error
 * state. */
enum { PERIODIC_PROMOTE, PERIODIC_RECLAIM, PERIODIC_TRIM, PERIODIC_CANCELS,
       PERIODIC_HEARTBEAT, PERIODIC_QUEUES, PERIODIC_UNPARK,
       PERIODIC_PARK_EXPIRE, PERIODIC_CLEANUP, PERIODIC_RELOAD,
       PERIODIC_PAUSE, PERIODIC_DISABLED, PERIODIC_SCHEDULE,
       PERIODIC_EVENTS, PERIODIC_LIMITS, PERIODIC_LIMIT_CALLS,
       PERIODIC_KINDS };

/* Whether the queue is paused (pause.c): unknown until the first read of
 * keys.paused is answered, and until then nothing new is fetched. */
enum { PAUSE_UNKNOWN, PAUSE_RUNNING, PAUSE_PAUSED };

/* One write to Redis: EVALSHA <script> followed by args, or XACK <args>.
 * Allocated in one block with its arguments. */
typedef struct op {
    struct op *next;
    struct queue_redis *q;
    int script;
    int tries;
    int argc;
    const char **argv;
    size_t *lens;
    char job_id[ENVELOPE_MAX_ID + 1]; /* for log lines */
    char part_error[256]; /* OP_MULTI: the first error a command in the
                             transaction got (EXEC then answers only
                             EXECABORT) */
} op_t;

typedef struct {
    op_t *head, *tail;
} op_fifo_t;

struct queue_redis {
    uv_loop_t *loop;
    queue_redis_opts_t o;
    queue_callbacks_t cb;
    queue_keys_t keys;
    char failure_ttl[24], dlq_max_len[24];
    redis_conn_t reader, writer;
    /* --cluster: the namespace's queue index (keys.queues) is in a slot
     * of its own, maybe on another primary: its ZADD goes here */
    redis_conn_t index;

    /* Fully up once: both connections up, the consumer group checked,
     * every script loaded, and a read and a script call answered. Until then an error retrying cannot fix is
     * fatal (cb.on_fatal); after, it is a state the log reports once. */
    int started;
    int writer_only;      /* queue_redis_start_writer_only: no reader, no
                             tick; started once the writer is ready and a
                             script call was answered */
    int fatal;            /* cb.on_fatal was (to be) called */
    char fatal_line[1536];
    uv_timer_t fatal_timer; /* calls cb.on_fatal outside hiredis */
    int group_checked;    /* XGROUP CREATE answered OK or BUSYGROUP */
    int read_ok;          /* an XREADGROUP was answered without error */
    int write_ok;         /* an EVALSHA was answered without error (an ACL
                             may allow SCRIPT LOAD and deny EVALSHA) */

    /* writer: scripts, loaded in rounds of SCRIPT_COUNT SCRIPT LOADs; the
     * writer is ready (ops go out, the reader fetches) only with all */
    char sha[SCRIPT_COUNT][48];
    int scripts_sent;     /* SCRIPT LOADs of this round */
    int scripts_replies;  /* replies to them so far */
    int scripts_ready;
    char script_error[256];    /* the round's first error, "" if none */
    int script_trouble_logged; /* the "not fetching" line is out */
    int64_t script_failing_since;
    int64_t script_backoff_ms;
    uv_timer_t script_retry_timer; /* after a failed round */

    /* reader */
    int fetching;         /* enabled */
    int read_outstanding;
    size_t read_count;    /* the COUNT of the outstanding read */
    int history;          /* re-reading our own pending entries */
    char history_cursor[48];
    long long reader_id;  /* CLIENT ID of the reader, for CLIENT UNBLOCK */
    strview_t *fv;        /* reusable field views */
    size_t fv_cap;
    uv_timer_t fetch_retry_timer; /* after an error reply to a read */
    char read_error[256]; /* the last read error logged, "" while fine */
    int64_t read_failing_since;

    /* outbox */
    /* Ops not yet sent: those that came back (reply lost, NOSCRIPT, an
     * error reply) go out again first, in the order they were first
     * sent, then the new ones in the order they were submitted. */
    op_fifo_t returned, fresh;
    int op_hold;               /* an op failed: nothing is sent until the
                                  retry timer fires */
    size_t ops_inflight;       /* sent, reply not yet seen */
    uv_timer_t op_retry_timer; /* after an error reply to an op */
    const char **send_argv;    /* scratch for EVALSHA argv */
    size_t *send_lens;
    size_t send_cap;
    strlist_t args;            /* the op being built */

    /* the completion batch being built */
    strlist_t b_ids, b_recs; /* b_recs: job id, record pairs */
    strlist_t b_builds;      /* build key, json pairs, each once */
    int64_t records_start;   /* the record bucket last written (s) */

    /* periodic work */
    uv_timer_t tick_timer;
    int64_t next_promote, next_reclaim, next_heartbeat, next_cancel_poll;
    int promote_outstanding, reclaim_outstanding, cancel_outstanding;
    double cancel_seen;        /* score of the newest cancellation seen */
    size_t cancel_seen_n;      /* ids seen with that score (0: none yet) */
    const char **lease_buf;
    /* the error each kind of periodic call last logged ("" while fine),
     * so a failure that repeats every tick is one line, not one a tick */
    char periodic_error[PERIODIC_KINDS][160];

    queue_health_t health; /* queue_redis_health, queue_write_confirmed */
    int release_deferred;  /* queue_redis_release_pending waits for the
                              outstanding read (ops.c) */

    stream_sweep_t sweep;      /* acked ids no trim has passed yet */
    int64_t next_trim;
    int trim_outstanding;
    char *stale_buf;           /* ids handed to TRIM for deletion */
    const char **trim_argv;
    size_t stale_cap;          /* ids both of them have room for */

    /* fleet (fleet_tick.c) */
    strlist_t served;          /* what we serve: job, min, max (decimal)
                                  per pair, as UNPARK takes them */
    size_t n_served;           /* pairs */
    int64_t next_unpark, next_park_expire, next_registry, next_cleanup,
        next_reload_poll;
    char self_pid[16], self_host[256]; /* as the worker's record says */
    char other_worker[320]; /* the other process last seen writing our
                               registry record, "" if none */
    int unpark_outstanding, park_expire_outstanding, registry_outstanding,
        cleanup_outstanding, reload_outstanding;
    int unpark_first;          /* the reader waits: an unpark goes first */
    long long unpark_left;     /* parked for us, as UNPARK last said */
    unsigned unpark_round;     /* which served pair UNPARK starts with */
    int reload_polled;         /* keys.reload was read once */
    char *reload_seen;         /* its value then or since (NULL: none) */
    int released;              /* RELEASE sent: no more heartbeats */

    /* pause.c */
    int pause_state;           /* PAUSE_* (0: unknown) */
    int pause_outstanding;     /* replies to come: GET paused, HGETALL
                                  disabled */
    strlist_t disabled;        /* job names `jobrt disable` holds, as last
                                  read */
    int disabled_known;        /* read once */
    int64_t next_pause_poll;
    /* progress_key.c: the last error a progress write logged, "" while
     * fine */
    char progress_error[160];

    /* schedule_tick.c */
    struct sched_entry *sched;  /* parsed definitions, by name (a cache:
                                   at most SCHED_CACHE_MAX) */
    size_t n_sched;
    int sched_outstanding;      /* replies to come: the due poll, fires */
    int sched_again;            /* a fire left ticks due: poll again at
                                   the next tick */
    int64_t next_sched_poll;
    int64_t sched_missed_ms;    /* SCHEDULE_MISSED_MS, or
                                   JOBRT_SCHEDULE_MISSED_MS (tests) */
    unsigned sched_bad;         /* due entries of the last poll that
                                   cannot fire (bad definitions): the next
                                   poll reads that many more */
    uint64_t sched_round;       /* polls so far: the cache's clock */

    /* limits.c */
    struct queue_limit_row *limit_rows; /* the :limits hash as last read */
    size_t n_limit_rows;
    int limits_known;          /* read once (or found unreadable) */
    int limits_outstanding;    /* replies to come: flag writes, the poll */
    int limit_flags_written;   /* --rate/--limit are in the hash */
    int limit_flags_sending;   /* LIMIT_SETs of them not yet answered */
    int limit_flags_failed;    /* one of those failed */
    int64_t next_limits_poll;
    strlist_t rel_keys, rel_ids; /* concurrency slots to give back */
    strlist_t renew_args;      /* scratch of the renewal */

    int closing;
    int handles_open;

    /* events.c: lifecycle events, as keys.events_config last said */
    long events_max_len;        /* 0: off */
    char events_max_len_s[24];  /* the same, as the scripts take it */
    int events_outstanding;     /* the poll's reply is to come */
    int events_bad_logged;      /* the setting is not a number: said */
    int64_t next_events_poll;
    strlist_t ev_started;       /* started events not sent yet: 4 strings
                                   each (job id, job, v, attempt) */
    strlist_t ev_completed;     /* completed events of the batch being
                                   built, the same way */
    buf_t ev_json;              /* one entry's "jobs" array, reused */
    /* --wait-replicas (outbox.c) */
    int wait_short;             /* the last WAIT fell short: said so */
    /* one WAIT at a time: while it blocks the writer, rounds sent after
     * it only mark wait_again, and one WAIT follows its reply */
    int wait_outstanding, wait_again;
    unsigned long long waits_short; /* WAITs that fell short, all told */
};

/* Tells the worker to re-check its state (something was confirmed, or a
 * connection changed). */
void queue_progress(queue_redis_t *q);
/* Marks the queue started once it is fully up (see `started`). */
void queue_check_started(queue_redis_t *q);
/* An error retrying cannot fix, before the queue ever started: reports
 * line (target, step, Redis's error) once through cb.on_fatal and stops
 * fetching. Returns 1 if it did; 0 when the queue has started (or nobody
 * listens), and the caller treats the error as a state to retry. The
 * caller must not touch the connections after a 1: the worker may be
 * destroying the queue. */
int queue_fatal(queue_redis_t *q, const char *line);

/* outbox.c */
void outbox_writer_up(redis_conn_t *c, void *arg);
void outbox_writer_down(redis_conn_t *c, void *arg);
/* Appends one argument to the op being built (q->args). */
void outbox_arg(queue_redis_t *q, const char *s);
void outbox_arg_len(queue_redis_t *q, const char *p, size_t len);
/* Turns the arguments built so far into an op at the tail of the outbox
 * (sent at the next outbox_pump). Returns 0, or -1 when out of memory:
 * then nothing is queued and the entry stays pending in Redis, to be
 * redelivered. */
int outbox_submit(queue_redis_t *q, int script, const char *job_id);
/* An op sent earlier goes out again (its reply was lost, NOSCRIPT, or an
 * error to retry). Replies, and the NULL replies of a lost connection,
 * come back in the order the ops were sent, so appending keeps that
 * order: a COMPLETE sent before a RELEASE is resent before it too. */
void outbox_resend(queue_redis_t *q, op_t *op);
/* The FIFO whose first op goes out next: ops to resend, then new ones. */
op_fifo_t *outbox_next(queue_redis_t *q);
op_t *fifo_pop(op_fifo_t *f);
/* Sends what the outbox holds, if the writer is up with scripts loaded
 * and no failed op waits for its retry. */
void outbox_pump(queue_redis_t *q);
/* Writer up, scripts loaded, not closing. */
int outbox_ready(const queue_redis_t *q);
int outbox_empty(const queue_redis_t *q);
void outbox_free(queue_redis_t *q);

/* ops.c: logs what RELEASE (queue_redis_release_pending) did. */
void ops_release_replied(queue_redis_t *q, const redisReply *r);
/* lost.c: logs what WORKER_LOST (queue_redis_worker_lost) did. */
void lost_replied(queue_redis_t *q, const redisReply *r);

/* reader.c */
void reader_up(redis_conn_t *c, void *arg);
void reader_down(redis_conn_t *c, void *arg);
/* Issues the next XREADGROUP if fetching, connected, the writer is ready
 * (a worker that cannot write must not take jobs) and there is room. */
void reader_fetch(queue_redis_t *q);
/* Ends a blocked XREADGROUP early (CLIENT UNBLOCK through the writer). */
void reader_unblock(queue_redis_t *q);
/* Hands one entry of an XREADGROUP/XCLAIM reply to the worker. */
void reader_handle_entry(queue_redis_t *q, const redisReply *e,
                         uint32_t deliveries);

/* periodic.c */
void periodic_start(queue_redis_t *q);
void periodic_free(queue_redis_t *q);
/* Whether a periodic call of this kind failed (r NULL or an error reply),
 * logging an error once per change and once more when it works again. */
int periodic_failed(queue_redis_t *q, const redisReply *r, int kind,
                    const char *what);

/* fleet_tick.c */
/* The fleet's share of the tick (now: monotonic ms); the writer is ready. */
void queue_fleet_tick(queue_redis_t *q, int64_t now);
/* Called by reader_fetch before it reads: returns 1 when an unpark goes
 * first (a blocked read was ended for it, or jobs are parked for us): it
 * is sent or in flight, and the reader reads after its reply. */
int queue_fleet_unpark_first(queue_redis_t *q);
void queue_fleet_free(queue_redis_t *q);

/* pause.c */
/* Reads keys.paused every PAUSE_POLL_MS (the writer is ready). */
void queue_pause_tick(queue_redis_t *q, int64_t now);
/* Nothing new may be fetched: paused, or not known yet. */
int queue_pause_holds(const queue_redis_t *q);
/* Whether job name[0..len) is disabled, as last read. */
int queue_job_disabled(const queue_redis_t *q, const char *name, size_t len);
void queue_pause_free(queue_redis_t *q);

/* events.c */
/* Every EVENTS_POLL_MS: reads keys.events_config; and sends started
 * events no completion batch took (the writer is ready). */
void queue_events_tick(queue_redis_t *q, int64_t now);
int queue_events_on(const queue_redis_t *q);
void queue_events_free(queue_redis_t *q);
/* ops.c: sends the started events batched so far, with the completions
 * batched so far, as one COMPLETE op (nothing when there are none). Every
 * op that writes an event calls it before building its own arguments. */
void ops_flush_started(queue_redis_t *q);
/* limits.c */
/* Every LIMITS_POLL_MS: writes the --rate/--limit flags (until done),
 * then reads keys.limits. */
void queue_limits_tick(queue_redis_t *q, int64_t now);
/* With the lease renewal: the held concurrency slots' leases. */
void queue_limits_renew(queue_redis_t *q);
/* From queue_redis_flush: the batched releases, as one op. */
void queue_limits_flush(queue_redis_t *q);
void queue_limits_free(queue_redis_t *q);

/* schedule_tick.c */
/* Every SCHEDULE_POLL_MS: the due schedules, and a fire for each. */
void queue_schedule_tick(queue_redis_t *q, int64_t now);
void queue_schedule_free(queue_redis_t *q);

/* queue.c: Redis confirmed a write (health.write_ms). After a gap in
 * confirmations (Redis stalled: a pause, a slow script, a partition), a
 * read sent before or during it was held up like everything else: its
 * clock starts again now, so the fetch loop is not judged stalled for
 * Redis's stall once Redis answers again. */
void queue_write_confirmed(queue_redis_t *q);

/* ops.c: the release of everything pending for this consumer, sent now
 * (queue_redis_release_pending defers it past an outstanding read). */
void queue_release_now(queue_redis_t *q);

#endif
