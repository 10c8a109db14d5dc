/*
 * queue.h - the Redis Streams queue backend, on the libuv loop.
 *
 * Two connections: a reader that blocks in XREADGROUP (COUNT bounded by the
 * worker's free slots: backpressure), and a writer for everything else, so
 * acks never wait behind a blocked read. Writes are "ops" (Lua scripts, see
 * scripts.h) kept in an outbox until Redis confirms them: an op whose
 * reply is lost in a disconnect is sent again after reconnecting, and every
 * op is idempotent. Completions are batched: one XACK per batch (or one
 * script call when result records are written too). Acked entries are
 * removed by a periodic trim below the oldest unfinished entry rather than
 * one XDEL each (see sweep.h). The reader fetches only while the writer
 * is ready (connected, every script loaded): a worker that cannot write
 * takes no job it could not ack, renew or release. For the fleet it
 * keeps a registry record of the worker, parks jobs no handler here
 * serves (and takes parked ones it serves), expires old parked jobs,
 * removes dead consumers from the group and polls `jobrt reload`
 * requests. A supervisor, which takes no jobs, starts the writer alone
 * (queue_redis_start_writer_only) to settle the jobs of a worker process
 * that died (queue_redis_worker_lost). The files that implement it are
 * listed in queue_internal.h.
 *
 * All functions run on the loop thread.
 */
#ifndef JOBRT_QUEUE_REDIS_H
#define JOBRT_QUEUE_REDIS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/envelope.h"
#include "core/limit_spec.h"
#include "queue/keys.h"
#include "queue/redis_conn.h"
#include "queue/scripts.h"

typedef struct queue_redis queue_redis_t;

typedef struct {
    /* An entry fetched from the stream: n field/value views, borrowed for
     * the duration of the call. */
    void (*on_entry)(void *arg, const char *stream_id, const strview_t *fv,
                     size_t n, uint32_t deliveries);
    /* How many more entries the worker can take now. */
    size_t (*capacity)(void *arg);
    /* Whether stream_id is already running here (history re-reads). */
    int (*is_inflight)(void *arg, const char *stream_id);
    /* Something was confirmed or the connection changed: re-check state. */
    void (*on_progress)(void *arg);
    /* `jobrt cancel` was called for job_id (polled from Redis). */
    void (*on_cancelled)(void *arg, const char *job_id);
    /* Fills ids with the stream ids whose leases to renew; returns count. */
    size_t (*lease_ids)(void *arg, const char **ids, size_t max);
    /* An error retrying cannot fix (wrong password, unknown db, missing
     * ACL permission) before the queue was ever fully up: line names the
     * target, the step and Redis's error, never the password. Called once;
     * nothing was fetched; the worker should log it and stop. May be NULL:
     * then such errors are retried like any other. */
    void (*on_fatal)(void *arg, const char *line);
    void *arg;
    /* The fleet's callbacks come after arg, so initializers that list the
     * ones above in order still work; each may be NULL. */
    /* This worker's registry record, a JSON object, valid until the next
     * call; *len is its length. NULL callback: no registry record (the
     * worker is not listed as live). Park expiry reads the "serves"
     * arrays of its "plugins" ([{"job", "min", "max"}], fleet/registry.h)
     * to tell schema_unsupported from no_handler. */
    const char *(*heartbeat_record)(void *arg, size_t *len);
    /* A `jobrt reload` request (the value of keys.reload changed since
     * the queue first read it); answer with queue_redis_reload_reply. */
    void (*on_reload_request)(void *arg, const char *request_id);
    /* For a worker with several queues (exec/fetch_plan.h); both NULL or
     * both set. Before a read: its COUNT (0: no read now) and whether it
     * may block (else it is sent without BLOCK). After it: asked as
     * granted, got entries handed to on_entry; sent 0 when it was never
     * sent or its answer was lost (the grant only goes back). NULL: reads
     * ask capacity() and block. */
    size_t (*read_grant)(void *arg, int *block);
    void (*read_done)(void *arg, size_t asked, size_t got, int sent);
    /* The concurrency slots this worker holds on the queue (limits.c):
     * fills jobs[i] (job name) and ids[i] (stream id) of each, returns
     * how many; renewed with the leases. May be NULL: none. */
    size_t (*held_limits)(void *arg, const char **jobs, const char **ids,
                          size_t max);
} queue_callbacks_t;

