/*
 * test_generations.c - reload by generations (plugin/generations.h) on the
 * real hot-reload test builds (tests/plugins/reload): a changed file
 * becomes a new generation the router serves at once while a job holding
 * the old one keeps it; the old one unloads only when released and is
 * verified gone; unchanged files, bad builds, pinned plugins, removals
 * and a plugin moving to a new file name.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/generations.h"
#include "plugin/host_api.h"
#include "plugin/loader.h"

#define RELOAD JOBRT_RELOAD_DIR

static char dir[256];
static loader_t *loader;
static generations_t *g;

/* Called by each test (explicitly: cppcheck cannot parse a TestSuite with
 * .init/.fini). */
static void setup(void)
{
    umask(022);
    snprintf(dir, sizeof dir, "%s/jobrt-gen-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    chmod(dir, 0755);
    char err[512];
    loader = loader_create(NULL, host_api_get(), err, sizeof err);
    cr_assert_not_null(loader, "%s", err);
    g = generations_create(loader, dir);
    cr_assert_not_null(g);
}

static void teardown(void)
{
    generations_destroy(g);
    loader_destroy(loader);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* Installs build (a file of RELOAD) as name by rename, as a deploy does. */
static void install(const char *build, const char *name)
{
    char src[512], tmp[512], dst[512], cmd[1600];
    snprintf(src, sizeof src, "%s/%s", RELOAD, build);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chmod 0644 '%s'", src, tmp,
             tmp);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    cr_assert_eq(rename(tmp, dst), 0);
}

static void uninstall(const char *name)
{
    char dst[512];
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    cr_assert_eq(unlink(dst), 0);
}

/* Reloads and returns the kind of the only change for name. */
static gen_change_kind_t reload_one(const char *name, gen_change_t *out)
{
    gen_changes_t ch = {0};
    char err[512], path[512];
    cr_assert_eq(generations_reload(g, NULL, NULL, &ch, err, sizeof err), 0,
                 "%s", err);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int found = -1;
    for (size_t i = 0; i < ch.n; i++)
        if (strcmp(ch.items[i].file, path) == 0)
            found = (int)i;
    cr_assert_geq(found, 0, "no change reported for %s", path);
    *out = ch.items[found];
    gen_changes_free(&ch);
    return out->kind;
}

static const plugin_handler_t *acquire(uint32_t version)
{
    const plugin_handler_t *h = NULL;
    route_status_t st = router_acquire(g->router, "swap", 4, version, &h);
    return st == ROUTE_OK ? h : NULL;
}

static int mapped(const char *path)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        found |= strstr(line, path) != NULL;
    if (f)
        fclose(f);
    return found;
}

Test(generations, reload_swaps_new_jobs_and_drains_old)
{
    setup();
    gen_change_t c;
    install("swap_a.so", "swap.so");
    cr_assert_eq(reload_one("swap.so", &c), GEN_LOADED, "%s", c.reason);
    const plugin_handler_t *old = acquire(1);
    cr_assert_not_null(old);
    const struct jobrt_plugin *a = old->plugin;
    char a_copy[1024];
    snprintf(a_copy, sizeof a_copy, "%s", a->copy_path);
    unsigned long long a_gen = a->generation;
    cr_assert(mapped(a_copy), "generation a should be mapped");

    install("swap_b.so", "swap.so");
    cr_assert_eq(reload_one("swap.so", &c), GEN_RELOADED, "%s", c.reason);
    cr_assert_str_neq(c.from_build, c.to_build);
    const plugin_handler_t *now = acquire(1);
    cr_assert_not_null(now);
    cr_assert_neq(now->plugin, a, "a job dispatched after the swap must get "
                  "the new generation");
    cr_assert_gt(now->plugin->generation, a_gen);
    cr_assert_str_neq(now->plugin->build_id, a->build_id);
    router_release(now);

    /* the job that took a before the swap still holds it */
    cr_assert_eq(g->retired.count, 1);
    cr_assert_eq(generations_reap(g), 1);
    cr_assert(mapped(a_copy), "a must stay mapped while a job runs in it");
    cr_assert_eq(g->unloaded, 0);
    router_release(old);
    cr_assert_eq(generations_reap(g), 0);
    cr_assert_eq(g->retired.count, 0);
    cr_assert_eq(g->unloaded, 1);
    cr_assert_eq(g->leaked, 0);
    cr_assert_not(mapped(a_copy), "a must be gone from /proc/self/maps");
    teardown();
}

