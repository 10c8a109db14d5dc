/*
 * reload.c - the worker's plugins as generations (plugin/generations.h):
 * the first load at start, and every reload after it, whatever asked for
 * it (SIGHUP, --watch, `jobrt reload` through Redis). A reload never
 * blocks on a drain: it swaps the routes and returns; the old generation
 * is unloaded by the worker when its last job comes back (worker.c,
 * on_done). Here too: what the worker tells the fleet about itself, its
 * registry record and the (job, version) ranges it serves, from which
 * the queue takes parked jobs.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/log.h"
#include "exec/worker_internal.h"

/* --watch names being written, copied for a stage off the loop. */
#define BUSY_SNAPSHOT 64
#include "fleet/registry.h"

/* One line for what the first load or a reload did with one file. */
static void log_change(const gen_change_t *c, int first)
{
    const struct jobrt_plugin *p = c->gen;
    switch (c->kind) {
    case GEN_LOADED:
    case GEN_RELOADED:
        for (uint32_t i = 0; i < p->n_handlers; i++)
            LOGI("loader", "%s: plugin %s %s build %s (generation %llu) "
                 "serves %s v%u..%u", c->file, p->name, p->version,
                 c->to_build, p->generation, p->handlers[i].job_name,
                 p->handlers[i].schema_min, p->handlers[i].schema_max);
        if (c->kind == GEN_RELOADED)
            LOGI("loader", "%s: plugin %s reloaded: build %s -> %s "
                 "(generation %llu); new jobs run on it now, jobs already "
                 "running finish on the old build, which is unloaded once "
                 "they have", c->file, c->plugin, c->from_build, c->to_build,
                 c->generation);
        if (p->pin_reason[0])
            LOGW("loader", "%s: plugin %s cannot be unloaded (%s): it is "
                 "served, but deploying a new build of it needs a worker "
                 "restart", c->file, p->name, p->pin_reason);
        break;
    case GEN_REMOVED:
        LOGI("loader", "%s was removed: plugin %s build %s (generation %llu) "
             "takes no new jobs and is unloaded once its running jobs "
             "finish; jobs only it served park", c->file, c->plugin,
             c->from_build, c->generation);
        break;
    case GEN_UNCHANGED:
        LOGD("loader", "%s: unchanged (build %s, generation %llu)", c->file,
             c->from_build, c->generation);
        break;
    case GEN_REJECTED:
        if (first || c->from_build[0] == '\0')
            LOGE("loader", "%s: rejected: %s", c->file, c->reason);
        else
            LOGE("loader", "%s: new build rejected: %s; plugin %s build %s "
                 "(generation %llu) keeps serving", c->file, c->reason,
                 c->plugin, c->from_build, c->generation);
        break;
    case GEN_REFUSED:
        LOGW("loader", "%s: reload refused: %s", c->file, c->reason);
        break;
    }
}

int worker_load_plugins(worker_t *w)
{
    const worker_config_t *cfg = w->cfg;
    char err[1024];
    w->gens = generations_create(w->loader, cfg->plugin_dir);
    if (w->gens == NULL) {
        LOGE("worker", "out of memory");
        return 1;
    }
    gen_changes_t ch = {0};
    if (generations_reload(w->gens, NULL, NULL, &ch, err, sizeof err) != 0) {
        LOGE("loader", "%s", err);
        gen_changes_free(&ch);
        return 1;
    }
    int rejected = 0;
    for (size_t i = 0; i < ch.n; i++) {
        log_change(&ch.items[i], 1);
        rejected += ch.items[i].kind == GEN_REJECTED;
    }
    gen_changes_free(&ch);
    if (rejected > 0 && cfg->strict) {
        LOGE("loader", "%d plugin file(s) rejected and --strict is set; "
             "not starting", rejected);
        return 1;
    }
    if (w->gens->active.count == 0 && cfg->watch && cfg->park_ttl_ms > 0) {
        /* Deploying into an empty directory is what --watch is for. */
        LOGW("loader", "no plugin loaded from %s%s: starting anyway because "
             "of --watch; every job parks until a plugin that serves it is "
             "installed", cfg->plugin_dir,
             rejected ? " (every file was rejected)" : "");
    } else if (w->gens->active.count == 0) {
        /* A wrong --plugin-dir must not park or dead-letter the queue. */
        LOGE("loader", "no plugin loaded from %s%s: not starting (no job "
             "could run here; with --watch a worker may start empty and "
             "park jobs until one is installed)", cfg->plugin_dir,
             rejected ? " (every file was rejected)" : "");
        return 1;
    }
    return 0;
}