/* A `jobrt run --rate JOB=R` or `--limit JOB=N` value, written to the
 * queue's :limits hash before the first read (rate 0 / concurrency 0:
 * that one not given). */
typedef struct {
    const char *job;
    double rate_per_s;
    long concurrency;
} queue_limit_flag_t;

typedef struct {
    const redis_target_t *target;
    const char *ns, *queue, *group, *consumer;
    int64_t result_ttl_s;  /* 0 = do not record successes */
    int64_t failure_ttl_s; /* 0 = do not record failures */
    long dlq_max_len;
    int block_ms;
    int64_t lease_ms;       /* a silent worker's entries are reclaimed after */
    long max_deliveries;    /* then dead-lettered as poison */
    long slots;             /* jobs this worker holds at most (unused
                               since RECLAIM asks consumer by consumer) */
    int64_t park_ttl_ms;    /* parked entries idle longer are
                               dead-lettered; 0 = this worker never parks
                               (and expires nothing) */
    const queue_limit_flag_t *limit_flags; /* borrowed for q's life */
    size_t n_limit_flags;
    /* --wait-replicas: after each round of writes the writer sends WAIT
     * wait_replicas wait_timeout_ms, and logs (once per change) when the
     * replicas fall short; 0: no WAIT */
    int wait_replicas;
    int64_t wait_timeout_ms;
    /* --cluster: an earlier queue of the same process whose connection to
     * the namespace's queue index this one shares (one per process, not
     * one per queue); it must outlive this one. NULL: its own. */
    queue_redis_t *index_of;
} queue_redis_opts_t;

/* The registry: every QUEUE_HEARTBEAT_MS a worker writes its record
 * (keys.worker_prefix + consumer, expiring after QUEUE_WORKER_TTL_MS) and
 * its score in keys.workers, the Redis server's clock in ms. A worker is
 * live while its score >= server now - QUEUE_WORKER_TTL_MS. (keys.h:
 * readers of the registry use the same two numbers.) */
#define QUEUE_HEARTBEAT_MS FLEET_HEARTBEAT_MS
#define QUEUE_WORKER_TTL_MS FLEET_WORKER_TTL_MS

/* A (job, schema range) this worker serves, for unparking. */
typedef struct {
    const char *job;
    uint32_t min, max;
} queue_served_t;

queue_redis_t *queue_redis_create(uv_loop_t *loop,
                                  const queue_redis_opts_t *opts,
                                  const queue_callbacks_t *cb, char *err,
                                  size_t err_len);
void queue_redis_start(queue_redis_t *q);
/* Instead of queue_redis_start, for a process that takes no jobs (the
 * supervisor): starts the writer connection only. Ops submitted (such as
 * queue_redis_worker_lost) are sent once it is up with every script
 * loaded and sent again after a reconnect, as ever; queue_redis_idle
 * says when all are confirmed. There is no reader and no tick: nothing is
 * fetched, promoted, reclaimed, renewed, trimmed or polled, no registry
 * record is written unless asked (queue_redis_heartbeat_now). Of the
 * callbacks only on_progress and on_fatal are called (cb may be NULL at
 * create); the queue counts as started once a script call was answered.
 * The options it uses: target, ns, queue, group, consumer (dlq_worker of
 * what it dead-letters itself), lease_ms, max_deliveries, failure_ttl_s,
 * dlq_max_len. */
void queue_redis_start_writer_only(queue_redis_t *q);

/* Capacity may have grown: fetch if no read is outstanding. */
void queue_redis_poke(queue_redis_t *q);

/* The build table entry a succeeded record names (exec/outcome.h). */
typedef struct {
    const char *key; /* 16 hex digits */
    const char *json;
    size_t json_len;
} queue_build_t;

/* Batches an ack of stream_id with an optional succeeded record (the
 * compact form, exec/outcome.h) naming build (NULL: none). The batch
 * goes out at the next queue_redis_flush(), which writes the records
 * into the queue's current record bucket (queue/records.h). */
