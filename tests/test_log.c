/*
 * test_log.c - the log sink: level names, the threshold, the shape of a
 * line in both formats ("<time> <LEVEL> <module>: message [fields]", one
 * JSON object), one line per write, the job fields, and what must never
 * get through raw: control characters, ANSI escapes and invalid UTF-8
 * (escaped; json lines stay valid JSON and valid UTF-8, even cut). It
 * includes <syslog.h> on purpose: the runtime's level names must not
 * clash with syslog's LOG_* macros (a plugin or a later syslog sink
 * includes both).
 */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
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
    static char out[1 << 20];
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
    cr_assert_lt((size_t)(nl - out), LOG_LINE_MAX, "one bounded line");
    size_t mark = strlen(LOG_CUT_MARK);
    cr_assert(memcmp(nl - mark, LOG_CUT_MARK, mark) == 0, "marked as cut: "
              "%.*s", (int)(nl - out), out);
    cr_assert_not_null(strstr(nl + 1, "INFO  mod: after\n"),
                       "the next line starts on its own: %s", nl + 1);
    /* "2026-12-01T19:41:15.123Z": a UTC timestamp first */
    cr_assert_eq(out[4], '-');
    cr_assert_eq(out[10], 'T');
    cr_assert_eq(out[23], 'Z');
}

/* ---- escaping ------------------------------------------------------------ */

static const char *esc_text(const char *s, size_t len)
{
    static char out[4096];
    log_escape_text(s, len, out, sizeof out);
    return out;
}

static const char *esc_json(const char *s, size_t len)
{
    static char out[4096];
    log_escape_json(s, len, out, sizeof out);
    return out;
}

#define S(lit) lit, sizeof lit - 1

Test(log, text_escapes_controls_and_invalid_utf8)
{
    cr_assert_str_eq(esc_text(S("a\nb\tc\rd")), "a\\nb\\tc\\rd");
    cr_assert_str_eq(esc_text(S("\x1b[31mred")), "\\x1b[31mred");
    cr_assert_str_eq(esc_text(S("nul\0x")), "nul\\x00x");
    cr_assert_str_eq(esc_text(S("del\x7f")), "del\\x7f");
    cr_assert_str_eq(esc_text(S("back\\slash")), "back\\\\slash");
    /* valid UTF-8 stays as it is; C1 CSI (U+009B) is a terminal escape */
    cr_assert_str_eq(esc_text(S("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")),
                     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    cr_assert_str_eq(esc_text(S("\xc2\x9b" "31m")), "\\xc2\\x9b31m");
    /* a stray byte, an overlong NUL, a surrogate, a cut sequence */
    cr_assert_str_eq(esc_text(S("\xff")), "\\xff");
    cr_assert_str_eq(esc_text(S("\xc0\x80")), "\\xc0\\x80");
    cr_assert_str_eq(esc_text(S("\xed\xa0\x80")), "\\xed\\xa0\\x80");
    cr_assert_str_eq(esc_text(S("\xe2\x82")), "\\xe2\\x82");
}

Test(log, json_escapes_controls_and_invalid_utf8)
{
    cr_assert_str_eq(esc_json(S("a\"b\\c\nd")), "a\\\"b\\\\c\\nd");
    cr_assert_str_eq(esc_json(S("\x1b[31m")), "\\u001b[31m");
    cr_assert_str_eq(esc_json(S("\x01\x7f")), "\\u0001\\u007f");
    cr_assert_str_eq(esc_json(S("\xc2\x9b")), "\\u009b");
    cr_assert_str_eq(esc_json(S("\xe2\x80\xa8")), "\\u2028");
    cr_assert_str_eq(esc_json(S("\xff\xc0\x80")), "\\ufffd\\ufffd\\ufffd");
    cr_assert_str_eq(esc_json(S("\xc3\xa9")), "\xc3\xa9");
}

Test(log, escaping_is_cut_before_an_escape_and_marked)
{
    char out[16];
    /* 6 bytes of room before the mark: "ab\x1b" would be 6, "\x1b" 4 */
    size_t n = log_escape_text(S("ab\x1b\x1b"), out, sizeof out - 1);
    cr_assert_str_eq(out, "ab\\x1b" LOG_CUT_MARK, "%s", out);
    cr_assert_eq(n, strlen(out));
    n = log_escape_json(S("\x01\x01"), out, 8);
    cr_assert_eq(n, strlen(out));
    cr_assert_lt(n, 8);
}

/* ---- whole lines ---------------------------------------------------------- */

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static int valid_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i], n, cp, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 2, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            n = 3, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 4, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        if (i + n > len)
            return 0;
        for (unsigned k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += n;
    }
    return 1;
}

