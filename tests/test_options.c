/*
 * test_options.c - unit tests for the table-driven option parser
 * (cli_parse: long/short/--x=y forms, JOBRT_* environment defaults
 * overridden by argv, repeated options refused, errors, --help,
 * positionals, "--") and the strict number/duration parsers in util.c it
 * builds on.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/options.h"
#include "core/util.h"

static int verbose;
static const char *queue;
static long concurrency, offset;
static int64_t timeout_ms;
static long max_payload;

static const cli_opt_t opts[] = {
    {"verbose", 'v', "JOBRT_T_VERBOSE", OPT_FLAG, &verbose, NULL,
     "Talk more.", 0, 0},
    {"queue", 'q', "JOBRT_T_QUEUE", OPT_STRING, &queue, "NAME",
     "Queue name (default: default).", 0, 0},
    {"concurrency", 'c', "JOBRT_T_CONCURRENCY", OPT_INT, &concurrency, "N",
     "Worker threads (default 4).", 1, 64},
    {"offset", 0, NULL, OPT_INT, &offset, "N", "Signed value.", -10, 10},
    {"timeout", 't', "JOBRT_T_TIMEOUT", OPT_DURATION, &timeout_ms, "DUR",
     "Job timeout (default 5m).", 1, 3600000},
    {"max-payload", 0, "JOBRT_T_MAX_PAYLOAD", OPT_SIZE, &max_payload, "SIZE",
     "Largest payload (default 1m).", 1, 1 << 30},
};

static const cli_cmd_t cmd = {
    .name = "test",
    .usage = "jobrt test [options] [ARGS...]",
    .summary = "A command for the parser's tests.",
    .opts = opts,
    .n_opts = (int)(sizeof opts / sizeof opts[0]),
};

/* Every cli test calls this first (explicit, not TestSuite(.init), which
 * cppcheck cannot parse). */
static void reset(void)
{
    verbose = 0;
    queue = "default";
    concurrency = 4;
    offset = 0;
    timeout_ms = 300000;
    max_payload = 1 << 20;
    unsetenv("JOBRT_T_VERBOSE");
    unsetenv("JOBRT_T_QUEUE");
    unsetenv("JOBRT_T_CONCURRENCY");
    unsetenv("JOBRT_T_TIMEOUT");
    unsetenv("JOBRT_T_MAX_PAYLOAD");
}

#define ARGV(...) ((char *[]){"test", __VA_ARGS__, NULL})
#define ARGC(...)                                                           \
    ((int)(sizeof((char *[]){"test", __VA_ARGS__}) / sizeof(char *)))

static char *pos[8];
static int n_pos;

#define PARSE(...)                                                          \
    cli_parse(&cmd, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), pos, 8, &n_pos)

Test(cli, no_arguments_keeps_defaults)
{
    reset();
    char *argv[] = {"test", NULL};
    cr_assert_eq(cli_parse(&cmd, 1, argv, pos, 8, &n_pos), 0);
    cr_assert_eq(n_pos, 0);
    cr_assert_eq(verbose, 0);
    cr_assert_str_eq(queue, "default");
    cr_assert_eq(concurrency, 4);
    cr_assert_eq(timeout_ms, 300000);
    cr_assert_eq(max_payload, 1 << 20);
}

Test(cli, long_options)
{
    reset();
    cr_assert_eq(PARSE("--verbose", "--queue", "emails", "--concurrency", "8",
                       "--timeout", "30s", "--max-payload", "64k",
                       "--offset", "-7"),
                 0);
    cr_assert_eq(verbose, 1);
    cr_assert_str_eq(queue, "emails");
    cr_assert_eq(concurrency, 8);
    cr_assert_eq(timeout_ms, 30000);
    cr_assert_eq(max_payload, 65536);
    cr_assert_eq(offset, -7);
    cr_assert_eq(n_pos, 0);
}