void queue_redis_complete(queue_redis_t *q, const char *stream_id,
                          const char *job_id, const char *record,
                          size_t record_len, const queue_build_t *build);
/* Lifecycle events (queue/events.h): a job started, or (called right
 * before its queue_redis_complete) succeeded. With events on, the event is batched
 * with the job's id, name, version and attempt as given (no script looks
 * the entry up) and written with the next completion batch; a started
 * event no batch takes goes out at the next tick (50 ms), and always
 * before any later event of the same queue's jobs. Events off: nothing. */
void queue_redis_started(queue_redis_t *q, const char *job_id,
                         const char *job, size_t job_len, uint32_t version,
                         uint32_t attempt);
void queue_redis_completed(queue_redis_t *q, const char *job_id,
                           const char *job, size_t job_len, uint32_t version,
                           uint32_t attempt);
/* Puts an entry back, atomically with its ack: at the tail of the stream,
 * or into the delayed set for delay_ms (from now, server clock) or until
 * due_ms (absolute). fv/n are the entry's fields as fetched; the new
 * entry has them with `attempt` set (0 keeps the entry's), `last_error`
 * set (NULL or "" keeps the entry's) and `id` added when missing. With
 * lifecycle events on, a requeue with a new attempt (not 0) is a retry:
 * it writes a `retried` event; one that keeps the attempt (a give-back,
 * shutdown, not_before) writes none. */
void queue_redis_requeue(queue_redis_t *q, const char *stream_id,
                         const char *job_id, const strview_t *fv, size_t n,
                         uint32_t attempt, const char *error,
                         uint32_t delay_ms, int64_t due_ms);
/* Hands an entry back that this worker cannot take now (no free slot, it
 * stopped taking jobs): delivered once, it is re-added at the tail at once
 * (queue_redis_requeue, attempt kept); delivered more, it stays where it
 * is, its earned deliveries kept, for any worker's next reclaim
 * (SCRIPT_GIVE_BACK), so no crasher is forgiven a delivery. */
void queue_redis_give_back(queue_redis_t *q, const char *stream_id,
                           const char *job_id, const strview_t *fv, size_t n,
                           uint32_t deliveries);
/* Moves an entry, intact, to the dead-letter stream with a reason code. */
void queue_redis_dead_letter(queue_redis_t *q, const char *stream_id,
                             const char *job_id, const char *reason,
                             const char *error, const char *record,
                             size_t record_len);
void queue_redis_flush(queue_redis_t *q);

/* Parks an entry no handler here serves: it stays in the stream, pending
 * to the pseudo-consumer QUEUE_PARKED_PREFIX "<job>:v<version>", with its
 * delivery count lowered by one (the handler did not run), until a worker
 * that serves the pair takes it or it expires (park_ttl_ms). An op, like
 * a dead letter: the worker lets go of the entry now. */
void queue_redis_park(queue_redis_t *q, const char *stream_id,
                      const char *job_id, const char *job, uint32_t version,
                      const char *reason, const char *error);
/* At most this many (job, version) pairs are parked on a queue at once: a
 * job that would open one more is dead-lettered at once with reason and
 * error (job names and versions come from producers). */
#define QUEUE_PARKED_PAIRS_MAX 1024
/* What this worker serves (copied; n = 0 serves nothing): parked entries
 * of these pairs are claimed, up to capacity(), every 500 ms and soon
 * after this call, and handed to cb.on_entry. Returns 0, or -1 when out of
 * memory or an entry is invalid (the previous list stays). */
int queue_redis_set_served(queue_redis_t *q, const queue_served_t *s,
                           size_t n);
/* Answers `jobrt reload` request request_id with this worker's outcome
 * (JSON): written to keys.reload_prefix + request_id, field consumer,
 * kept 10 minutes. An op: resent after a reconnect. */
void queue_redis_reload_reply(queue_redis_t *q, const char *request_id,
                              const char *json, size_t len);
/* A running job's progress (exec/progress.h): sets keys.progress_prefix +
 * job_id to json[0..len), expiring after ttl_ms, or deletes it. Plain
 * commands on the writer, fire and forget: not ops (never resent or
 * waited for), an error reply is logged once. Return 0 when sent, -1 when
 * not (the writer is not ready, or the key would be too long). */