/* One line of out: exactly one '\n', at the end; no other control byte. */
static void assert_one_clean_line(const char *out)
{
    size_t len = strlen(out);
    cr_assert_gt(len, 0);
    cr_assert_eq(out[len - 1], '\n', "ends the line: %s", out);
    for (size_t i = 0; i + 1 < len; i++) {
        unsigned char c = (unsigned char)out[i];
        cr_assert(c >= 0x20 && c != 0x7f, "byte %zu is 0x%02x: %s", i, c,
                  out);
    }
    cr_assert_leq(len, LOG_LINE_MAX);
    cr_assert(valid_utf8((const unsigned char *)out, len), "UTF-8: %s", out);
}

/* Parses the one JSON line in out; the caller deletes it. */
static cJSON *parse_line(const char *out)
{
    assert_one_clean_line(out);
    cJSON *o = cJSON_Parse(out);
    cr_assert_not_null(o, "not JSON: %s", out);
    cr_assert(cJSON_IsObject(o));
    return o;
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char tricky[] =
    "boom\n2099-01-01T00:00:00.000Z ERROR forged: x\r\t\x1b[2J\x1b]0;t\x07"
    "\x7f\xc2\x9b" "1m \xff\xfe\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80 caf"
    "\xc3\xa9 \"q\" \\ end\xe2\x82";

static void write_tricky(void)
{
    log_job_t j = {.id = "id-1", .job = "bad\nname\x1b[31m", .version = 2,
                   .has_version = 1, .queue = "q", .attempt = 3,
                   .plugin = "p\x1b", .build_id = "b1",
                   .correlation_id = "c\"1"};
    log_job(JOBRT_LOG_WARN, "mod\n", &j, "%s", tricky);
}

Test(log, json_line_of_tricky_input_is_valid_json)
{
    log_set_format(LOG_FORMAT_JSON);
    log_set_tag("w2 ");
    const char *out = capture(write_tricky);
    cJSON *o = parse_line(out);
    cr_assert_str_eq(str_of(o, "level"), "warn");
    cr_assert_str_eq(str_of(o, "worker"), "w2");
    cr_assert_str_eq(str_of(o, "module"), "mod\n");
    cr_assert_str_eq(str_of(o, "id"), "id-1");
    cr_assert_str_eq(str_of(o, "job"), "bad\nname\x1b[31m");
    cr_assert_str_eq(str_of(o, "queue"), "q");
    cr_assert_str_eq(str_of(o, "plugin"), "p\x1b");
    cr_assert_str_eq(str_of(o, "build_id"), "b1");
    cr_assert_str_eq(str_of(o, "correlation_id"), "c\"1");
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "v")));
    cr_assert_eq(cJSON_GetObjectItem(o, "v")->valueint, 2);
    cr_assert_eq(cJSON_GetObjectItem(o, "attempt")->valueint, 3);
    const char *msg = str_of(o, "msg");
    cr_assert_not_null(msg);
    /* what is valid comes back whole; each bad byte is U+FFFD */
    cr_assert_not_null(strstr(msg, "boom\n2099-01-01T00:00:00.000Z ERROR "
                                   "forged: x\r\t\x1b[2J\x1b]0;t\x07\x7f"));
    cr_assert_not_null(strstr(msg, " caf\xc3\xa9 \"q\" \\ end"));
    cr_assert_not_null(strstr(msg, "\xef\xbf\xbd"), "U+FFFD for bad bytes");
    const char *ts = str_of(o, "ts");
    cr_assert_eq(strlen(ts), 24, "%s", ts);
    cr_assert_eq(ts[10], 'T');
    cr_assert_eq(ts[23], 'Z');
    cr_assert_null(cJSON_GetObjectItem(o, "payload"), "payloads are off");
    cJSON_Delete(o);
}

