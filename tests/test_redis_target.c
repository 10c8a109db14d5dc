/*
 * test_redis_target.c - where Redis is and how to log in: URL forms (user
 * and password, percent-encoding, IPv6, unix sockets, db), the password
 * from the environment or a file, a password given twice, and that no
 * error line or display string ever contains the password.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/redis_target.h"

#define SECRET "Zq7-s3cr3t"

static redis_target_t parse_ok(const char *url)
{
    redis_target_t t;
    char err[1024] = "";
    cr_assert_eq(redis_target_parse(url, &t, err, sizeof err), 0, "%s: %s",
                 url, err);
    cr_assert_null(strstr(t.display, SECRET), "display %s", t.display);
    return t;
}

/* Parsing fails with an error naming the URL, without the password. */
static void parse_fails(const char *url, const char *want)
{
    redis_target_t t;
    char err[1024] = "";
    cr_assert_eq(redis_target_parse(url, &t, err, sizeof err), -1, "%s", url);
    cr_assert_not_null(strstr(err, want), "%s: error '%s' lacks '%s'", url,
                       err, want);
    cr_assert_null(strstr(err, SECRET), "%s: error shows the password: %s",
                   url, err);
    cr_assert_null(strstr(err, "s3cr3t"), "%s: %s", url, err);
}

Test(redis_target, host_port_db)
{
    redis_target_t t = parse_ok("redis://10.0.0.7:6380/3");
    cr_assert_str_eq(t.host, "10.0.0.7");
    cr_assert_eq(t.port, 6380);
    cr_assert_eq(t.db, 3);
    cr_assert_null(t.user);
    cr_assert_null(t.password);
    cr_assert_str_eq(t.display, "10.0.0.7:6380/3");
    redis_target_free(&t);
    t = parse_ok("redis://localhost");
    cr_assert_eq(t.port, 6379);
    cr_assert_eq(t.db, 0);
    cr_assert_str_eq(t.display, "localhost:6379");
    redis_target_free(&t);
    t = parse_ok("redis://[::1]:7000/");
    cr_assert_str_eq(t.host, "::1");
    cr_assert_eq(t.port, 7000);
    redis_target_free(&t);
}

Test(redis_target, user_and_password)
{
    redis_target_t t = parse_ok("redis://app:" SECRET "@h:1/2");
    cr_assert_str_eq(t.user, "app");
    cr_assert_str_eq(t.password, SECRET);
    cr_assert_str_eq(t.host, "h");
    cr_assert_str_eq(t.display, "app@h:1/2");
    redis_target_free(&t);
    /* only a password: the default user */
    t = parse_ok("redis://:" SECRET "@h");
    cr_assert_null(t.user);
    cr_assert_str_eq(t.password, SECRET);
    redis_target_free(&t);
    /* no ':' in the userinfo: a password, as redis-cli reads it */
    t = parse_ok("redis://" SECRET "@h");
    cr_assert_null(t.user);
    cr_assert_str_eq(t.password, SECRET);
    cr_assert_str_eq(t.display, "h:6379");
    redis_target_free(&t);
}

Test(redis_target, percent_decoding)
{
    redis_target_t t =
        parse_ok("redis://us%65r:" SECRET "%40%3a%2F%25x@h:6379");
    cr_assert_str_eq(t.user, "user");
    cr_assert_str_eq(t.password, SECRET "@:/%x");
    redis_target_free(&t);
    /* an unencoded '@' in the password still parses (the last '@') */
    t = parse_ok("redis://:" SECRET "@x@h");
    cr_assert_str_eq(t.password, SECRET "@x");
    cr_assert_str_eq(t.host, "h");
    redis_target_free(&t);
    parse_fails("redis://:" SECRET "%4@h", "percent-encoding in the password");
    parse_fails("redis://:" SECRET "%00@h", "percent-encoding");
    parse_fails("redis://a%zz:" SECRET "@h", "percent-encoding in the user");
}

Test(redis_target, unix_sockets)
{
    redis_target_t t = parse_ok("unix:///run/redis.sock?db=4");
    cr_assert_str_eq(t.path, "/run/redis.sock");
    cr_assert_null(t.host);
    cr_assert_eq(t.db, 4);
    cr_assert_str_eq(t.display, "unix:/run/redis.sock?db=4");
    redis_target_free(&t);
    t = parse_ok("unix://app:" SECRET "@/run/r@dis.sock");
    cr_assert_str_eq(t.user, "app");
    cr_assert_str_eq(t.password, SECRET);
    cr_assert_str_eq(t.path, "/run/r@dis.sock");
    cr_assert_str_eq(t.display, "app@unix:/run/r@dis.sock");
    redis_target_free(&t);
}

