/*
 * crash_guard.c - see crash_guard.h. Everything the signal handler calls
 * is async-signal-safe: atomics, clock_gettime(2), nanosleep(2), write(2),
 * sigaction(2), raise(3) and string copying and formatting done by hand. With --log-format json the
 * report is one JSON line like every other (docs/logging.md).
 */
#define _GNU_SOURCE
#include "supervise/crash_guard.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

static board_t *guard_board; /* see the header */
static __thread int guard_slot = -1;
static __thread void *guard_stack;

#define GUARD_STACK_BYTES (64 * 1024)

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL,
                                    SIGABRT, SIGSYS, SIGTRAP};

/* Appends s to buf (async-signal-safe); returns the new length. */
static size_t put(char *buf, size_t len, size_t cap, const char *s)
{
    while (*s && len + 1 < cap)
        buf[len++] = *s++;
    return len;
}

static size_t put_uint(char *buf, size_t len, size_t cap, unsigned long v)
{
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof digits);
    while (n && len + 1 < cap)
        buf[len++] = digits[--n];
    return len;
}

/* n decimal digits of v, zero-padded (async-signal-safe). */
static size_t put_digits(char *buf, size_t len, size_t cap, long v, int n)
{
    char d[8] = {0};
    if (n > (int)sizeof d)
        n = (int)sizeof d;
    for (int i = n - 1; i >= 0; i--, v /= 10)
        d[i] = (char)('0' + v % 10);
    for (int i = 0; i < n && len + 1 < cap; i++)
        buf[len++] = d[i];
    return len;
}

/* The time now as RFC 3339 UTC with ms, without gmtime_r (not
 * async-signal-safe): the civil date from days since the epoch. */
static size_t put_utc_now(char *buf, size_t len, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long secs = (long)ts.tv_sec, days = secs / 86400, rem = secs % 86400;
    long z = days + 719468, era = z / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153, day = doy - (153 * mp + 2) / 5 + 1;
    long month = mp < 10 ? mp + 3 : mp - 9, year = yoe + era * 400;
    year += month <= 2;
    len = put_digits(buf, len, cap, year, 4);
    len = put(buf, len, cap, "-");
    len = put_digits(buf, len, cap, month, 2);
    len = put(buf, len, cap, "-");
    len = put_digits(buf, len, cap, day, 2);
    len = put(buf, len, cap, "T");
    len = put_digits(buf, len, cap, rem / 3600, 2);
    len = put(buf, len, cap, ":");
    len = put_digits(buf, len, cap, rem / 60 % 60, 2);
    len = put(buf, len, cap, ":");
    len = put_digits(buf, len, cap, rem % 60, 2);
    len = put(buf, len, cap, ".");
    len = put_digits(buf, len, cap, ts.tv_nsec / 1000000, 3);
    return put(buf, len, cap, "Z");
}

/* n bytes of s as the inside of a JSON string: what is not printable
 * ASCII becomes \u00XX (the board's strings are ASCII anyway). */
static size_t put_json(char *buf, size_t len, size_t cap, const char *s,
                       size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n && len + 7 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf[len++] = '\\';
            buf[len++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            len = put(buf, len, cap, "\\u00");
            buf[len++] = hex[c >> 4];
            buf[len++] = hex[c & 15];
        } else {
            buf[len++] = (char)c;
        }
    }
    return len;
}