int queue_redis_progress_set(queue_redis_t *q, const char *job_id,
                             const char *json, size_t len, int64_t ttl_ms);
int queue_redis_progress_del(queue_redis_t *q, const char *job_id);
/* The registry record changed (a reload): write it now, ahead of what is
 * sent after this call (a reload reply), rather than at the next
 * heartbeat. */
void queue_redis_heartbeat_now(queue_redis_t *q);

/* What a worker process that died was doing with one job, as its
 * supervisor read it from the worker's board. */
typedef enum {
    LOST_CHARGE,  /* its handler crashed (or the kill was not its own:
                     every job running then): it counts as a delivery */
    LOST_TIMEOUT  /* its handler ran past its deadline and the worker was
                     killed for it: it counts as an attempt */
} lost_kind_t;

typedef struct {
    const char *stream_id;   /* the entry */
    const char *job_id;      /* for the record key and log lines (NULL or
                                "": the stream id) */
    lost_kind_t kind;
    const char *error;       /* one line, e.g. "handler crashed with
                                SIGSEGV (...) in plugin P build B" */
    const char *record;      /* outcome record JSON written (failure ttl)
                                if the job ends dead; may be NULL/"" */
    size_t record_len;
    uint32_t next_attempt;   /* LOST_TIMEOUT: attempt + 1, or 0 when its
                                attempts are used up */
    uint32_t retry_delay_ms; /* LOST_TIMEOUT with next_attempt: backoff
                                before it */
} queue_lost_job_t;

/* Settles the entries of consumer, a worker process that died (pid and
 * host: what its registry record names; pid <= 0 or host NULL: unknown,
 * the record is left to expire), in one atomic and idempotent script
 * (SCRIPT_WORKER_LOST, scripts.c). Every entry pending for consumer that
 * jobs does not list goes back to the tail of the stream at once, fields
 * intact, not charged a delivery. Of the listed ones, each only if still
 * pending for consumer (another worker may have taken it over):
 * LOST_CHARGE at --max-deliveries is dead-lettered as poison with error
 * (and record), below it stays pending, charged, reclaimable at once by
 * any live worker's RECLAIM; LOST_TIMEOUT is re-added for next_attempt
 * after retry_delay_ms (the delayed set, or the tail for 0), or
 * dead-lettered as timeout when next_attempt is 0. Then consumer's
 * registry record goes (when pid and host wrote it) and consumer itself
 * once nothing is pending for it. An op, sent as soon as the writer is
 * ready (this call pumps the outbox); one INFO line says what it did,
 * one WARN line each job it dead-lettered. n over QUEUE_LOST_JOBS_MAX:
 * the jobs past it are treated as not listed (handed back uncharged). A
 * job whose stream_id is not a stream id is left out, with a warning. */
void queue_redis_worker_lost(queue_redis_t *q, const char *consumer, int pid,
                             const char *host, const queue_lost_job_t *jobs,
                             size_t n);

/* Stops fetching (unblocks a pending read). */
void queue_redis_stop_fetching(queue_redis_t *q);
/* Fetches again after queue_redis_stop_fetching (a worker whose
 * overrunning handler returned after all). */
void queue_redis_resume_fetching(queue_redis_t *q);
/* Requeues everything still pending for this consumer (shutdown), and
 * removes its registry record: no heartbeat is written after this. */
void queue_redis_release_pending(queue_redis_t *q);
/* What the worker's readiness and metrics read (monotonic ms, 0 =
 * never): when the fetch loop last had an answer, when Redis last
 * confirmed a write, when leases were last renewed (or found none to
 * renew), and counts since start. */
typedef struct {
    int64_t fetch_ms, write_ms, lease_ms;
    unsigned long long reclaimed, poisoned;
    /* dead letters Redis scripts wrote for jobs no handler here finished:
     * parked past --park-ttl (by reason), and the supervisor's settling
     * of a dead worker's jobs (poison, timeout, too_many_fields) */
    unsigned long long park_no_handler, park_unsupported;
    unsigned long long lost_poisoned, lost_timed_out, lost_too_many_fields;
} queue_health_t;
const queue_health_t *queue_redis_health(const queue_redis_t *q);
/* Redis connections set up again after they had been up (both). */
unsigned long long queue_redis_reconnects(const queue_redis_t *q);
/* How long a healthy blocking read may stay unanswered, and how often
 * leases are renewed (ms). */
