/*
 * crash_guard.h - the worker's crash report: when a handler faults
 * (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS, SIGTRAP) or calls
 * exit(), an async-signal-safe handler writes into the board which job
 * slot it was running and why the process is dying, prints one line, and
 * lets the process die of it. The supervisor reads the report after the
 * worker has gone (supervise/supervisor.c). A thread that runs handlers
 * gets an alternate signal stack, so a handler that overflows its stack
 * is reported too.
 *
 * The board pointer is the one process-wide variable here: a signal
 * handler has nowhere else to find it.
 */
#ifndef JOBRT_CRASH_GUARD_H
#define JOBRT_CRASH_GUARD_H

#include "supervise/board.h"

/* Installs the handlers for the whole process (once, before the executor
 * starts threads). Returns 0, or -1 if a handler could not be set. */
int crash_guard_install(board_t *b);
/* Per thread that runs handlers, at its start and end. */
void crash_guard_thread_start(void);
void crash_guard_thread_end(void);
/* Around one handler call: this thread runs the job in slot index of b
 * (its state becomes RUNNING, then back to QUEUED's successor, left to
 * the loop). b may be NULL (a job not on a board). */
void crash_guard_enter(board_t *b, int index);
void crash_guard_leave(board_t *b, int index);

#endif