Test(redis_target, errors_show_the_url_redacted)
{
    parse_fails("http://app:" SECRET "@h", "'http://app:***@h' must start");
    parse_fails("redis://app:" SECRET "@h:99999", "'redis://app:***@h:99999' "
                "has a bad port");
    parse_fails("redis://:" SECRET "@h/x", "the path must be a db number");
    parse_fails("redis://" SECRET "@", "'redis://***@' has no host");
    parse_fails("redis://app:" SECRET "@h:0", "bad port");
    parse_fails("unix://:" SECRET "@/s?database=1", "expected ?db=N");
    parse_fails("unix://:" SECRET "@", "needs an absolute socket path");
    parse_fails("redis://[::1:6379", "bad [IPv6] host");
}

Test(redis_target, redact)
{
    char out[256];
    redis_url_redact("redis://u:" SECRET "@h:1/2", out, sizeof out);
    cr_assert_str_eq(out, "redis://u:***@h:1/2");
    redis_url_redact("redis://" SECRET "@h", out, sizeof out);
    cr_assert_str_eq(out, "redis://***@h");
    redis_url_redact("redis://h:1", out, sizeof out);
    cr_assert_str_eq(out, "redis://h:1");
    redis_url_redact("unix:///tmp/a@b.sock", out, sizeof out);
    cr_assert_str_eq(out, "unix:///tmp/a@b.sock");
}

static char *write_file(const char *content)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/jobrt-test-pw.XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    size_t len = strlen(content);
    cr_assert_eq(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

Test(redis_target, password_file)
{
    char err[1024] = "", *pw = NULL;
    char *path = write_file(SECRET "\r\nsecond line\n");
    cr_assert_eq(redis_password_read_file(path, &pw, err, sizeof err), 0,
                 "%s", err);
    cr_assert_str_eq(pw, SECRET);
    free(pw);
    unlink(path);

    path = write_file("\nnot the first line\n");
    cr_assert_eq(redis_password_read_file(path, &pw, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "is empty"), "%s", err);
    cr_assert_not_null(strstr(err, path), "%s", err);
    unlink(path);

    cr_assert_eq(redis_password_read_file(path, &pw, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "cannot open"), "%s", err);
    cr_assert_not_null(strstr(err, path), "%s", err);

    char *big = malloc(REDIS_PASSWORD_MAX + 10);
    cr_assert_not_null(big);
    memset(big, 'x', REDIS_PASSWORD_MAX + 8);
    big[REDIS_PASSWORD_MAX + 8] = '\0';
    path = write_file(big);
    free(big);
    cr_assert_eq(redis_password_read_file(path, &pw, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "longer than"), "%s", err);
    unlink(path);
}

Test(redis_target, resolve_sources)
{
    redis_target_t t;
    char err[1024] = "";
    redis_target_spec_t spec = {.url = "redis://app:@h",
                                .password = SECRET "-env",
                                .password_from = "environment X"};
    cr_assert_eq(redis_target_resolve(&spec, &t, err, sizeof err), 0, "%s",
                 err);
    cr_assert_str_eq(t.user, "app");
    cr_assert_str_eq(t.password, SECRET "-env");
    redis_target_free(&t);

    char *path = write_file(SECRET "-file\n");
    redis_target_spec_t from_file = {.url = "redis://h",
                                     .password_file = path,
                                     .password_file_from = "--pwfile"};
    cr_assert_eq(redis_target_resolve(&from_file, &t, err, sizeof err), 0,
                 "%s", err);
    cr_assert_null(t.user);
    cr_assert_str_eq(t.password, SECRET "-file");
    redis_target_free(&t);

    /* twice: one error naming both places, no password */
    redis_target_spec_t twice = {.url = "redis://:" SECRET "@h",
                                 .password_file = path,
                                 .password_file_from = "--pwfile"};
    cr_assert_eq(redis_target_resolve(&twice, &t, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "the --redis URL and in --pwfile"), "%s",
                       err);
    cr_assert_null(strstr(err, SECRET), "%s", err);
    twice.url = "redis://h";
    twice.password = SECRET;
    twice.password_from = "environment X";
    cr_assert_eq(redis_target_resolve(&twice, &t, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "in environment X and in --pwfile"), "%s",
                       err);
    unlink(path);

    /* an unreadable file is named, with where it was given */
    cr_assert_eq(redis_target_resolve(&from_file, &t, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "--pwfile: '"), "%s", err);
    cr_assert_not_null(strstr(err, path), "%s", err);

    /* a user needs a password from somewhere */
    redis_target_spec_t user_only = {.url = "redis://app:@h"};
    cr_assert_eq(redis_target_resolve(&user_only, &t, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "names user 'app' but no password"), "%s",
                       err);
}

Test(redis_target, copy)
{
    redis_target_t a = parse_ok("redis://app:" SECRET "@h:7/1"), b;
    cr_assert_eq(redis_target_copy(&b, &a), 0);
    redis_target_free(&a);
    cr_assert_str_eq(b.user, "app");
    cr_assert_str_eq(b.password, SECRET);
    cr_assert_str_eq(b.host, "h");
    cr_assert_eq(b.port, 7);
    cr_assert_eq(b.db, 1);
    cr_assert_str_eq(b.display, "app@h:7/1");
    redis_target_free(&b);
    cr_assert_null(b.password);
}