/* Writes the report (text, without its newline) as a json line. */
static void write_json(const char *text, size_t n)
{
    char line[2048];
    size_t len = 0, cap = sizeof line;
    len = put(line, len, cap, "{\"ts\":\"");
    len = put_utc_now(line, len, cap);
    len = put(line, len, cap, "\",\"level\":\"error\"");
    const char *tag = log_get_tag();
    size_t tag_len = 0;
    while (tag[tag_len] && tag[tag_len] != ' ')
        tag_len++;
    if (tag_len) {
        len = put(line, len, cap, ",\"worker\":\"");
        len = put_json(line, len, cap, tag, tag_len);
        len = put(line, len, cap, "\"");
    }
    len = put(line, len, cap, ",\"module\":\"crash\",\"msg\":\"");
    len = put_json(line, len, cap, text, n);
    len = put(line, len, cap, "\"}\n");
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

static void report_line(const board_t *b, int slot, const char *what,
                        int sender)
{
    char line[768];
    size_t n = 0, cap = sizeof line;
    n = put(line, n, cap, "jobrt worker pid ");
    n = put_uint(line, n, cap, (unsigned long)getpid());
    n = put(line, n, cap, ": ");
    n = put(line, n, cap, what);
    if (sender > 0) {
        n = put(line, n, cap, " sent by pid ");
        n = put_uint(line, n, cap, (unsigned long)sender);
    } else if (slot >= 0 && (uint32_t)slot < b->n_slots) {
        const board_slot_t *s = &b->slots[slot];
        n = put(line, n, cap, " in the handler of job ");
        n = put(line, n, cap, s->id);
        n = put(line, n, cap, " (");
        n = put(line, n, cap, s->job);
        n = put(line, n, cap, " v");
        n = put_uint(line, n, cap, s->version);
        n = put(line, n, cap, ", plugin ");
        n = put(line, n, cap, s->plugin);
        n = put(line, n, cap, " build ");
        n = put(line, n, cap, s->build_id);
        n = put(line, n, cap, ")");
    } else {
        n = put(line, n, cap, " outside any handler");
    }
    n = put(line, n, cap, "; the process dies and its jobs are settled by "
            "the supervisor");
    if (log_get_format() == LOG_FORMAT_JSON) {
        write_json(line, n);
        return;
    }
    n = put(line, n, cap + 1, "\n"); /* cap kept a byte for it */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

/* The default action again for sig, so that raising it ends the process
 * (sigaction(2) is async-signal-safe; signal(3) is not listed). */
static void restore_default(int sig)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
}

/* Another thread claimed the report (or this one, faulting again inside
 * the handler): wait for it to end the process, so that this fault does
 * not kill it before the report is on the board, then die of sig
 * anyway after CRASH_WAIT_MS. */
#define CRASH_WAIT_MS 1000
static void wait_for_the_claimer(int sig)
{
    struct timespec tick = {0, 1000000};
    for (int i = 0; i < CRASH_WAIT_MS; i++)
        nanosleep(&tick, NULL);
    restore_default(sig);
    raise(sig);
}

static void on_fatal_signal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    board_t *b = guard_board;
    /* Sent with kill(2) (the supervisor ending an overrun, an operator):
     * not the fault of whatever job this thread runs. */
    int slot = si && si->si_code == SI_USER ? -1 : guard_slot;
    if (b && atomic_exchange(&b->crash_claimed, 1) == 0) {
        atomic_store(&b->crash_slot, slot);
        atomic_store(&b->crash_signal, sig);
        if (si && si->si_code == SI_USER)
            atomic_store(&b->crash_sender, (int32_t)si->si_pid);
        atomic_store_explicit(&b->crash_reported, 1, memory_order_release);
        const char *abbrev = sigabbrev_np(sig); /* a table lookup */
        char what[64];
        size_t n = put(what, 0, sizeof what, "SIG");
        n = put(what, n, sizeof what, abbrev ? abbrev : "?");
        what[n] = '\0';
        report_line(b, slot, what,
                    si && si->si_code == SI_USER ? (int)si->si_pid : 0);
    } else if (b) {
        /* Several handlers crashed at once: the first one's report
         * stands, and the process dies of the first fault. */
        wait_for_the_claimer(sig);
        return;
    }
    /* With the default action back, the signal raised again is delivered
     * once this handler returns (a SIGTRAP or a seccomp SIGSYS would
     * otherwise resume the thread with a report written). The handler
     * stays installed until here (no SA_RESETHAND): a second thread that
     * faults meanwhile waits above instead of killing the process before
     * the report is written. */
    restore_default(sig);
    raise(sig);
}

/* exit() called by a handler (on its thread): say so, as for a crash. */
static void on_exit_hook(int status, void *arg)
{
    (void)arg;
    board_t *b = guard_board;
    int slot = guard_slot;
    if (b == NULL || slot < 0 || atomic_exchange(&b->crash_claimed, 1))
        return;
    atomic_store(&b->crash_slot, slot);
    atomic_store(&b->crash_signal, 0);
    atomic_store(&b->crash_exit_status, status);
    atomic_store_explicit(&b->crash_reported, 1, memory_order_release);
    report_line(b, slot, "exit() called", 0);
}

int crash_guard_install(board_t *b)
{
    guard_board = b;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    /* Every fatal signal is blocked while one is handled on this thread:
     * a second, synchronous fault in the handler kills the process. */
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0];
         i++)
        sigaddset(&sa.sa_mask, fatal_signals[i]);
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0];
         i++)
        if (sigaction(fatal_signals[i], &sa, NULL) != 0)
            return -1;
    if (on_exit(on_exit_hook, NULL) != 0)
        return -1;
    return 0;
}

void crash_guard_thread_start(void)
{
    if (guard_stack)
        return;
    void *p = mmap(NULL, GUARD_STACK_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return; /* a crash is still reported unless it is a stack overflow */
    stack_t st = {.ss_sp = p, .ss_size = GUARD_STACK_BYTES, .ss_flags = 0};
    if (sigaltstack(&st, NULL) != 0) {
        munmap(p, GUARD_STACK_BYTES);
        return;
    }
    guard_stack = p;
}

void crash_guard_thread_end(void)
{
    if (guard_stack == NULL)
        return;
    stack_t st = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
    sigaltstack(&st, NULL);
    munmap(guard_stack, GUARD_STACK_BYTES);
    guard_stack = NULL;
}

void crash_guard_enter(board_t *b, int index)
{
    if (b == NULL || index < 0)
        return;
    board_slot_t *s = &b->slots[index];
    atomic_store_explicit(&s->started_ms, util_now_ms(),
                          memory_order_relaxed);
    atomic_store_explicit(&s->state, BOARD_SLOT_RUNNING,
                          memory_order_release);
    guard_slot = index;
}

void crash_guard_leave(board_t *b, int index)
{
    guard_slot = -1;
    if (b == NULL || index < 0)
        return;
    /* Back to QUEUED: the handler returned; the loop frees the slot when
     * it has settled the job. An OVERRUN slot stays OVERRUN. */
    uint32_t running = BOARD_SLOT_RUNNING;
    atomic_compare_exchange_strong(&b->slots[index].state, &running,
                                   BOARD_SLOT_QUEUED);
}