Test(log, text_line_of_tricky_input_stays_one_line)
{
    log_set_format(LOG_FORMAT_TEXT);
    log_set_tag("w2 ");
    const char *out = capture(write_tricky);
    assert_one_clean_line(out);
    cr_assert_not_null(strstr(out, " WARN  w2 mod\\n: boom\\n2099-01-01T"),
                       "%s", out);
    cr_assert_not_null(strstr(out, "\\x1b[2J"), "%s", out);
    cr_assert_not_null(strstr(out, "\\xc2\\x9b1m \\xff\\xfe"), "%s", out);
    cr_assert_not_null(strstr(out, " [id=id-1 job=bad\\nname\\x1b[31m v=2 "
                                   "queue=q attempt=3 plugin=p\\x1b "
                                   "build_id=b1 correlation_id=c\"1]\n"),
                       "%s", out);
}

/* Random bytes as messages and job names: every json line parses. */
static void write_random(void)
{
    unsigned seed = 12345;
    for (int i = 0; i < 300; i++) {
        char msg[600], name[80];
        size_t n = (size_t)(rand_r(&seed) % (int)sizeof msg);
        for (size_t k = 0; k < n; k++)
            msg[k] = (char)(rand_r(&seed) & 0xff);
        size_t m = (size_t)(rand_r(&seed) % (int)(sizeof name - 1));
        for (size_t k = 0; k < m; k++)
            name[k] = (char)(1 + rand_r(&seed) % 255);
        name[m] = '\0';
        log_job_t j = {.id = "r", .job = name};
        log_job(JOBRT_LOG_INFO, "rand", &j, "%.*s", (int)n, msg);
    }
}

Test(log, json_lines_of_random_bytes_all_parse)
{
    log_set_format(LOG_FORMAT_JSON);
    const char *out = capture(write_random);
    int lines = 0;
    for (const char *p = out; *p;) {
        const char *nl = strchr(p, '\n');
        cr_assert_not_null(nl);
        char line[LOG_LINE_MAX + 1];
        size_t len = (size_t)(nl - p) + 1;
        cr_assert_leq(len, LOG_LINE_MAX);
        memcpy(line, p, len);
        line[len] = '\0';
        cJSON *o = parse_line(line);
        cr_assert_str_eq(str_of(o, "id"), "r");
        cJSON_Delete(o);
        lines++;
        p = nl + 1;
    }
    cr_assert_eq(lines, 300);
}

static void write_many_controls(void)
{
    char msg[LOG_MSG_MAX + 100];
    memset(msg, 0x01, sizeof msg - 1); /* 6 bytes each in json */
    msg[sizeof msg - 1] = '\0';
    log_job_t j = {.id = "c", .job = msg, .correlation_id = msg};
    log_job(JOBRT_LOG_INFO, "mod", &j, "%s", msg);
}

Test(log, a_json_line_cut_to_fit_stays_valid_and_marked)
{
    log_set_format(LOG_FORMAT_JSON);
    const char *out = capture(write_many_controls);
    cJSON *o = parse_line(out);
    const char *msg = str_of(o, "msg");
    cr_assert_not_null(msg);
    size_t len = strlen(msg);
    cr_assert_gt(len, 100);
    cr_assert_str_eq(msg + len - strlen(LOG_CUT_MARK), LOG_CUT_MARK);
    const char *job = str_of(o, "job");
    cr_assert_str_eq(job + strlen(job) - strlen(LOG_CUT_MARK), LOG_CUT_MARK);
    cJSON_Delete(o);
}