static const char *outcome_status(const gen_changes_t *ch, int failed)
{
    int changed = 0, bad = failed;
    for (size_t i = 0; i < ch->n; i++) {
        gen_change_kind_t k = ch->items[i].kind;
        changed |= k == GEN_LOADED || k == GEN_RELOADED || k == GEN_REMOVED;
        bad |= k == GEN_REJECTED || k == GEN_REFUSED;
    }
    if (changed)
        return bad ? "partial" : "reloaded";
    return bad ? "rejected" : "unchanged";
}

/* Answers a `jobrt reload` request on the queue it came from. */
static void answer(worker_t *w, const char *request_id, uint32_t queue_index,
                   const gen_changes_t *ch, const char *status,
                   const char *failure)
{
    if (request_id == NULL || queue_index >= w->n_queues)
        return;
    size_t n = ch->n + (failure != NULL);
    registry_change_t *rc = calloc(n ? n : 1, sizeof *rc);
    if (rc == NULL) {
        LOGE("worker", "out of memory answering reload request %s",
             request_id);
        return;
    }
    for (size_t i = 0; i < ch->n; i++) {
        const gen_change_t *c = &ch->items[i];
        rc[i].file = c->file;
        rc[i].plugin = c->plugin[0] ? c->plugin : NULL;
        rc[i].action = gen_change_name(c->kind);
        rc[i].from_build = c->from_build[0] ? c->from_build : NULL;
        rc[i].to_build = c->to_build[0] ? c->to_build : NULL;
        rc[i].reason = c->reason[0] ? c->reason : NULL;
        rc[i].generation = c->generation;
    }
    if (failure) {
        rc[ch->n].file = w->cfg->plugin_dir;
        rc[ch->n].action = "rejected";
        rc[ch->n].reason = failure;
    }
    if (registry_build_reload_outcome(&w->outcome, w->consumer, w->host,
                                      (int)getpid(), status, rc, n) == 0)
        queue_redis_reload_reply(w->queues[queue_index].q, request_id,
                                 w->outcome.data, w->outcome.len);
    free(rc);
}

/* One reload, staged on the thread pool and committed on the loop. */
typedef struct reload_job {
    uv_work_t req;
    worker_t *w;
    char source[96];
    char ids[RELOAD_REQUESTS_MERGED][32]; /* `jobrt reload` requests */
    uint32_t id_queues[RELOAD_REQUESTS_MERGED]; /* where each came from */
    size_t n_ids;
    char busy[BUSY_SNAPSHOT][PLUGIN_WATCH_NAME_MAX]; /* --watch: written now */
    size_t n_busy;
    gen_changes_t changes;
    int failed;
    char err[1024];
} reload_job_t;

static int busy_in_snapshot(void *arg, const char *name)
{
    const reload_job_t *job = arg;
    for (size_t i = 0; i < job->n_busy; i++)
        if (strcmp(job->busy[i], name) == 0)
            return 1;
    return 0;
}

/* Reloads and unloads run on libuv's pool threads at the lowest CPU
 * priority (nice 19, per thread): on a busy machine the loop and the
 * handler threads go first, and a reload only takes longer. Raising
 * one's own niceness needs no privilege; the pool runs nothing else. */
static void lower_priority(void)
{
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
}

static void warm_work(uv_work_t *req)
{
    (void)req;
    lower_priority();
}

static void warm_done(uv_work_t *req, int status)
{
    (void)status;
    free(req);
}

/* Thread pool: everything that reads files or runs plugin code. */
static void stage_work(uv_work_t *req)
{
    reload_job_t *job = req->data;
    lower_priority();
    job->failed = generations_stage(job->w->gens, busy_in_snapshot, job,
                                    &job->changes, job->err,
                                    sizeof job->err) != 0;
}

static void start_reload(worker_t *w, const char *source, char (*ids)[32],
                         const uint32_t *id_queues, size_t n_ids);