Test(cli, equals_form)
{
    reset();
    cr_assert_eq(PARSE("--queue=emails", "--concurrency=16", "--timeout=250ms",
                       "--max-payload=1m", "--offset=-10", "--verbose=true"),
                 0);
    cr_assert_str_eq(queue, "emails");
    cr_assert_eq(concurrency, 16);
    cr_assert_eq(timeout_ms, 250);
    cr_assert_eq(max_payload, 1024 * 1024);
    cr_assert_eq(offset, -10);
    cr_assert_eq(verbose, 1);

    cr_assert_eq(PARSE("--verbose=0"), 0);
    cr_assert_eq(verbose, 0);
    /* a value may itself contain '=' */
    cr_assert_eq(PARSE("--queue=a=b"), 0);
    cr_assert_str_eq(queue, "a=b");
}

Test(cli, short_options)
{
    reset();
    cr_assert_eq(PARSE("-v", "-q", "jobs", "-c", "3", "-t", "5m"), 0);
    cr_assert_eq(verbose, 1);
    cr_assert_str_eq(queue, "jobs");
    cr_assert_eq(concurrency, 3);
    cr_assert_eq(timeout_ms, 300000);
}

/* What PARSE_ERR's parse printed on stderr (one line, or ""). */
static char err_text[1024];

static int parse_capturing(int argc, char **argv)
{
    fflush(stderr);
    FILE *tmp = tmpfile();
    cr_assert_not_null(tmp);
    int saved = dup(2);
    cr_assert_geq(saved, 0);
    dup2(fileno(tmp), 2);
    int rc = cli_parse(&cmd, argc, argv, pos, 8, &n_pos);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(err_text, 1, sizeof err_text - 1, tmp);
    err_text[n] = '\0';
    fclose(tmp);
    return rc;
}

#define PARSE_ERR(...) parse_capturing(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void expect_err(const char *want)
{
    cr_assert(strstr(err_text, want) != NULL, "stderr should contain [%s], "
              "got [%s]", want, err_text);
}

/* Regression: `-q a -q b` used to keep the last value silently. */
Test(cli, repeated_option_is_refused)
{
    reset();
    cr_assert_eq(PARSE_ERR("-c", "2", "--concurrency", "9"), 2);
    expect_err("jobrt test: --concurrency given twice (first as -c); give "
               "it once");
    cr_assert_eq(concurrency, 4, "nothing is stored from a refused line");
    cr_assert_eq(PARSE_ERR("-q", "a", "-q", "b"), 2);
    expect_err("-q given twice (first as -q)");
    cr_assert_str_eq(queue, "default");
    cr_assert_eq(PARSE_ERR("--queue=a", "x", "--queue=a"), 2,
                 "the same value twice is a repeat too");
    cr_assert_eq(PARSE_ERR("--verbose", "--verbose"), 2);
    expect_err("--verbose given twice (first as --verbose)");
    cr_assert_eq(PARSE_ERR("--timeout", "1s", "-t", "2s"), 2);
    cr_assert_eq(timeout_ms, 300000);
    /* once each is fine */
    cr_assert_eq(PARSE("-c", "2", "-q", "a", "--verbose"), 0);
    cr_assert_eq(concurrency, 2);
}

Test(cli, environment_then_command_line_is_not_a_repeat)
{
    reset();
    setenv("JOBRT_T_QUEUE", "from-env", 1);
    cr_assert_eq(PARSE("-q", "from-argv"), 0);
    cr_assert_str_eq(queue, "from-argv");
}

Test(cli, environment_applied)
{
    reset();
    setenv("JOBRT_T_VERBOSE", "1", 1);
    setenv("JOBRT_T_QUEUE", "from-env", 1);
    setenv("JOBRT_T_CONCURRENCY", "12", 1);
    setenv("JOBRT_T_TIMEOUT", "20m", 1);
    setenv("JOBRT_T_MAX_PAYLOAD", "512", 1);
    char *argv[] = {"test", NULL};
    cr_assert_eq(cli_parse(&cmd, 1, argv, pos, 8, &n_pos), 0);
    cr_assert_eq(verbose, 1);
    cr_assert_str_eq(queue, "from-env");
    cr_assert_eq(concurrency, 12);
    cr_assert_eq(timeout_ms, 20 * 60000);
    cr_assert_eq(max_payload, 512);
}

