/*
 * test_log.c - the log sink: level names, the threshold, and the shape of
 * a line ("<time> <LEVEL> <module>: message", one line, one write). It
 * includes <syslog.h> on purpose: the runtime's level names must not
 * clash with syslog's LOG_* macros (a plugin or a later syslog sink
 * includes both).
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "core/log.h"

/* Runs fn with stderr sent to a file; returns what was written. */
static char *capture(void (*fn)(void))
{
    char path[] = "/tmp/jobrt-test-log-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    static char out[8192];
    ssize_t n = pread(fd, out, sizeof out - 1, 0);
    cr_assert_geq(n, 0);
    out[n] = '\0';
    close(fd);
    unlink(path);
    return out;
}

static void write_four(void)
{
    LOGE("mod", "an error %d", 1);
    LOGW("mod", "a warning");
    LOGI("mod", "an info line");
    LOGD("mod", "a debug line");
}

Test(log, level_names)
{
    cr_assert_eq(log_set_level_name("error"), 0);
    cr_assert(log_enabled(JOBRT_LOG_ERROR) && !log_enabled(JOBRT_LOG_WARN));
    cr_assert_eq(log_set_level_name("WARNING"), 0, "warning is warn");
    cr_assert(log_enabled(JOBRT_LOG_WARN) && !log_enabled(JOBRT_LOG_INFO));
    cr_assert_eq(log_set_level_name("debug"), 0);
    cr_assert(log_enabled(JOBRT_LOG_DEBUG));
    cr_assert_eq(log_set_level_name("verbose"), -1);
    cr_assert(log_enabled(JOBRT_LOG_DEBUG), "a bad name changes nothing");
    /* syslog's own levels are untouched macros */
    cr_assert_eq(LOG_INFO, 6);
    cr_assert_eq(LOG_DEBUG, 7);
}

Test(log, threshold_drops_lines_above_it)
{
    log_set_level(JOBRT_LOG_WARN);
    const char *out = capture(write_four);
    cr_assert_not_null(strstr(out, " ERROR mod: an error 1\n"), "%s", out);
    cr_assert_not_null(strstr(out, " WARN  mod: a warning\n"), "%s", out);
    cr_assert_null(strstr(out, "info line"), "%s", out);
    cr_assert_null(strstr(out, "debug line"), "%s", out);
}

static void write_long(void)
{
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    LOGI("mod", "%s", big);
    LOGI("mod", "after");
}

Test(log, a_long_message_is_cut_to_one_line)
{
    log_set_level(JOBRT_LOG_INFO);
    const char *out = capture(write_long);
    const char *nl = strchr(out, '\n');
    cr_assert_not_null(nl);
    cr_assert_lt((size_t)(nl - out), 2048, "one line of at most 2 KiB");
    cr_assert_not_null(strstr(nl + 1, "INFO  mod: after\n"),
                       "the next line starts on its own: %s", nl + 1);
    /* "2026-12-01T19:41:15.123Z": a UTC timestamp first */
    cr_assert_eq(out[4], '-');
    cr_assert_eq(out[10], 'T');
    cr_assert_eq(out[23], 'Z');
}