Test(generations, same_bytes_are_a_noop)
{
    setup();
    gen_change_t c;
    install("swap_a.so", "swap.so");
    cr_assert_eq(reload_one("swap.so", &c), GEN_LOADED);
    const struct jobrt_plugin *before = g->active.head;
    install("swap_a.so", "swap.so"); /* a new inode, the same bytes */
    cr_assert_eq(reload_one("swap.so", &c), GEN_UNCHANGED);
    cr_assert_eq(g->active.head, before);
    cr_assert_eq(g->retired.count, 0);
    teardown();
}

Test(generations, a_bad_build_leaves_the_old_one_serving)
{
    setup();
    static const char *bad[] = {"swap_abi.so", "swap_initfail.so",
                                "swap_missing.so"};
    gen_change_t c;
    install("swap_a.so", "swap.so");
    cr_assert_eq(reload_one("swap.so", &c), GEN_LOADED);
    const struct jobrt_plugin *a = g->active.head;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        install(bad[i], "swap.so");
        cr_assert_eq(reload_one("swap.so", &c), GEN_REJECTED, "%s", bad[i]);
        cr_assert_neq(c.reason[0], '\0');
        const plugin_handler_t *h = acquire(1);
        cr_assert_not_null(h, "after %s", bad[i]);
        cr_assert_eq(h->plugin, a, "after %s the old build serves", bad[i]);
        router_release(h);
        cr_assert_eq(g->retired.count, 0);
    }
    teardown();
}

Test(generations, a_pinned_plugin_is_served_but_never_replaced)
{
    setup();
    gen_change_t c;
    install("swap_pinned.so", "swap.so");
    cr_assert_eq(reload_one("swap.so", &c), GEN_LOADED, "%s", c.reason);
    cr_assert_neq(g->active.head->pin_reason[0], '\0');
    const struct jobrt_plugin *pinned = g->active.head;
    install("swap_a.so", "swap.so");
    cr_assert_eq(reload_one("swap.so", &c), GEN_REFUSED);
    cr_assert(strstr(c.reason, "restart") != NULL, "%s", c.reason);
    cr_assert_eq(g->active.head, pinned);
    uninstall("swap.so");
    cr_assert_eq(reload_one("swap.so", &c), GEN_REFUSED);
    cr_assert_eq(g->active.head, pinned);
    teardown();
}

Test(generations, removal_unserves_and_a_new_name_may_take_over)
{
    setup();
    gen_change_t c;
    install("swap_a.so", "swap_old.so");
    cr_assert_eq(reload_one("swap_old.so", &c), GEN_LOADED);
    /* the same plugin under a new file name, the old file gone: allowed */
    uninstall("swap_old.so");
    install("swap_c.so", "swap_new.so");
    cr_assert_eq(reload_one("swap_new.so", &c), GEN_LOADED, "%s", c.reason);
    const plugin_handler_t *h = acquire(2);
    cr_assert_not_null(h, "swap_c serves v2");
    router_release(h);
    cr_assert_eq(g->active.count, 1);
    generations_reap(g);
    cr_assert_eq(g->unloaded, 1);
    uninstall("swap_new.so");
    cr_assert_eq(reload_one("swap_new.so", &c), GEN_REMOVED);
    cr_assert_null(acquire(1), "nothing serves swap once its file is gone");
    cr_assert_eq(g->active.count, 0);
    teardown();
}

Test(generations, a_second_plugin_claiming_the_same_jobs_is_a_conflict)
{
    setup();
    gen_change_t c;
    install("swap_a.so", "one.so");
    cr_assert_eq(reload_one("one.so", &c), GEN_LOADED);
    install("swap_b.so", "two.so");
    cr_assert_eq(reload_one("two.so", &c), GEN_REJECTED);
    cr_assert(strstr(c.reason, "already") != NULL, "%s", c.reason);
    teardown();
}

Test(generations, twenty_swaps_leave_one_generation_mapped)
{
    setup();
    gen_change_t c;
    char first_copy[1024] = "";
    for (int i = 0; i < 21; i++) {
        install(i % 2 ? "swap_b.so" : "swap_a.so", "swap.so");
        cr_assert_eq(reload_one("swap.so", &c),
                     i ? GEN_RELOADED : GEN_LOADED, "round %d: %s", i,
                     c.reason);
        if (i == 0)
            snprintf(first_copy, sizeof first_copy, "%s",
                     g->active.head->copy_path);
    }
    cr_assert_eq(g->unloaded, 20);
    cr_assert_eq(g->leaked, 0);
    cr_assert_eq(g->retired.count, 0);
    cr_assert_not(mapped(first_copy));
    teardown();
}
