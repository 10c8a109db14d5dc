/*
 * scripts.h - the Lua scripts that make each state change of a job
 * atomic in Redis. Any number of workers may run any of them at once.
 *
 * The invariant every script keeps (docs/delivery.md, "What each script
 * keeps"): nothing is acknowledged (XACK), deleted (XDEL, ZREM, XTRIM) or
 * replaced before the entry's replacement (the new stream entry, the
 * delayed-set member, the dead letter, the outcome record) is written.
 * Redis does not roll back a script's earlier writes when a later command
 * fails (a denied write under maxmemory, a key of the wrong type), so a
 * script that can fail does so before its first destructive step and the
 * original stays where it was, to be retried or redelivered. A script that
 * moves a pending entry first checks, without acking, that it is still
 * pending (XPENDING); as scripts are atomic, resending one after a lost
 * reply can never duplicate or drop a job.
 *
 * No script passes unbounded input to one Lua call (`unpack`: Lua caps
 * one call at about 8 000 values). An entry is copied field by field only
 * when it has at most ENVELOPE_MAX_FIELDS pairs (a requeued one: 3 more,
 * for the id, attempt and last_error jobrt adds); a longer one is
 * dead-lettered intact as ONE value, `dlq_fields`: every field and value
 * in order, each as a netstring "<decimal byte length>:<bytes>,".
 *
 * Delayed jobs (retry backoff, `enqueue --delay/--at`, a future
 * `not_before`) wait in a sorted set, scored by due time in ms of the
 * Redis server's clock, as cmsgpack.pack({token, {field, value, ...}});
 * PROMOTE moves due ones into the stream, and dead-letters a member it
 * cannot re-add (over the limit, or not such a pair).
 *
 * Parked jobs (queue_redis_park) stay where they are, pending in the
 * stream, owned by the group's pseudo-consumer QUEUE_PARKED_PREFIX
 * "<job>:v<version>" (keys.h): PARK, UNPARK and PARK_EXPIRE move them
 * between consumers with XCLAIM, RECLAIM, RELEASE and WORKER_LOST never
 * touch them, and TRIM never cuts or deletes a pending entry. The job name is everything
 * between the prefix and the last ":v" (job names may contain ":v"; the
 * version is digits only).
 */
#ifndef JOBRT_QUEUE_SCRIPTS_H
#define JOBRT_QUEUE_SCRIPTS_H

enum {
    SCRIPT_COMPLETE, /* write a batch's result records, then ack it */
    SCRIPT_REQUEUE,  /* re-add one entry (new attempt) now or delayed */
    SCRIPT_DLQ,      /* copy one entry to the DLQ with a reason, ack + del */
    SCRIPT_RELEASE,  /* requeue everything pending for one consumer; leave
                        the registry */
    SCRIPT_PROMOTE,  /* move due delayed jobs into the stream */
    SCRIPT_RECLAIM,  /* claim expired leases; dead-letter poison jobs */
    SCRIPT_TRIM,     /* cut the stream below what is still unfinished */
    SCRIPT_PARK,     /* hand one entry to its parked pseudo-consumer */
    SCRIPT_UNPARK,   /* claim parked entries of the pairs we serve */
    SCRIPT_PARK_EXPIRE, /* dead-letter entries parked too long */
    SCRIPT_HEARTBEAT,   /* write our registry record and zset member */
    SCRIPT_CLEANUP,  /* remove dead consumers with nothing pending */
    SCRIPT_RELOAD_REPLY, /* record our outcome of a `jobrt reload` */
    SCRIPT_WORKER_LOST, /* settle the entries of a worker process that
                           died (queue_redis_worker_lost) */
    SCRIPT_GIVE_BACK, /* hand one entry back keeping its delivery count */
    SCRIPT_SCHEDULE_DUE,  /* read the schedules due now (server clock) */
    SCRIPT_SCHEDULE_FIRE, /* compare-and-set: enqueue a schedule's due
                             ticks, then move it to its next due time */
    /* the fleet's limits per (queue, job): scripts_limits.h */
    SCRIPT_LIMIT_SET,     /* merge a job's limits into the :limits hash */
    SCRIPT_LIMIT_RESERVE, /* reserve k rate slots (GCRA) */
    SCRIPT_LIMIT_ACQUIRE, /* take concurrency slots, if free */
    SCRIPT_LIMIT_RENEW,   /* extend the leases of held slots */
    SCRIPT_LIMIT_RELEASE, /* give held slots back */
    SCRIPT_RECORDS_PRUNE, /* free record buckets whose time has come */
    SCRIPT_COUNT
};

extern const char *const queue_scripts[SCRIPT_COUNT];

/* The most jobs one WORKER_LOST call lists (a worker process's board has
 * fewer slots): 7 values each, far below what ARGV can hold. */
#define QUEUE_LOST_JOBS_MAX 4096

/* Used by the CLI (EVAL), not by workers. */
extern const char *const queue_script_enqueue;   /* delay and/or dedupe */
extern const char *const queue_script_dlq_retry; /* DLQ -> stream */
/* How many of the newest cancellations a worker remembers: past that, it
 * forgets the oldest, and a job whose cancellation it forgot runs.
 * `jobrt cancel` warns when the set holds more. */
#define QUEUE_CANCELS_REMEMBERED 65536

extern const char *const queue_script_cancel;    /* add to cancelled set */
/* `jobrt schedule`: write a definition (compare-and-set) and its due
 * time; remove one. */
extern const char *const queue_script_schedule_put;
extern const char *const queue_script_schedule_remove;

/* The name of the dead-letter field that holds an over-limit entry's
 * fields (netstrings), and of the one that holds a delayed-set member
 * PROMOTE could not decode (its bytes as they were). */
#define DLQ_FIELD_ENCODED "dlq_fields"
#define DLQ_FIELD_MEMBER "dlq_delayed_member"

#endif