Test(cli, environment_overridden_by_argv)
{
    reset();
    setenv("JOBRT_T_QUEUE", "from-env", 1);
    setenv("JOBRT_T_CONCURRENCY", "12", 1);
    setenv("JOBRT_T_VERBOSE", "1", 1);
    cr_assert_eq(PARSE("--concurrency", "9", "-q", "from-argv",
                       "--verbose=false"),
                 0);
    cr_assert_eq(concurrency, 9);
    cr_assert_str_eq(queue, "from-argv");
    cr_assert_eq(verbose, 0);
}

/* The values the error line lists are exactly the ones accepted. */
Test(cli, environment_flag_values)
{
    reset();
    char *argv[] = {"test", NULL};
    static const struct {
        const char *value;
        int want;
    } ok[] = {{"1", 1}, {"true", 1}, {"yes", 1},
              {"0", 0}, {"false", 0}, {"no", 0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        verbose = !ok[i].want;
        setenv("JOBRT_T_VERBOSE", ok[i].value, 1);
        cr_assert_eq(cli_parse(&cmd, 1, argv, pos, 8, &n_pos), 0, "%s",
                     ok[i].value);
        cr_assert_eq(verbose, ok[i].want, "%s", ok[i].value);
    }
    static const char *const bad[] = {"maybe", "on", "off", "Y", "TRUE",
                                      "2", " 1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("JOBRT_T_VERBOSE", bad[i], 1);
        cr_assert_eq(parse_capturing(1, argv), 2, "'%s' accepted", bad[i]);
        expect_err("environment JOBRT_T_VERBOSE: expected 1, 0, true, false, "
                   "yes or no, got '");
    }
}

Test(cli, command_line_flag_values)
{
    reset();
    cr_assert_eq(PARSE("--verbose=yes"), 0);
    cr_assert_eq(verbose, 1);
    cr_assert_eq(PARSE("--verbose=no"), 0);
    cr_assert_eq(verbose, 0);
    cr_assert_eq(PARSE_ERR("--verbose="), 2, "an empty value is no value");
    expect_err("--verbose: expected 1, 0, true, false, yes or no, got ''");
}

/* Regression: `JOBRT_STRICT=maybe jobrt run --help` printed an error. */
Test(cli, help_wins_over_a_bad_environment)
{
    reset();
    setenv("JOBRT_T_CONCURRENCY", "lots", 1);
    cr_assert_eq(PARSE("--help"), 1);
    cr_assert_eq(PARSE("--concurrency", "abc", "--help"), 1);
}

/* The command line wins: a bad environment value it replaces is unused. */
Test(cli, bad_environment_overridden_by_command_line)
{
    reset();
    setenv("JOBRT_T_CONCURRENCY", "lots", 1);
    cr_assert_eq(PARSE("-c", "5"), 0);
    cr_assert_eq(concurrency, 5);
    char *argv[] = {"test", NULL};
    cr_assert_eq(parse_capturing(1, argv), 2);
    expect_err("environment JOBRT_T_CONCURRENCY: expected an integer 1-64, "
               "got 'lots'");
}

Test(cli, empty_environment_is_ignored)
{
    reset();
    setenv("JOBRT_T_QUEUE", "", 1);
    setenv("JOBRT_T_CONCURRENCY", "", 1);
    char *argv[] = {"test", NULL};
    cr_assert_eq(cli_parse(&cmd, 1, argv, pos, 8, &n_pos), 0);
    cr_assert_str_eq(queue, "default");
    cr_assert_eq(concurrency, 4);
}

Test(cli, invalid_environment_is_an_error)
{
    reset();
    setenv("JOBRT_T_CONCURRENCY", "lots", 1);
    char *argv[] = {"test", NULL};
    cr_assert_eq(cli_parse(&cmd, 1, argv, pos, 8, &n_pos), 2);
    unsetenv("JOBRT_T_CONCURRENCY");
    setenv("JOBRT_T_TIMEOUT", "5 minutes", 1);
    cr_assert_eq(cli_parse(&cmd, 1, argv, pos, 8, &n_pos), 2);
}

Test(cli, unknown_option)
{
    reset();
    cr_assert_eq(PARSE("--nope"), 2);
    cr_assert_eq(PARSE("--nope=1"), 2);
    cr_assert_eq(PARSE("-x"), 2);
    cr_assert_eq(PARSE("--que", "x"), 2, "prefixes are not abbreviations");
    cr_assert_eq(PARSE("--queues", "x"), 2);
    cr_assert_eq(PARSE("--Queue", "x"), 2);
    cr_assert_eq(PARSE("-vq"), 2, "short options do not bundle");
}

Test(cli, missing_value)
{
    reset();
    cr_assert_eq(PARSE("--queue"), 2);
    cr_assert_eq(PARSE("-q"), 2);
    cr_assert_eq(PARSE("--verbose", "--concurrency"), 2);
    cr_assert_eq(PARSE("--timeout"), 2);
}

Test(cli, int_range_and_syntax)
{
    reset();
    static const char *const bad[] = {"0", "65", "-1", "abc", "08", "1.5",
                                      "", "+5", " 5", "5 ", "0x10",
                                      "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(PARSE("--concurrency", (char *)bad[i]), 2,
                     "'%s' accepted as --concurrency", bad[i]);
    cr_assert_eq(concurrency, 4, "a rejected value must not be stored");

    cr_assert_eq(PARSE("--concurrency", "1"), 0);
    cr_assert_eq(concurrency, 1);
    cr_assert_eq(PARSE("--concurrency", "64"), 0);
    cr_assert_eq(concurrency, 64);

    cr_assert_eq(PARSE("--offset", "-11"), 2);
    cr_assert_eq(PARSE("--offset", "11"), 2);
    cr_assert_eq(PARSE("--offset", "-"), 2);
    cr_assert_eq(PARSE("--offset", "-0"), 0);
    cr_assert_eq(offset, 0);
    cr_assert_eq(PARSE("--offset", "10"), 0);
    cr_assert_eq(offset, 10);
}

Test(cli, duration_values)
{
    reset();
    cr_assert_eq(PARSE("--timeout", "1h"), 0);
    cr_assert_eq(timeout_ms, 3600000);
    cr_assert_eq(PARSE("--timeout", "90"), 0, "bare seconds");
    cr_assert_eq(timeout_ms, 90000);
    cr_assert_eq(PARSE("--timeout", "2h"), 2, "over max");
    cr_assert_eq(PARSE("--timeout", "0s"), 2, "under min");
    cr_assert_eq(PARSE("--timeout", "5x"), 2);
    cr_assert_eq(PARSE("--timeout", "1.5s"), 2);
    cr_assert_eq(PARSE("--timeout="), 2);
    cr_assert_eq(timeout_ms, 90000);
}

Test(cli, size_values)
{
    reset();
    cr_assert_eq(PARSE("--max-payload", "1k"), 0);
    cr_assert_eq(max_payload, 1024);
    cr_assert_eq(PARSE("--max-payload", "2K"), 0);
    cr_assert_eq(max_payload, 2048);
    cr_assert_eq(PARSE("--max-payload", "3M"), 0);
    cr_assert_eq(max_payload, 3 * 1024 * 1024);
    cr_assert_eq(PARSE("--max-payload", "4kB"), 0);
    cr_assert_eq(max_payload, 4096);
    cr_assert_eq(PARSE("--max-payload", "5MiB"), 0);
    cr_assert_eq(max_payload, 5 * 1024 * 1024);
    cr_assert_eq(PARSE("--max-payload", "777"), 0);
    cr_assert_eq(max_payload, 777);
    cr_assert_eq(PARSE("--max-payload", "0"), 2, "under min");
    cr_assert_eq(PARSE("--max-payload", "2g"), 2);
    cr_assert_eq(PARSE("--max-payload", "2048m"), 2, "over max");
    cr_assert_eq(PARSE("--max-payload", "1kx"), 2);
    cr_assert_eq(PARSE("--max-payload", "k"), 2);
    cr_assert_eq(PARSE("--max-payload", "-1"), 2);
    cr_assert_eq(max_payload, 777);
}

Test(cli, string_and_flag_errors)
{
    reset();
    cr_assert_eq(PARSE("--queue="), 2, "empty string");
    cr_assert_eq(PARSE("--queue", ""), 2, "empty string");
    cr_assert_eq(PARSE("--verbose=maybe"), 2);
    cr_assert_str_eq(queue, "default");
}

Test(cli, help)
{
    reset();
    cr_assert_eq(PARSE("--help"), 1);
    cr_assert_eq(PARSE("-h"), 1);
    cr_assert_eq(PARSE("--queue", "x", "--help", "--nope"), 1,
                 "--help wins over later errors");
}

Test(cli, positionals_and_double_dash)
{
    reset();
    cr_assert_eq(PARSE("first", "--verbose", "second", "-", "--", "--queue",
                       "-x", "--help"),
                 0);
    cr_assert_eq(n_pos, 6);
    cr_assert_str_eq(pos[0], "first");
    cr_assert_str_eq(pos[1], "second");
    cr_assert_str_eq(pos[2], "-");
    cr_assert_str_eq(pos[3], "--queue");
    cr_assert_str_eq(pos[4], "-x");
    cr_assert_str_eq(pos[5], "--help");
    cr_assert_eq(verbose, 1);
    cr_assert_str_eq(queue, "default", "options after -- are positionals");
}

Test(cli, option_value_that_looks_like_option)
{
    reset();
    cr_assert_eq(PARSE("--queue", "--verbose"), 0);
    cr_assert_str_eq(queue, "--verbose");
    cr_assert_eq(verbose, 0);
    cr_assert_eq(n_pos, 0);
}

Test(cli, too_many_positionals)
{
    reset();
    char *argv[] = {"test", "a", "b", "c", NULL};
    cr_assert_eq(cli_parse(&cmd, 4, argv, pos, 2, &n_pos), 2);
    cr_assert_eq(cli_parse(&cmd, 3, argv, pos, 2, &n_pos), 0);
    cr_assert_eq(n_pos, 2);
    cr_assert_eq(cli_parse(&cmd, 2, argv, pos, 0, &n_pos), 2);
}

Test(cli, help_text_from_table)
{
    reset();
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    cli_print_help(&cmd, f);
    fclose(f);
    cr_assert(strstr(text, "jobrt test [options]") != NULL, "%s", text);
    cr_assert(strstr(text, "-q, --queue NAME") != NULL, "%s", text);
    cr_assert(strstr(text, "--max-payload SIZE") != NULL, "%s", text);
    cr_assert(strstr(text, "[env JOBRT_T_QUEUE]") != NULL, "%s", text);
    cr_assert(strstr(text, "[env JOBRT_T_VERBOSE: 1, 0, true, false, yes or "
                     "no]") != NULL, "%s", text);
    cr_assert(strstr(text, "-h, --help") != NULL, "%s", text);
    cr_assert(strstr(text, "Worker threads (default 4).") != NULL, "%s",
              text);
    free(text);
}

Test(cli, duration_error_names_the_range)
{
    reset();
    cr_assert_eq(PARSE_ERR("--timeout", "2h"), 2);
    expect_err("--timeout: expected a duration like 500ms, 30s, 5m, 2h or 7d, "
               "1ms to 1h, got '2h'");
}

Test(cli, format_duration)
{
    static const struct {
        int64_t ms;
        const char *want;
    } cases[] = {{0, "0ms"}, {1, "1ms"}, {1500, "1500ms"}, {1000, "1s"},
                 {90000, "90s"}, {120000, "2m"}, {7200000, "2h"},
                 {86400000, "1d"}, {90000000, "25h"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[32];
        cli_format_duration(cases[i].ms, out, sizeof out);
        cr_assert_str_eq(out, cases[i].want);
    }
}

/* ---- util_parse_duration_ms ---- */

static void expect_duration(const char *s, int64_t want)
{
    int64_t ms = -12345;
    cr_assert_eq(util_parse_duration_ms(s, &ms), 0, "'%s' rejected", s);
    cr_assert_eq(ms, want, "'%s': got %lld, want %lld", s, (long long)ms,
                 (long long)want);
}

static void expect_bad_duration(const char *s)
{
    int64_t ms = -12345;
    cr_assert_eq(util_parse_duration_ms(s, &ms), -1, "'%s' accepted", s);
    cr_assert_eq(ms, -12345, "'%s': output written on error", s);
}

Test(util_duration, units)
{
    expect_duration("250ms", 250);
    expect_duration("30s", 30000);
    expect_duration("5m", 300000);
    expect_duration("2h", 7200000);
    expect_duration("7d", 604800000);
    expect_duration("10", 10000);
    expect_duration("0", 0);
    expect_duration("0ms", 0);
    expect_duration("1ms", 1);
    /* the largest day count that fits in int64 ms */
    expect_duration("106751991167d", (int64_t)106751991167 * 86400000);
}

Test(util_duration, rejects)
{
    static const char *const bad[] = {
        "", "s", "ms", "-1s", "+1s", "1.5s", "05s", "00", "1 s", " 1s",
        "1s ", "1S", "1sec", "1msx", "1mm", "1w", "1y", "abc", "1h30m",
        "106751991168d", "99999999999999999999", "18446744073709551616ms"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_bad_duration(bad[i]);
}

/* ---- util_parse_u64 ---- */

static int u64(const char *s, uint64_t max, uint64_t *out)
{
    return util_parse_u64(s, strlen(s), max, out);
}

Test(util_u64, accepts)
{
    uint64_t v = 7;
    cr_assert_eq(u64("0", 0, &v), 0);
    cr_assert_eq(v, 0u);
    cr_assert_eq(u64("9", 9, &v), 0);
    cr_assert_eq(v, 9u);
    cr_assert_eq(u64("18446744073709551615", UINT64_MAX, &v), 0);
    cr_assert_eq(v, UINT64_MAX);
    cr_assert_eq(u64("1234567890", UINT64_MAX, &v), 0);
    cr_assert_eq(v, 1234567890u);
    /* only len bytes are read */
    cr_assert_eq(util_parse_u64("123", 2, 100, &v), 0);
    cr_assert_eq(v, 12u);
    cr_assert_eq(util_parse_u64("7x", 1, 100, &v), 0);
    cr_assert_eq(v, 7u);
}

Test(util_u64, rejects)
{
    static const char *const bad[] = {"", "00", "01", "+1", "-1", " 1", "1 ",
                                      "1.0", "1e3", "0x1", "a",
                                      "18446744073709551616",
                                      "99999999999999999999",
                                      "100000000000000000000", "١"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 42;
        cr_assert_eq(u64(bad[i], UINT64_MAX, &v), -1, "'%s' accepted",
                     bad[i]);
        cr_assert_eq(v, 42u, "'%s': output written on error", bad[i]);
    }
    uint64_t v = 42;
    cr_assert_eq(u64("10", 9, &v), -1, "over max");
    cr_assert_eq(u64("2147483648", 2147483647u, &v), -1);
    cr_assert_eq(u64("2147483647", 2147483647u, &v), 0);
    cr_assert_eq(util_parse_u64("12", 0, 100, &v), -1, "zero length");
    cr_assert_eq(util_parse_u64("1\0", 2, 100, &v), -1, "embedded NUL");
}
