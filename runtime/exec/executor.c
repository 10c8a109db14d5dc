/*
 * executor.c - up to --concurrency threads over one intrusive FIFO. Finished
 * jobs go on a second list and one uv_async_send wakes the loop; libuv
 * coalesces wake-ups, so a burst of completions costs one loop callback.
 * No allocation per job.
 *
 * Waking a sleeping thread costs far more than a cheap handler, so threads
 * are woken one at a time: at most one wake-up is in flight, and a thread
 * that wakes and finds more work queued wakes the next one before it runs
 * its job. Cheap jobs are then drained by the few threads already awake;
 * slow jobs still spread over every thread, one wake-up after another.
 * Threads are started the same way, on demand: one at the start, another
 * only when work waits and every started thread is busy, up to the limit.
 * An idle worker with --concurrency 1000 therefore holds one thread, not
 * a thousand stacks.
 */
#include "exec/executor.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "plugin/host_api.h"
#include "supervise/crash_guard.h"

struct executor {
    uv_loop_t *loop;
    uv_async_t wake;
    uv_check_t hand_over;  /* once per loop iteration: submit the batch */
    uv_idle_t nudge;       /* active while a batch waits: poll won't block */
    struct jobrt_job *batch_head, *batch_tail; /* loop thread only */
    size_t batch_n;
    int idle_threads;      /* waiting on `ready` (under lock) */
    int waking;            /* a signalled thread has not resumed yet */
    executor_done_fn on_done;
    void *arg;

    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct jobrt_job *queue_head, *queue_tail;
    struct jobrt_job *done_head, *done_tail;
    struct jobrt_job **running; /* per thread, for cancel_all */
    int stopping;

    size_t inflight; /* loop thread only */
    int n_threads;  /* the limit */
    int n_started;  /* threads[0..n_started) exist (under lock) */
    pthread_t *threads;
    atomic_int exited;
    int closed; /* handles whose close callback ran */
};

typedef struct {
    executor_t *ex;
    int index;
} thread_arg_t;

static void on_hand_over(uv_check_t *h);
static void on_nudge(uv_idle_t *h);

static void *worker_main(void *p);

/* Under ex->lock (or before any thread exists): starts thread n_started.
 * On failure the limit drops to the threads there are. */
static int start_thread(executor_t *ex)
{
    int i = ex->n_started;
    thread_arg_t *ta = malloc(sizeof *ta);
    if (ta) {
        ta->ex = ex;
        ta->index = i;
    }
    int rc = ta ? pthread_create(&ex->threads[i], NULL, worker_main, ta)
                : ENOMEM;
    if (rc != 0) {
        free(ta);
        if (i == 0)
            LOGE("executor", "cannot start a worker thread: %s",
                 strerror(rc));
        else
            LOGW("executor", "cannot start worker thread %d (%s); jobs "
                 "run on the %d there are", i + 1, strerror(rc), i);
        ex->n_threads = i;
        return -1;
    }
    ex->n_started++;
    return 0;
}

/* Under ex->lock: get one more thread onto queued work, unless another
 * is already on its way: wake an idle one, or start one if none is idle. */
static void wake_one(executor_t *ex)
{
    if (ex->queue_head == NULL || ex->waking || ex->stopping)
        return;
    if (ex->idle_threads > 0) {
        ex->waking = 1;
        pthread_cond_signal(&ex->ready);
    } else if (ex->n_started < ex->n_threads && start_thread(ex) == 0) {
        ex->waking = 1; /* cleared by the new thread */
    }
}

static void *worker_main(void *p)
{
    thread_arg_t *ta = p;
    executor_t *ex = ta->ex;
    int index = ta->index;
    free(ta);
    crash_guard_thread_start();
    pthread_mutex_lock(&ex->lock);
    ex->waking = 0;
    for (;;) {
        while (!ex->stopping && ex->queue_head == NULL) {
            ex->idle_threads++;
            pthread_cond_wait(&ex->ready, &ex->lock);
            ex->idle_threads--;
            ex->waking = 0;
        }
        if (ex->stopping)
            break;
        struct jobrt_job *job = ex->queue_head;
        ex->queue_head = job->next;
        if (ex->queue_head == NULL)
            ex->queue_tail = NULL;
        ex->running[index] = job;
        wake_one(ex); /* more queued: a helper for what is left */
        pthread_mutex_unlock(&ex->lock);

        crash_guard_enter(job->board, job->board_index);
        host_run_job(job);
        crash_guard_leave(job->board, job->board_index);

        pthread_mutex_lock(&ex->lock);
        ex->running[index] = NULL;
        if (ex->stopping)
            break; /* the loop is gone or going: nobody to hand it to */
        job->next = NULL;
        int was_empty = ex->done_head == NULL;
        if (ex->done_tail)
            ex->done_tail->next = job;
        else
            ex->done_head = job;
        ex->done_tail = job;
        if (was_empty)
            uv_async_send(&ex->wake);
    }
    pthread_mutex_unlock(&ex->lock);
    crash_guard_thread_end();
    atomic_fetch_add(&ex->exited, 1);
    return NULL;
}