/* Loop: the swap, the log lines, the answers. */
static void stage_done(uv_work_t *req, int status)
{
    reload_job_t *job = req->data;
    worker_t *w = job->w;
    w->reloading = NULL;
    if (status != 0 || job->failed || w->phase != PHASE_RUN) {
        if (!job->failed)
            generations_discard(w->gens);
        if (job->failed) {
            w->gens->reloads++;
            w->gens->reload_failures++;
            LOGE("loader", "reload (%s) failed: %s; the plugins loaded before "
                 "keep serving", job->source, job->err);
        } else {
            snprintf(job->err, sizeof job->err, "the worker is shutting down");
            LOGI("worker", "%s: the reload is dropped: the worker is shutting "
                 "down", job->source);
        }
        for (size_t i = 0; i < job->n_ids; i++)
            answer(w, job->ids[i], job->id_queues[i], &job->changes,
                   "rejected", job->err);
        worker_board_reloaded(w, 0);
    } else {
        char err[256];
        int failed = generations_commit(w->gens, &job->changes, err,
                                        sizeof err) != 0;
        unsigned counts[GEN_REFUSED + 1] = {0};
        for (size_t i = 0; i < job->changes.n; i++) {
            log_change(&job->changes.items[i], 0);
            counts[job->changes.items[i].kind]++;
        }
        const char *status_word = outcome_status(&job->changes, failed);
        LOGI("worker", "reload (%s): %s: %u reloaded, %u loaded, %u removed, "
             "%u unchanged, %u rejected, %u refused; %u plugin(s) serving, "
             "%u generation(s) draining", job->source, status_word,
             counts[GEN_RELOADED], counts[GEN_LOADED], counts[GEN_REMOVED],
             counts[GEN_UNCHANGED], counts[GEN_REJECTED], counts[GEN_REFUSED],
             w->gens->active.count, w->gens->retired.count);
        w->n_parked_logged = 0; /* what parks now is news again */
        worker_publish_served(w);
        /* the fleet sees the new builds before `jobrt reload` hears back */
        for (size_t i = 0; i < w->n_queues; i++)
            queue_redis_heartbeat_now(w->queues[i].q);
        for (size_t i = 0; i < job->n_ids; i++)
            answer(w, job->ids[i], job->id_queues[i], &job->changes,
                   status_word, failed ? err : NULL);
        /* a build it cannot unload changed: deployed by a fresh worker */
        worker_board_reloaded(w, counts[GEN_REFUSED] > 0);
        worker_reap(w);
    }
    gen_changes_free(&job->changes);
    free(job);
    if (w->reload_again && w->phase == PHASE_RUN) {
        w->reload_again = 0;
        size_t n = w->n_reload_again_ids;
        w->n_reload_again_ids = 0;
        start_reload(w, w->reload_again_source, w->reload_again_ids,
                     w->reload_again_queues, n);
    }
}

static void start_reload(worker_t *w, const char *source, char (*ids)[32],
                         const uint32_t *id_queues, size_t n_ids)
{
    reload_job_t *job = calloc(1, sizeof *job);
    if (job == NULL) {
        LOGE("worker", "%s: out of memory; not reloading", source);
        return;
    }
    job->w = w;
    job->req.data = job;
    snprintf(job->source, sizeof job->source, "%s", source);
    for (size_t i = 0; i < n_ids; i++) {
        memcpy(job->ids[i], ids[i], sizeof job->ids[i]);
        job->id_queues[i] = id_queues[i];
    }
    job->n_ids = n_ids;
    job->n_busy = plugin_watch_busy_names(w->watch, job->busy, BUSY_SNAPSHOT);
    if (uv_queue_work(&w->loop, &job->req, stage_work, stage_done) != 0) {
        LOGE("worker", "%s: cannot start the reload", source);
        free(job);
        return;
    }
    w->reloading = job;
}

