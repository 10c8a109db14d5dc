/*
 * cmd_top.c - `jobrt top [QUEUE]`: the `jobrt stats` table and the live
 * workers, redrawn every --interval on a terminal with plain ANSI
 * sequences (alternate screen, clear, home). The terminal is in raw mode
 * (no echo, no line buffering, no signal keys) only while top runs: q,
 * Ctrl-C or Ctrl-D quit, and SIGINT, SIGTERM, SIGHUP and SIGQUIT from
 * outside arrive through a signalfd and quit the same way, so every exit
 * restores the terminal. Not a terminal: one frame, no escapes, exit 0.
 * A lost Redis is a line in the frame, and top reconnects at the next tick.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/redis_opts.h"
#include "cli/stats_view.h"
#include "core/util.h"

#define TOP_MAX_WORKER_ROWS 200

typedef struct {
    const redis_cli_opts_t *ro;
    const char *queue, *group;
    redis_target_t target;
    redisContext *c; /* NULL until (re)connected */
    int64_t interval_ms;
} top_t;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One frame's text into b (reset first): a title, the queue table, the
 * workers; or the Redis error that kept it from being read. live: rows is
 * the terminal's height, and the workers get what the table leaves;
 * otherwise at most rows workers are listed. */
static void frame(top_t *t, buf_t *b, size_t worker_rows, int live)
{
    char err[512] = "";
    buf_reset(b);
    char every[32];
    cli_format_duration(t->interval_ms, every, sizeof every);
    buf_appendf(b, "jobrt top - namespace %s, group ", t->ro->ns);
    buf_append_escaped(b, t->group, strlen(t->group), 40, NULL);
    if (live)
        buf_appendf(b, ", every %s; q to quit\n\n", every);
    else
        buf_appendf(b, "\n\n");
    if (t->c == NULL) {
        t->c = redis_connect_sync(&t->target, 5000, err, sizeof err);
        if (t->c == NULL) {
            buf_appendf(b, "Redis: %s (retrying)\n", err);
            return;
        }
    }
    stats_view_t v;
    if (stats_view_read(t->c, t->ro, t->queue, t->group, "top", &v, err,
                        sizeof err) != 0) {
        buf_appendf(b, "Redis: %s (retrying)\n", err);
        redisFree(t->c);
        t->c = NULL;
        return;
    }
    if (v.n == 0)
        buf_appendf(b, "no queues in namespace %s\n", t->ro->ns);
    else
        stats_view_table(b, &v);
    buf_append(b, "\n", 1);
    if (live) {
        /* the workers get the rows left: the header, and the last row for
         * "... and N more" when they do not fit */
        size_t used = 0;
        for (size_t i = 0; i < b->len; i++)
            used += b->data[i] == '\n';
        worker_rows = worker_rows > used + 2 ? worker_rows - used - 2 : 0;
        if (worker_rows > TOP_MAX_WORKER_ROWS)
            worker_rows = TOP_MAX_WORKER_ROWS;
    }
    stats_view_workers(b, &v, worker_rows);
    stats_view_free(&v);
}

/* Writes all of b; cut to the terminal's size when rows > 0. */
static void write_frame(const buf_t *b, int rows, int cols)
{
    buf_t out = {0};
    buf_append(&out, "\x1b[H\x1b[2J", 7);
    const char *p = b->data, *end = b->data + b->len;
    int lines = 0;
    for (const char *q = p; q && q < end; lines++) {
        const char *nl = memchr(q, '\n', (size_t)(end - q));
        q = nl ? nl + 1 : end;
    }
    /* taller than the terminal (a long queue table): the last row says
     * how many lines did not fit */
    int keep = rows > 0 && lines > rows ? rows - 1 : lines;
    for (int line = 0; p && p < end && line < keep; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (cols > 0 && n > (size_t)cols)
            n = (size_t)cols;
        if (line)
            buf_append(&out, "\r\n", 2);
        buf_append(&out, p, n);
        p = nl ? nl + 1 : end;
    }
    if (keep < lines) {
        char more[64];
        int n = snprintf(more, sizeof more, "%s... and %d more lines",
                         keep ? "\r\n" : "", lines - keep);
        buf_append(&out, more, (size_t)n);
    }
    size_t off = 0;
    while (off < out.len) {
        ssize_t w = write(STDOUT_FILENO, out.data + off, out.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    buf_free(&out);
}

static void term_size(int *rows, int *cols)
{
    struct winsize ws;
    *rows = 24;
    *cols = 80;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
    }
}

static void put_str(const char *s)
{
    ssize_t w = write(STDOUT_FILENO, s, strlen(s));
    (void)w;
}

/* The live view until a quit key or signal. Returns the exit code. */
static int run_live(top_t *t)
{
    struct termios saved, raw;
    if (tcgetattr(STDIN_FILENO, &saved) != 0) {
        fprintf(stderr, "jobrt top: cannot read the terminal's mode: %s\n",
                strerror(errno));
        return 1;
    }
    sigset_t quit_set, old_set;
    sigemptyset(&quit_set);
    sigaddset(&quit_set, SIGINT);
    sigaddset(&quit_set, SIGTERM);
    sigaddset(&quit_set, SIGHUP);
    sigaddset(&quit_set, SIGQUIT);
    sigaddset(&quit_set, SIGWINCH);
    sigprocmask(SIG_BLOCK, &quit_set, &old_set);
    int sfd = signalfd(-1, &quit_set, SFD_CLOEXEC);
    if (sfd < 0) {
        fprintf(stderr, "jobrt top: signalfd: %s\n", strerror(errno));
        sigprocmask(SIG_SETMASK, &old_set, NULL);
        return 1;
    }
    raw = saved;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
    raw.c_iflag &= ~(tcflag_t)(IXON | ICRNL);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
    put_str("\x1b[?1049h\x1b[?25l"); /* alternate screen, hide cursor */

    buf_t b = {0};
    int quit = 0, rc = 0, redraw = 1;
    int64_t next = 0;
    while (!quit) {
        int64_t now = mono_ms();
        if (redraw || now >= next) {
            int rows, cols;
            term_size(&rows, &cols);
            frame(t, &b, rows > 0 ? (size_t)rows : 24, 1);
            write_frame(&b, rows, cols);
            if (now >= next)
                next = mono_ms() + t->interval_ms;
            redraw = 0;
            now = mono_ms();
        }
        struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {sfd, POLLIN, 0}};
        int wait = next > now ? (int)(next - now) : 0;
        int n = poll(fds, 2, wait);
        if (n < 0 && errno != EINTR) {
            rc = 1;
            break;
        }
        if (n > 0 && (fds[0].revents & (POLLHUP | POLLERR)))
            quit = 1; /* the terminal went away */
        if (n > 0 && (fds[0].revents & POLLIN)) {
            char keys[64];
            ssize_t got = read(STDIN_FILENO, keys, sizeof keys);
            if (got == 0)
                quit = 1;
            for (ssize_t i = 0; i < got; i++)
                if (keys[i] == 'q' || keys[i] == 'Q' || keys[i] == 3 ||
                    keys[i] == 4)
                    quit = 1;
        }
        if (n > 0 && (fds[1].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGWINCH)
                    redraw = 1;
                else
                    quit = 1;
            }
        }
    }
    buf_free(&b);
    put_str("\x1b[?25h\x1b[?1049l"); /* cursor back, main screen */
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    close(sfd);
    sigprocmask(SIG_SETMASK, &old_set, NULL);
    return rc;
}