static void write_payloads(void)
{
    char big[3000];
    memset(big, 'p', sizeof big);
    log_job_t j = {.id = "j1", .payload = "{\"a\":\"x\ny\"}",
                   .payload_len = 11};
    LOGJW("worker", &j, "small");
    j.payload = big;
    j.payload_len = sizeof big;
    LOGJW("worker", &j, "big");
}

Test(log, payloads_only_with_the_switch_and_cut)
{
    log_set_format(LOG_FORMAT_JSON);
    const char *out = capture(write_payloads);
    cr_assert_null(strstr(out, "payload"), "off by default: %s", out);
    log_set_payloads(1);
    out = capture(write_payloads);
    const char *nl = strchr(out, '\n');
    cr_assert_not_null(nl);
    char line[LOG_LINE_MAX + 1];
    memcpy(line, out, (size_t)(nl - out) + 1);
    line[nl - out + 1] = '\0';
    cJSON *o = parse_line(line);
    cr_assert_str_eq(str_of(o, "payload"), "{\"a\":\"x\ny\"}");
    cJSON_Delete(o);
    o = parse_line(nl + 1);
    const char *p = str_of(o, "payload");
    cr_assert_eq(strlen(p), LOG_PAYLOAD_MAX + strlen(LOG_CUT_MARK), "%zu",
                 strlen(p));
    cr_assert_str_eq(p + LOG_PAYLOAD_MAX, LOG_CUT_MARK);
    cJSON_Delete(o);
    log_set_format(LOG_FORMAT_TEXT);
    out = capture(write_payloads);
    cr_assert_not_null(strstr(out, "small [id=j1 payload={\"a\":\"x\\ny\"}]\n"),
                       "%s", out);
}

static void write_summary(void)
{
    const log_num_t nums[] = {{"succeeded", 12, 0}, {"rate", 2.5, 2}};
    log_nums(JOBRT_LOG_INFO, "worker", nums, 2, "summary: %d", 12);
}

Test(log, numbers_are_json_numbers)
{
    log_set_format(LOG_FORMAT_JSON);
    cJSON *o = parse_line(capture(write_summary));
    const cJSON *n = cJSON_GetObjectItem(o, "succeeded");
    cr_assert(cJSON_IsNumber(n) && n->valuedouble == 12);
    n = cJSON_GetObjectItem(o, "rate");
    cr_assert(cJSON_IsNumber(n) && n->valuedouble == 2.5);
    cr_assert_null(cJSON_GetObjectItem(o, "worker"), "no tag set");
    cJSON_Delete(o);
    log_set_format(LOG_FORMAT_TEXT);
    const char *out = capture(write_summary);
    cr_assert_not_null(strstr(out, " INFO  worker: summary: 12\n"), "%s", out);
}

static void write_error(void) { LOGE("mod", "bad \x1b[31m\nthing"); }

Test(log, the_last_error_is_kept_escaped)
{
    log_set_format(LOG_FORMAT_JSON);
    capture(write_error);
    char last[256];
    log_last_error(last, sizeof last);
    cr_assert_str_eq(last, "mod: bad \\x1b[31m\\nthing");
}

Test(log, format_names)
{
    cr_assert_eq(log_set_format_name("json"), 0);
    cr_assert_eq(log_get_format(), LOG_FORMAT_JSON);
    cr_assert_str_eq(log_format_name(), "json");
    cr_assert_eq(log_set_format_name("TEXT"), 0);
    cr_assert_eq(log_get_format(), LOG_FORMAT_TEXT);
    cr_assert_eq(log_set_format_name("xml"), -1);
    cr_assert_eq(log_get_format(), LOG_FORMAT_TEXT, "unchanged");
}
