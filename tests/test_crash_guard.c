/*
 * test_crash_guard.c - the crash report, for real: a child process
 * installs the guard on a shared board, runs a "handler" on a thread that
 * entered a slot, and faults (or calls exit()); the parent reads, after
 * the child died of it, the slot, the signal or exit status, and that the
 * child really died of the signal (the guard must not swallow it). A
 * signal sent with kill(2) is not blamed on the thread's job.
 */
#include <criterion/criterion.h>

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervise/board.h"
#include "supervise/crash_guard.h"

static board_t *shared;

enum { DO_SEGV, DO_ABORT, DO_EXIT, DO_WAIT };

static void *handler_thread(void *p)
{
    int what = *(int *)p;
    crash_guard_thread_start();
    crash_guard_enter(shared, 2);
    if (what == DO_SEGV) {
        /* a real fault, on a page mapped with no access: no sanitizer
         * check catches it first (UBSan's null check would exit) */
        volatile int *nowhere = mmap(NULL, 4096, PROT_NONE,
                                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        *nowhere = 1;
    } else if (what == DO_ABORT) {
        abort();
    } else if (what == DO_EXIT) {
        exit(9);
    }
    for (;;)
        pause();
    return NULL;
}

/* Forks a child that does `what` on a handler thread; returns its
 * waitpid status. With DO_WAIT the parent sends it SIGABRT. */
static int run_child(int what)
{
    int fd;
    char err[128];
    shared = board_create_shared(4, &fd, err, sizeof err);
    cr_assert_not_null(shared, "%s", err);
    close(fd);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        crash_guard_install(shared);
        pthread_t t;
        pthread_create(&t, NULL, handler_thread, &what);
        pthread_join(t, NULL);
        _exit(0);
    }
    if (what == DO_WAIT) {
        for (int i = 0; i < 500; i++) { /* until the slot is running */
            if (atomic_load(&shared->slots[2].state) == BOARD_SLOT_RUNNING)
                break;
            usleep(10000);
        }
        cr_assert_eq(atomic_load(&shared->slots[2].state),
                     BOARD_SLOT_RUNNING);
        kill(pid, SIGABRT);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return status;
}

Test(crash_guard, a_segfault_names_its_slot_and_still_kills)
{
    int status = run_child(DO_SEGV);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
              "died of SIGSEGV, status %#x", status);
    cr_assert_eq(atomic_load(&shared->crash_reported), 1);
    cr_assert_eq(atomic_load(&shared->crash_slot), 2);
    cr_assert_eq(atomic_load(&shared->crash_signal), SIGSEGV);
    board_unmap(shared, 4);
}

Test(crash_guard, an_abort_names_its_slot)
{
    int status = run_child(DO_ABORT);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
              "died of SIGABRT, status %#x", status);
    cr_assert_eq(atomic_load(&shared->crash_slot), 2);
    cr_assert_eq(atomic_load(&shared->crash_signal), SIGABRT);
    board_unmap(shared, 4);
}

Test(crash_guard, exit_from_a_handler_names_its_slot)
{
    int status = run_child(DO_EXIT);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 9);
    cr_assert_eq(atomic_load(&shared->crash_reported), 1);
    cr_assert_eq(atomic_load(&shared->crash_slot), 2);
    cr_assert_eq(atomic_load(&shared->crash_signal), 0);
    cr_assert_eq(atomic_load(&shared->crash_exit_status), 9);
    board_unmap(shared, 4);
}

Test(crash_guard, a_signal_sent_from_outside_blames_no_job)
{
    int status = run_child(DO_WAIT);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    cr_assert_eq(atomic_load(&shared->crash_signal), SIGABRT);
    cr_assert_eq(atomic_load(&shared->crash_slot), -1,
                 "kill(2) from the supervisor is not the job's fault");
    board_unmap(shared, 4);
}

/* ---- several handlers crash at once ------------------------------------- */

enum { N_CRASHERS = 3 };
static pthread_barrier_t crash_barrier;

static void *crash_together(void *p)
{
    int slot = (int)(intptr_t)p;
    crash_guard_thread_start();
    crash_guard_enter(shared, slot);
    volatile int *nowhere = mmap(NULL, 4096, PROT_NONE,
                                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pthread_barrier_wait(&crash_barrier);
    *nowhere = 1;
    return NULL;
}

/* Two or three handler threads fault in the same instant: the process
 * dies of the fault, and the report names one of their jobs, every time.
 * (The second fault must not kill the process while the first crash is
 * being reported: then no report names a job and every job running is
 * charged, the innocent ones too.) */
Test(crash_guard, simultaneous_crashes_still_name_a_crashing_slot)
{
    for (int round = 0; round < 200; round++) {
        int fd;
        char err[128];
        shared = board_create_shared(4, &fd, err, sizeof err);
        cr_assert_not_null(shared, "%s", err);
        close(fd);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
            crash_guard_install(shared);
            pthread_barrier_init(&crash_barrier, NULL, N_CRASHERS);
            pthread_t t[N_CRASHERS];
            for (int i = 0; i < N_CRASHERS; i++)
                pthread_create(&t[i], NULL, crash_together,
                               (void *)(intptr_t)i);
            for (int i = 0; i < N_CRASHERS; i++)
                pthread_join(t[i], NULL);
            _exit(0);
        }
        int status = 0;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
                  "round %d: died of SIGSEGV, status %#x", round, status);
        cr_assert_eq(atomic_load(&shared->crash_reported), 1,
                     "round %d: no crash report", round);
        int slot = atomic_load(&shared->crash_slot);
        cr_assert(slot >= 0 && slot < N_CRASHERS,
                  "round %d: the report names slot %d", round, slot);
        board_unmap(shared, 4);
    }
}