void worker_reload(worker_t *w, const char *source, const char *request_id,
                   uint32_t queue_index)
{
    if (w->phase != PHASE_RUN) {
        gen_changes_t none = {0};
        LOGI("worker", "%s: not reloading: the worker is shutting down",
             source);
        answer(w, request_id, queue_index, &none, "rejected",
               "the worker is shutting down");
        return;
    }
    if (w->reloading) { /* merged into the next reload */
        w->reload_again = 1;
        snprintf(w->reload_again_source, sizeof w->reload_again_source,
                 "%s", source);
        if (request_id) {
            if (w->n_reload_again_ids == RELOAD_REQUESTS_MERGED) {
                gen_changes_t none = {0};
                answer(w, request_id, queue_index, &none, "rejected",
                       "too many reload requests at once; try again");
            } else {
                w->reload_again_queues[w->n_reload_again_ids] = queue_index;
                snprintf(w->reload_again_ids[w->n_reload_again_ids++],
                         sizeof w->reload_again_ids[0], "%s", request_id);
            }
        }
        LOGD("worker", "%s: a reload is running; another follows it", source);
        return;
    }
    char ids[1][32];
    uint32_t id_queues[1] = {queue_index};
    size_t n = 0;
    if (request_id)
        snprintf(ids[n++], sizeof ids[0], "%s", request_id);
    start_reload(w, source, ids, id_queues, n);
}

/* ---- unloading, off the loop --------------------------------------------- */

typedef struct {
    uv_work_t req;
    worker_t *w;
    struct jobrt_plugin *list; /* detached drained generations */
    size_t n;
    int *rc;
    char (*what)[PATH_MAX + 256];
    char (*why)[512];
} unload_job_t;

static void unload_work(uv_work_t *req)
{
    unload_job_t *job = req->data;
    lower_priority();
    struct jobrt_plugin *p = job->list;
    for (size_t i = 0; p; i++) {
        struct jobrt_plugin *next = p->next;
        job->rc[i] = generations_unload(p, job->what[i], sizeof job->what[i],
                                        job->why[i], sizeof job->why[i]);
        p = next;
    }
}

static void unload_done(uv_work_t *req, int status)
{
    unload_job_t *job = req->data;
    (void)status; /* unload work is never cancelled */
    for (size_t i = 0; i < job->n; i++)
        generations_unloaded(job->w->gens, job->rc[i], job->what[i],
                             job->why[i]);
    job->w->unloads_running--;
    free(job->rc);
    free(job->what);
    free(job->why);
    free(job);
}

void worker_reap(worker_t *w)
{
    if (w->gens->retired.head == NULL)
        return;
    size_t draining = 0;
    for (const struct jobrt_plugin *p = w->gens->retired.head; p; p = p->next)
        draining += atomic_load(&p->inflight) == 0;
    if (draining == 0)
        return;
    unload_job_t *job = calloc(1, sizeof *job);
    if (job) {
        job->rc = calloc(draining, sizeof *job->rc);
        job->what = calloc(draining, sizeof *job->what);
        job->why = calloc(draining, sizeof *job->why);
    }
    if (job == NULL || !job->rc || !job->what || !job->why) {
        if (job) {
            free(job->rc);
            free(job->what);
            free(job->why);
            free(job);
        }
        generations_reap(w->gens); /* out of memory: do it here */
        return;
    }
    job->w = w;
    job->req.data = job;
    job->list = generations_take_drained(w->gens);
    for (const struct jobrt_plugin *p = job->list; p; p = p->next)
        job->n++;
    if (uv_queue_work(&w->loop, &job->req, unload_work, unload_done) != 0) {
        unload_work(&job->req); /* cannot happen with a valid loop */
        w->unloads_running++;
        unload_done(&job->req, 0);
        return;
    }
    w->unloads_running++;
}

void worker_publish_served(worker_t *w)
{
    size_t n = 0;
    for (const struct jobrt_plugin *p = w->gens->active.head; p; p = p->next)
        n += p->n_handlers;
    queue_served_t *s = calloc(n ? n : 1, sizeof *s);
    if (s == NULL) {
        LOGE("worker", "out of memory listing what this worker serves; "
             "parked jobs are not taken until the next reload");
        return;
    }
    size_t i = 0;
    for (const struct jobrt_plugin *p = w->gens->active.head; p; p = p->next)
        for (uint32_t j = 0; j < p->n_handlers; j++, i++) {
            s[i].job = p->handlers[j].job_name;
            s[i].min = p->handlers[j].schema_min;
            s[i].max = p->handlers[j].schema_max;
        }
    for (size_t k = 0; k < w->n_queues; k++)
        if (queue_redis_set_served(w->queues[k].q, s, n) != 0)
            LOGE("worker", "out of memory listing what this worker serves; "
                 "parked jobs are not taken until the next reload");
    free(s);
}

/* ---- triggers ------------------------------------------------------------ */

static void on_sighup(uv_signal_t *s, int signum)
{
    (void)signum;
    worker_reload(s->data, "SIGHUP", NULL, 0);
}