int64_t queue_redis_fetch_every_ms(const queue_redis_t *q);
int64_t queue_redis_lease_every_ms(const queue_redis_t *q);

/* `jobrt pause` holds the queue (as last read, every 250 ms): this worker
 * fetches nothing new from it. */
int queue_redis_paused(const queue_redis_t *q);

/* `jobrt disable` holds job name[0..len) on this queue (as last read,
 * every 250 ms): its entries are to be parked, not run
 * (QUEUE_PARK_DISABLED), and parked ones are not taken. */
int queue_redis_job_disabled(const queue_redis_t *q, const char *name,
                             size_t len);
/* At most this many disabled jobs per queue are honoured (the rest of the
 * hash is ignored, with a warning). */
#define QUEUE_DISABLED_MAX 1024

/* ---- the fleet's limits per (queue, job), limits.c ---- */
/* The limits of job name[0..len) on this queue as last read from its
 * :limits hash (every 250 ms), or NULL when it has none. Valid until the
 * next poll's answer: copy what you keep. */
const limit_t *queue_redis_limit(const queue_redis_t *q, const char *name,
                                 size_t len);
/* The answer to a reserve or an acquire: ok 0 when it failed (the
 * connection was lost or Redis answered an error, logged by the queue)
 * and v is NULL; else now is the server's clock (ms) and v[0..n) the
 * slot times (reserve) or 1/0 granted (acquire). Called once. */
typedef void (*queue_limit_fn)(void *ctx, int ok, int64_t now,
                               const long long *v, size_t n);
/* Reserves k consecutive rate slots of job (LIMIT_RESERVE, one call on
 * the writer, not an op: an answer lost means slots reserved and not
 * used, never a job run twice). Returns 0 when sent (fn will be called),
 * -1 when the writer is not ready (fn is not called). */
int queue_redis_rate_reserve(queue_redis_t *q, const char *job, size_t k,
                             double rate_per_s, queue_limit_fn fn,
                             void *ctx);
/* Asks for a concurrency slot of job for each of ids[0..n) (limit at
 * most, leases of lease_ms). As queue_redis_rate_reserve. */
int queue_redis_conc_acquire(queue_redis_t *q, const char *job, long limit,
                             const char *const *ids, size_t n,
                             queue_limit_fn fn, void *ctx);
/* Gives back the slot stream_id holds of job: batched, sent at the next
 * queue_redis_flush as one op (idempotent). */
void queue_redis_conc_release(queue_redis_t *q, const char *job,
                              const char *stream_id);
/* queue_redis_requeue for a job a limit holds back: attempt and
 * last_error kept, into the delayed set for delay_ms or until due_ms,
 * with field rate_slot = rate_slot_ms (its reserved rate slot, so it runs
 * without asking again; 0: none) and limit_waits = waits (concurrency
 * denials so far, for the backoff; 0: none). */
void queue_redis_requeue_limited(queue_redis_t *q, const char *stream_id,
                                 const char *job_id, const strview_t *fv,
                                 size_t n, uint32_t delay_ms, int64_t due_ms,
                                 int64_t rate_slot_ms, uint32_t waits);
/* The entry fields the limits keep (dropped by every other requeue). */
#define QUEUE_FIELD_RATE_SLOT "rate_slot"
#define QUEUE_FIELD_LIMIT_WAITS "limit_waits"

/* Nothing waiting to be written or confirmed. */
int queue_redis_idle(const queue_redis_t *q);
int queue_redis_writer_up(const queue_redis_t *q);
/* The reader connection is up (a worker's; never for writer-only). */
int queue_redis_reader_up(const queue_redis_t *q);
/* Closes both connections; unconfirmed ops are dropped (their entries stay
 * pending in Redis and are redelivered). Frees q once handles are closed. */
void queue_redis_destroy(queue_redis_t *q);

#endif