static void on_wake(uv_async_t *h)
{
    executor_t *ex = h->data;
    pthread_mutex_lock(&ex->lock);
    struct jobrt_job *done = ex->done_head;
    ex->done_head = ex->done_tail = NULL;
    pthread_mutex_unlock(&ex->lock);
    for (struct jobrt_job *j = done; j; j = j->next)
        ex->inflight--;
    if (done)
        ex->on_done(ex->arg, done);
}

executor_t *executor_create(uv_loop_t *loop, int threads,
                            executor_done_fn on_done, void *arg)
{
    executor_t *ex = calloc(1, sizeof *ex);
    if (ex == NULL)
        return NULL;
    ex->loop = loop;
    ex->on_done = on_done;
    ex->arg = arg;
    ex->n_threads = threads;
    ex->threads = calloc((size_t)threads, sizeof *ex->threads);
    ex->running = calloc((size_t)threads, sizeof *ex->running);
    if (ex->threads == NULL || ex->running == NULL) {
        free(ex->threads);
        free(ex->running);
        free(ex);
        return NULL;
    }
    pthread_mutex_init(&ex->lock, NULL);
    pthread_cond_init(&ex->ready, NULL);
    uv_async_init(loop, &ex->wake, on_wake);
    ex->wake.data = ex;
    uv_check_init(loop, &ex->hand_over);
    ex->hand_over.data = ex;
    uv_check_start(&ex->hand_over, on_hand_over);
    uv_idle_init(loop, &ex->nudge);
    ex->nudge.data = ex;
    if (start_thread(ex) != 0) {
        executor_destroy(ex, 0);
        return NULL;
    }
    return ex;
}

/* Jobs submitted during one loop iteration (typically one fetched batch)
 * go to the threads together: one lock and at most one wake-up (see the
 * top of the file). */
static void on_hand_over(uv_check_t *h)
{
    executor_t *ex = h->data;
    if (ex->batch_head == NULL)
        return;
    pthread_mutex_lock(&ex->lock);
    if (ex->queue_tail)
        ex->queue_tail->next = ex->batch_head;
    else
        ex->queue_head = ex->batch_head;
    ex->queue_tail = ex->batch_tail;
    wake_one(ex);
    pthread_mutex_unlock(&ex->lock);
    ex->batch_head = ex->batch_tail = NULL;
    ex->batch_n = 0;
    uv_idle_stop(&ex->nudge);
}

static void on_nudge(uv_idle_t *h) { (void)h; }

void executor_submit(executor_t *ex, struct jobrt_job *job)
{
    job->next = NULL;
    ex->inflight++;
    if (ex->batch_n == 0)
        uv_idle_start(&ex->nudge, on_nudge);
    if (ex->batch_tail)
        ex->batch_tail->next = job;
    else
        ex->batch_head = job;
    ex->batch_tail = job;
    ex->batch_n++;
}

size_t executor_inflight(const executor_t *ex) { return ex->inflight; }

/* Flags job for shutdown unless it already has a reason to stop (a
 * user's cancel must stay a user's cancel: outcome.c tells them apart). */
static void cancel_for_shutdown(struct jobrt_job *job)
{
    int none = 0;
    atomic_compare_exchange_strong(&job->cancel, &none, JOB_CANCEL_SHUTDOWN);
}

void executor_cancel_all(executor_t *ex)
{
    for (struct jobrt_job *j = ex->batch_head; j; j = j->next)
        cancel_for_shutdown(j);
    pthread_mutex_lock(&ex->lock);
    for (struct jobrt_job *j = ex->queue_head; j; j = j->next)
        cancel_for_shutdown(j);
    for (int i = 0; i < ex->n_threads; i++)
        if (ex->running[i])
            cancel_for_shutdown(ex->running[i]);
    pthread_mutex_unlock(&ex->lock);
}

static void free_executor(uv_handle_t *h)
{
    executor_t *ex = h->data;
    if (++ex->closed < 3)
        return; /* the other handle's close callback frees */
    pthread_mutex_destroy(&ex->lock);
    pthread_cond_destroy(&ex->ready);
    free(ex->threads);
    free(ex->running);
    free(ex);
}

void executor_destroy(executor_t *ex, int detach_running)
{
    if (ex == NULL)
        return;
    pthread_mutex_lock(&ex->lock);
    ex->stopping = 1; /* from here on no thread is started */
    pthread_cond_broadcast(&ex->ready);
    int started = ex->n_started;
    pthread_mutex_unlock(&ex->lock);
    for (int i = 0; i < started; i++) {
        if (detach_running)
            pthread_detach(ex->threads[i]);
        else
            pthread_join(ex->threads[i], NULL);
    }
    uv_check_stop(&ex->hand_over);
    uv_idle_stop(&ex->nudge);
    uv_close_cb cb = free_executor;
    if (detach_running) /* threads still inside a handler keep ex alive: */
        cb = NULL;      /* leak it on purpose, the process is exiting */
    uv_close((uv_handle_t *)&ex->wake, cb);
    uv_close((uv_handle_t *)&ex->hand_over, cb);
    uv_close((uv_handle_t *)&ex->nudge, cb);
}