static void on_watch(void *arg) { worker_reload(arg, "--watch", NULL, 0); }

void worker_on_reload_request(void *arg, const char *request_id)
{
    worker_queue_t *wq = arg;
    char source[96];
    snprintf(source, sizeof source, "jobrt reload, request %s", request_id);
    worker_reload(wq->w, source, request_id, wq->index);
}

int worker_reload_triggers_start(worker_t *w)
{
    /* Start libuv's pool now (its threads are made on first use), so the
     * first reload does not pay for it. */
    uv_work_t *warm = calloc(1, sizeof *warm);
    if (warm && uv_queue_work(&w->loop, warm, warm_work, warm_done) != 0)
        free(warm);
    uv_signal_init(&w->loop, &w->sighup);
    w->sighup.data = w;
    uv_signal_start(&w->sighup, on_sighup, SIGHUP);
    if (w->cfg->watch) {
        char err[512];
        w->watch = plugin_watch_start(&w->loop, w->cfg->plugin_dir, on_watch,
                                      w, err, sizeof err);
        if (w->watch == NULL) {
            LOGE("worker", "%s", err);
            return 1;
        }
    }
    return 0;
}

void worker_reload_triggers_stop(worker_t *w)
{
    if (!uv_is_closing((uv_handle_t *)&w->sighup) &&
        w->sighup.signal_cb != NULL) {
        uv_signal_stop(&w->sighup);
        uv_close((uv_handle_t *)&w->sighup, NULL);
    }
    plugin_watch_stop(w->watch);
    w->watch = NULL;
}

/* ---- the registry record ----------------------------------------------- */

#define RUNNING_PAIRS_MAX 64

const char *worker_heartbeat_record(void *arg, size_t *len)
{
    worker_queue_t *wq = arg;
    worker_t *w = wq->w;
    registry_running_t running[RUNNING_PAIRS_MAX];
    registry_job_t jobs[REGISTRY_MAX_JOBS];
    size_t n_running = 0, inflight = 0, n_jobs = 0;
    for (int i = 0; i < w->cfg->concurrency; i++) {
        const struct jobrt_job *j = &w->slots[i];
        if (j->handler == NULL || j->queue_index != wq->index)
            continue;
        inflight++;
        if (n_jobs < REGISTRY_MAX_JOBS)
            jobs[n_jobs++] = (registry_job_t){
                .id = j->id,
                .stream_id = j->stream_id,
                .job = j->env.job.ptr,
                .version = j->env.version,
                .attempt = j->env.attempt,
                .deliveries = j->deliveries,
                .started_ms = j->dispatched_ms,
            };
        size_t k = 0;
        while (k < n_running &&
               (running[k].version != j->env.version ||
                strcmp(running[k].job, j->env.job.ptr) != 0))
            k++;
        if (k == n_running) {
            if (n_running == RUNNING_PAIRS_MAX)
                continue;
            running[k].job = j->env.job.ptr;
            running[k].version = j->env.version;
            running[k].count = 0;
            n_running++;
        }
        running[k].count++;
    }
    unsigned long long settled = wq->n_ok + wq->n_retry + wq->n_dead;
    rate_window_add(&wq->settle_rate, (int64_t)uv_now(&w->loop), settled);
    registry_self_t self = {
        .consumer = w->consumer,
        .host = w->host,
        .ns = w->cfg->ns,
        .queue = wq->name,
        .state = w->phase == PHASE_RUN ? "running" : "draining",
        .pid = (int)getpid(),
        .started_ms = w->started_ms,
        .concurrency = w->cfg->concurrency,
        .inflight = inflight,
        .reloads = w->gens->reloads,
        .reload_failures = w->gens->reload_failures,
        .generations_leaked = w->gens->leaked,
        .park_ttl_ms = w->cfg->park_ttl_ms,
        .running = running,
        .n_running = n_running,
        .done = wq->n_ok,
        .retried = wq->n_retry,
        .dead = wq->n_dead,
        .rate = rate_window_per_sec(&wq->settle_rate),
        .jobs = jobs,
        .n_jobs = n_jobs,
    };
    if (registry_build_record(&w->heartbeat, &self, &w->gens->active,
                              &w->gens->retired) != 0)
        return NULL;
    *len = w->heartbeat.len;
    return w->heartbeat.data;
}
