/*
 * test_scripts_cli.c - the producer clients (clients/python, clients/node)
 * run the CLI's ENQUEUE and DLQ_RETRY scripts from .lua files of their own
 * packages; each must be byte for byte the runtime's (queue/scripts_cli.c),
 * so a client and the runtime can never disagree on what a delayed, deduped
 * or retried job looks like in Redis.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/scripts.h"

/* The whole of SOURCE_DIR/rel, NUL-terminated; fails the test if absent. */
static char *read_source_file(const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", JOBRT_SOURCE_DIR, rel);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    char *text = malloc(1 << 20);
    cr_assert_not_null(text);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    cr_assert(feof(f), "%s is larger than 1 MiB", path);
    fclose(f);
    text[n] = '\0';
    return text;
}

static void expect_copy(const char *rel, const char *script)
{
    char *text = read_source_file(rel);
    cr_assert_str_eq(text, script,
                     "%s differs from the runtime's script in "
                     "runtime/queue/scripts_cli.c: copy it from there",
                     rel);
    free(text);
}

Test(scripts_cli, python_client_runs_the_runtimes_scripts)
{
    expect_copy("clients/python/jobrt/lua/enqueue.lua", queue_script_enqueue);
    expect_copy("clients/python/jobrt/lua/dlq_retry.lua",
                queue_script_dlq_retry);
}

Test(scripts_cli, node_client_runs_the_runtimes_scripts)
{
    expect_copy("clients/node/lua/enqueue.lua", queue_script_enqueue);
    expect_copy("clients/node/lua/dlq_retry.lua", queue_script_dlq_retry);
}
