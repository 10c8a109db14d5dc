/*
 * test_sentinel.c - the --sentinel list and --master-name (queue/
 * sentinel.h): what is accepted, what is refused with which line, the
 * display string, and a copy of the target keeping the list; and a lookup
 * against Sentinels that do not answer (connection refused) says so for
 * each. The lookups against real Sentinels are in tests/e2e/sentinel.sh.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "queue/redis_target.h"
#include "queue/sentinel.h"

static redis_target_t target(void)
{
    redis_target_t t;
    char err[256];
    cr_assert_eq(redis_target_parse("redis://app:pw@ignored:1/2", &t, err,
                                    sizeof err), 0, "%s", err);
    return t;
}

Test(sentinel, a_list_and_a_name_are_kept_and_shown)
{
    redis_target_t t = target();
    char err[256];
    cr_assert_eq(sentinel_set(&t, "10.0.0.5:26379,s2.example:26380", "jobs",
                              err, sizeof err), 0, "%s", err);
    cr_assert_eq(t.n_sentinels, 2);
    cr_assert_str_eq(t.sentinel_host[1], "s2.example");
    cr_assert_eq(t.sentinel_port[1], 26380);
    cr_assert_str_eq(t.master_name, "jobs");
    cr_assert_str_eq(t.display, "app@jobs via sentinel 10.0.0.5:26379,...");
    cr_assert_null(strstr(t.display, "pw"), "the password is shown");
    redis_target_t copy;
    cr_assert_eq(redis_target_copy(&copy, &t), 0);
    cr_assert_eq(copy.n_sentinels, 2);
    cr_assert_str_eq(copy.sentinel_host[0], "10.0.0.5");
    cr_assert_str_eq(copy.master_name, "jobs");
    cr_assert_neq(copy.sentinel_host[0], t.sentinel_host[0], "not a copy");
    redis_target_free(&copy);
    redis_target_free(&t);
}

Test(sentinel, bad_lists_and_names_are_refused_naming_the_part)
{
    static const struct {
        const char *list, *name, *says;
    } bad[] = {
        {"host", "m", "got 'host'"},
        {"h:0", "m", "got 'h:0'"},
        {"h:65536", "m", "got 'h:65536'"},
        {"h:1x", "m", "got 'h:1x'"},
        {":26379", "m", "got ':26379'"},
        {"h:1,,h:2", "m", "got ''"},
        {"h:1,", "m", "ends with ','"},
        {"", "m", "expected HOST:PORT"},
        {"h:1", "", "--master-name"},
        {"h:1", "a b", "--master-name"},
        {"h:1", NULL, "--master-name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        redis_target_t t = target();
        char err[256] = "";
        cr_assert_eq(sentinel_set(&t, bad[i].list, bad[i].name, err,
                                  sizeof err), -1, "%s accepted",
                     bad[i].list);
        cr_assert(strstr(err, bad[i].says) != NULL, "'%s': %s", bad[i].list,
                  err);
        redis_target_free(&t);
    }
    char many[512] = "";
    for (int i = 0; i <= SENTINEL_MAX; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%sh:%d",
                 i ? "," : "", 1000 + i);
    redis_target_t t = target();
    char err[256];
    cr_assert_eq(sentinel_set(&t, many, "m", err, sizeof err), -1);
    cr_assert(strstr(err, "at most 16") != NULL, "%s", err);
    redis_target_free(&t);
}

Test(sentinel, a_lookup_with_no_sentinel_answering_says_so_for_each)
{
    redis_target_t t = target();
    char err[768], host[256];
    int port = 0, config = 1;
    /* port 1 on loopback: nothing listens (connection refused at once) */
    cr_assert_eq(sentinel_set(&t, "127.0.0.1:1,127.0.0.1:1", "m", err,
                              sizeof err), 0);
    cr_assert_eq(sentinel_lookup(&t, host, sizeof host, &port, &config, err,
                                 sizeof err), -1);
    cr_assert_eq(config, 0, "unreachable is not a configuration error");
    cr_assert(strstr(err, "sentinel 127.0.0.1:1: ") != NULL, "%s", err);
    cr_assert(strstr(err, "; sentinel 127.0.0.1:1: ") != NULL,
              "not both: %s", err);
    redis_target_free(&t);
}
