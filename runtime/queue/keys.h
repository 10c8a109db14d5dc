/*
 * keys.h - the Redis key names of one queue. The queue name is the
 * hash tag, so every key of a queue lives in one cluster slot and a script
 * may touch them together:  <ns>:{<queue>}:stream, :dlq, :job:<id>,
 * :done and :done:<start>[:builds] (succeeded records), :delayed, :seq, :cancelled, :idem:<key>, and for the fleet registry
 * :workers, :worker:<consumer>, :reload, :reload:<request id>, and
 * :paused (set while `jobrt pause` holds the queue), :disabled (the job
 * types `jobrt disable` holds) and :progress:<job id> (a running job's
 * latest progress report, exec/progress.h), and for recurring jobs
 * (`jobrt schedule`) :schedules, :schedule_due and :schedule_fired, and
 * for lifecycle events (`jobrt events`) :events and :events:config. The
 * one key
 * outside a queue's slot is <ns>:queues, the namespace's queue index.
 *
 * Parked jobs have no key of their own: an entry no worker here can serve
 * stays pending in the stream, owned by the group's pseudo-consumer
 * QUEUE_PARKED_PREFIX "<job>:v<version>" (queue.h, queue_redis_park).
 */
#ifndef JOBRT_QUEUE_KEYS_H
#define JOBRT_QUEUE_KEYS_H

#include <stddef.h>

typedef struct {
    char name[512];  /* the queue's own name */
    char stream[512];
    char dlq[512];
    char job_prefix[512]; /* append the job id */
    char delayed[512];    /* sorted set of delayed jobs */
    char seq[512];        /* counter for scheduled-job tokens and ids */
    char cancelled[512];  /* sorted set: job id -> cancel time (ms) */
    char idem_prefix[512]; /* append an idempotency key */
    char workers[512];     /* sorted set: consumer -> last heartbeat (ms) */
    char worker_prefix[512]; /* append a consumer: its heartbeat record */
    char reload[512];      /* the latest `jobrt reload` request id */
    char reload_prefix[512]; /* append a request id: hash consumer ->
                                outcome (JSON) */
    char paused[512];      /* while set (JSON {"at","by","reason"}), no
                              worker fetches from the queue */
    char disabled[512];    /* hash: job name -> JSON {"at","by","reason"}
                              while `jobrt disable` holds it: its jobs
                              park instead of running */
    char schedules[512];   /* hash: schedule name -> JSON definition
                              (schedule/schedule_def.h) */
    char schedule_due[512]; /* sorted set: schedule name -> next fire
                              time (ms); a paused schedule has none */
    char schedule_fired[512]; /* hash: schedule name -> "<count> <last
                                 tick ms>" of the jobs it enqueued */
    char progress_prefix[512]; /* append a job id: its latest progress,
                                  JSON {"percent","message","at"}, while
                                  it runs */
    char limits[512];      /* hash: job name -> JSON {"rate_per_s",
                              "burst", "concurrency"}: the fleet's limits
                              (queue/limits.c) */
    char rate_prefix[512]; /* append a job name: its rate limiter's
                              theoretical arrival time (ms) */
    char running_prefix[512]; /* append a job name: sorted set of the
                                 stream ids holding its concurrency
                                 slots, scored by lease expiry (ms) */
    char queues[512];      /* <ns>:queues, sorted set: queue -> last
                              heartbeat (ms); not in the queue's slot */
    char events[512];      /* stream of lifecycle events (queue/events.h),
                              written only while events are on */
    char done[512];        /* sorted set: record bucket start (s) ->
                              when the bucket may go (s); the bucket
                              <done>:<start> is a hash job id -> compact
                              succeeded record, <done>:<start>:builds its
                              build table (queue/records.h) */
    char events_config[512]; /* hash: max_len, at, by while `jobrt events
                                on` holds; absent: events off */
} queue_keys_t;

/* How often a worker refreshes its registry record, and how long a record
 * (and a zset score) counts as live after it: the writer (queue.h) and
 * every reader (fleet/) agree on these. */
#define FLEET_HEARTBEAT_MS 1000
#define FLEET_WORKER_TTL_MS 5000

/* Pseudo-consumers that hold parked entries start with this. */
#define QUEUE_PARKED_PREFIX "parked:"
/* The consumer that holds, for one reclaim tick, the entries a dead worker
 * process had been delivered more than once (the supervisor's worker-lost
 * script): QUEUE_LOST_PREFIX "<its consumer>". No worker may take such a
 * name either. */
#define QUEUE_LOST_PREFIX "lost:"

/* Returns 0, or -1 with err set if the namespace or queue name is invalid
 * (1-128 characters of [A-Za-z0-9_.:/-]; no braces). */
int queue_keys_init(queue_keys_t *k, const char *ns, const char *queue,
                    char *err, size_t err_len);

#endif