int cmd_top(int argc, char **argv)
{
    redis_cli_opts_t ro = REDIS_CLI_OPTS_INIT;
    const char *group = "jobrt";
    int64_t interval_ms = 1000;
    const char *queue_opt = NULL;
    const cli_opt_t opts[] = {
        {"queue", 'q', "JOBRT_QUEUE", OPT_STRING, &queue_opt, "NAME",
         "Only this queue, as the positional QUEUE (default: every queue of "
         "the namespace).", 0, 0},
        {"interval", 'n', "JOBRT_TOP_INTERVAL", OPT_DURATION, &interval_ms,
         "DUR", "Time between two frames, 100ms to 1h (default 1s).", 100,
         3600000},
        {"group", 0, "JOBRT_GROUP", OPT_STRING, &group, "NAME",
         "The fleet's consumer group (default jobrt).", 0, 0},
        REDIS_CLI_CONN_ROWS(ro),
    };
    const cli_cmd_t cmd = {
        "top", "jobrt top [QUEUE | --queue NAME] [--interval DUR] [--group "
        "NAME]",
        "A live view, redrawn every --interval: the table of `jobrt stats` "
        "(see\n'jobrt stats --help' for the columns) and the live workers "
        "(queue, consumer,\nhost, pid, state, jobs running of its "
        "concurrency, its settle rate, its\nplugins as name@build); rows "
        "that do not fit the terminal are counted in a\nlast line. Without "
        "QUEUE, every queue of NS:queues, also those with no live\nworker. "
        "q, Ctrl-C or Ctrl-D quit; the terminal's mode is restored on every "
        "exit,\nalso on SIGTERM, SIGHUP or SIGQUIT. When Redis cannot be "
        "reached the frame says\nso and top retries at the next tick. When "
        "stdin or stdout is not a terminal,\ntop prints one frame (all "
        "rows) without escape sequences and exits.\n"
        "Exit codes: 0, 1 Redis error (one frame only) or terminal error, 2 "
        "bad usage.",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&cmd, argc, argv, pos, 1, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (n_pos && queue_opt && strcmp(pos[0], queue_opt) != 0)
        return cli_usage_error(&cmd, "queue '%s' and --queue '%s' differ: "
                               "give one", pos[0], queue_opt);
    top_t t = {.ro = &ro, .queue = n_pos ? pos[0] : queue_opt,
               .group = group, .interval_ms = interval_ms};
    ro.queue = t.queue ? t.queue : DEFAULT_QUEUE;
    queue_keys_t keys;
    char err[512];
    if (queue_keys_init(&keys, ro.ns, ro.queue, err, sizeof err) != 0)
        return cli_usage_error(&cmd, "%s", err);
    if ((rc = redis_cli_target(&cmd, &ro, &t.target)) != 0)
        return rc;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        buf_t b = {0};
        frame(&t, &b, TOP_MAX_WORKER_ROWS, 0);
        if (b.len)
            fwrite(b.data, 1, b.len, stdout);
        rc = t.c ? 0 : 1; /* no connection: the frame said why */
        buf_free(&b);
        fprintf(stderr, "jobrt top: not a terminal: printed one frame\n");
    } else {
        rc = run_live(&t);
    }
    if (t.c)
        redisFree(t.c);
    redis_target_free(&t.target);
    return rc;
}
