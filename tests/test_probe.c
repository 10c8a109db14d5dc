/*
 * test_probe.c - unit tests for the plugin probe (runtime/plugin/probe.h)
 * and the loader's use of it, with the real jobrt binary ($JOBRT_BIN, set
 * by ctest) as the child: each bad plugin of the zoo's probe/ directory
 * (a constructor that segfaults or calls exit(), an init() that hangs or
 * aborts) is rejected with one line saying what happened, within the time
 * limit, leaving no child behind; a constructor's exit(0) is no success;
 * a good plugin passes, its init() and fini() having run in the child;
 * the loader's own refusals come back word for word; a loader with the
 * probe on survives the whole probe/ directory and loads the good one,
 * and a reload does not probe an unchanged file again. (A plugin's exit()
 * in the test process itself fails the test: exit_guard.)
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "plugin/generations.h"
#include "plugin/host_api.h"
#include "plugin/loader.h"
#include "plugin/probe.h"

#define ZOO JOBRT_ZOO_DIR
#define PROBE_ZOO ZOO "/probe"

static char tmp_root[256]; /* $TMPDIR (run dirs) and the trace dir */
static char trace_dir[300];
static int test_done; /* teardown() was reached */

/* A plugin constructor's exit(0) in this process (what the probe is
 * there to prevent) would end the test early and look like a pass. */
static void exit_guard(void)
{
    if (!test_done) {
        fprintf(stderr, "the test process exited before the test ended (a "
                "plugin called exit() in it?)\n");
        _exit(99);
    }
}

/* The jobrt binary: ctest sets JOBRT_BIN; run by hand, the build's. */
static const char *jobrt_bin(void)
{
    const char *b = getenv("JOBRT_BIN");
    return b && *b ? b : JOBRT_BIN_DEFAULT;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void setup(void)
{
    test_done = 0;
    atexit(exit_guard);
    snprintf(tmp_root, sizeof tmp_root, "/tmp/jobrt-test-probe-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp_root));
    setenv("TMPDIR", tmp_root, 1);
    snprintf(trace_dir, sizeof trace_dir, "%s/trace", tmp_root);
    cr_assert_eq(mkdir(trace_dir, 0700), 0);
    setenv("JOBRT_ZOO_TRACE_DIR", trace_dir, 1);
    cr_assert(access(jobrt_bin(), X_OK) == 0, "no jobrt binary at %s",
              jobrt_bin());
}

static void teardown(void)
{
    nftw(tmp_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    test_done = 1;
}

/* Trace files whose name starts with prefix; *others counts those not
 * naming this process's pid. */
static int traces(const char *prefix, int *others)
{
    DIR *d = opendir(trace_dir);
    cr_assert_not_null(d);
    char mine[64];
    snprintf(mine, sizeof mine, "%s%ld", prefix, (long)getpid());
    int n = 0;
    *others = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            n++;
            if (strcmp(e->d_name, mine) != 0)
                (*others)++;
        }
    closedir(d);
    return n;
}

/* Processes (zombies included) whose parent is this one. */
static int children(void)
{
    DIR *d = opendir("/proc");
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "re");
        if (f == NULL)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        const char *close_paren = strrchr(buf, ')');
        char state;
        long ppid;
        if (close_paren &&
            sscanf(close_paren + 1, " %c %ld", &state, &ppid) == 2 &&
            ppid == (long)getpid())
            n++;
    }
    closedir(d);
    return n;
}

typedef struct {
    int rc;
    int64_t ms;
    char why[1024];
} probed_t;

static probed_t probe(const char *path, int64_t timeout_ms)
{
    probed_t r;
    memset(&r, 0, sizeof r);
    int64_t t0 = util_mono_ms();
    r.rc = probe_plugin(jobrt_bin(), path, timeout_ms, r.why, sizeof r.why);
    r.ms = util_mono_ms() - t0;
    cr_assert_null(strchr(r.why, '\n'), "%s: one line, got: %s", path, r.why);
    cr_assert_eq(children(), 0, "%s: the probe left a child behind", path);
    return r;
}

static void expect_has(const probed_t *r, const char *what, const char *s)
{
    cr_assert(strstr(r->why, s) != NULL, "%s: expected '%s' in: %s", what, s,
              r->why);
}

Test(probe, good_plugin_passes_after_init_and_fini)
{
    setup();
    probed_t r = probe(PROBE_ZOO "/good.so", 10000);
    cr_assert_eq(r.rc, 0, "good.so: %s", r.why);
    int others;
    cr_assert_eq(traces("probe_good.init.", &others), 1);
    cr_assert_eq(others, 1, "init() ran in the child, not here");
    cr_assert_eq(traces("probe_good.fini.", &others), 1,
                 "the child called fini() before saying OK");
    cr_assert_eq(others, 1);
    teardown();
}

Test(probe, constructor_segfault_is_a_crash)
{
    setup();
    probed_t r = probe(PROBE_ZOO "/ctor_segv.so", 10000);
    cr_assert_eq(r.rc, -1);
    expect_has(&r, "ctor_segv", "rejected by the probe");
    expect_has(&r, "ctor_segv", "dlopen()");
    /* under AddressSanitizer the sanitizer reports it and exits */
    cr_assert(strstr(r.why, "crashed with SIGSEGV (Segmentation fault)") ||
                  strstr(r.why, "exited with status"),
              "ctor_segv: %s", r.why);
    teardown();
}

Test(probe, constructor_exit_is_named)
{
    setup();
    probed_t r = probe(PROBE_ZOO "/ctor_exit.so", 10000);
    cr_assert_eq(r.rc, -1);
    expect_has(&r, "ctor_exit", "rejected by the probe");
    expect_has(&r, "ctor_exit", "exited with status 3");
    expect_has(&r, "ctor_exit", "a constructor called exit()");
    teardown();
}

Test(probe, constructor_exit0_is_not_success)
{
    setup();
    probed_t r = probe(PROBE_ZOO "/ctor_exit0.so", 10000);
    cr_assert_eq(r.rc, -1, "exit(0) in a constructor passed the probe");
    expect_has(&r, "ctor_exit0", "exited with status 0");
    expect_has(&r, "ctor_exit0", "before init()");
    teardown();
}

Test(probe, hanging_init_is_killed_at_the_deadline)
{
    setup();
    probed_t r = probe(PROBE_ZOO "/init_hang.so", 700);
    cr_assert_eq(r.rc, -1);
    expect_has(&r, "init_hang", "init() did not return within 700ms");
    expect_has(&r, "init_hang", "killed");
    cr_assert_geq(r.ms, 700, "rejected before its time limit");
    cr_assert_lt(r.ms, 700 + 5000, "took %lld ms", (long long)r.ms);
    teardown();
}

Test(probe, aborting_init_is_a_crash_in_init)
{
    setup();
    probed_t r = probe(PROBE_ZOO "/init_abort.so", 10000);
    cr_assert_eq(r.rc, -1);
    cr_assert(strstr(r.why, "init() crashed with SIGABRT (Aborted)") ||
                  strstr(r.why, "exited with status"),
              "init_abort: %s", r.why);
    teardown();
}

Test(probe, loader_refusals_come_back_word_for_word)
{
    setup();
    probed_t r = probe(ZOO "/init_fails.so", 10000);
    cr_assert_eq(r.rc, -1);
    expect_has(&r, "init_fails", "plugin 'zoo-init-fails': init failed "
                                 "(returned -1)");
    cr_assert_null(strstr(r.why, "probe"), "%s", r.why);
    r = probe(ZOO "/handler_null.so", 10000);
    cr_assert_eq(r.rc, -1);
    expect_has(&r, "handler_null", "has no run function");
    r = probe(ZOO "/bad_magic.so", 10000);
    cr_assert_eq(r.rc, -1);
    expect_has(&r, "bad_magic", "bad magic");
    teardown();
}

Test(probe, not_a_jobrt_binary)
{
    setup();
    char why[512] = "";
    /* exits 0 without a word: no success either */
    cr_assert_eq(probe_plugin("/bin/true", PROBE_ZOO "/good.so", 5000, why,
                              sizeof why), -1);
    cr_assert(strstr(why, "exited with status 0 before it started"), "%s",
              why);
    cr_assert_eq(probe_plugin("/nonexistent/jobrt", PROBE_ZOO "/good.so",
                              5000, why, sizeof why), -1);
    cr_assert(strstr(why, "cannot run /nonexistent/jobrt"), "%s", why);
    cr_assert_eq(children(), 0);
    teardown();
}

Test(probe, self_exe)
{
    char exe[PATH_MAX], err[256];
    cr_assert_eq(probe_self_exe(exe, sizeof exe, err, sizeof err), 0, "%s",
                 err);
    cr_assert(exe[0] == '/', "%s", exe);
    cr_assert_eq(access(exe, X_OK), 0, "%s", exe);
    cr_assert_eq(probe_self_exe(exe, 4, err, sizeof err), -1);
}

typedef struct {
    int n;
    char lines[8][1024];
} scan_report_t;

static void on_file(void *arg, const char *path, const struct jobrt_plugin *p,
                    const char *why)
{
    scan_report_t *r = arg;
    if (r->n < 8)
        snprintf(r->lines[r->n++], sizeof r->lines[0], "%s: %s", path,
                 p ? "ok" : why);
}

static const char *line_for(const scan_report_t *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (strstr(r->lines[i], name))
            return r->lines[i];
    cr_assert_fail("no report for %s", name);
    return "";
}

Test(probe, loader_with_probe_survives_the_probe_zoo)
{
    setup();
    char err[256];
    loader_t *l = loader_create(NULL, host_api_get(), err, sizeof err);
    cr_assert_not_null(l, "%s", err);
    cr_assert_eq(loader_set_probe(l, jobrt_bin(), 1000), 0);
    plugin_set_t set = {0};
    scan_report_t rep = {0};
    int64_t t0 = util_mono_ms();
    int rejected = loader_scan_dir(l, PROBE_ZOO, &set, on_file, &rep, err,
                                   sizeof err);
    int64_t ms = util_mono_ms() - t0;
    cr_assert_eq(rejected, 5, "%s", err);
    cr_assert_eq(set.count, 1u);
    cr_assert_str_eq(set.head->name, "zoo-probe-good");
    cr_assert_eq(rep.n, 6);
    cr_assert(strstr(line_for(&rep, "/good.so:"), ": ok"));
    cr_assert(strstr(line_for(&rep, "/init_hang.so:"),
                     "init() did not return within 1s"));
    cr_assert(strstr(line_for(&rep, "/ctor_exit.so:"),
                     "exited with status 3"));
    cr_assert(strstr(line_for(&rep, "/ctor_exit0.so:"),
                     "exited with status 0"));
    for (int i = 0; i < rep.n; i++)
        if (!strstr(rep.lines[i], ": ok")) {
            cr_assert(strstr(rep.lines[i], "rejected by the probe"), "%s",
                      rep.lines[i]);
            /* the reason says the installed file, not the private copy */
            cr_assert_null(strstr(rep.lines[i], "jobrt-run-"), "%s",
                           rep.lines[i]);
        }
    cr_assert_lt(ms, 1000 + 8000, "the scan took %lld ms", (long long)ms);
    int others;
    /* init() ran twice: in the probe and here */
    cr_assert_eq(traces("probe_good.init.", &others), 2);
    cr_assert_eq(others, 1);
    cr_assert_eq(children(), 0);
    plugin_set_unload_all(&set);
    loader_destroy(l);
    teardown();
}

Test(probe, off_by_default)
{
    setup();
    char err[256], why[512] = "";
    loader_t *l = loader_create(NULL, host_api_get(), err, sizeof err);
    cr_assert_not_null(l, "%s", err);
    plugin_set_t set = {0};
    cr_assert_not_null(loader_load_file(l, PROBE_ZOO "/good.so", &set, why,
                                        sizeof why), "%s", why);
    int others;
    cr_assert_eq(traces("probe_good.init.", &others), 1);
    cr_assert_eq(others, 0, "no probe process ran init()");
    /* 0 turns it off again */
    cr_assert_eq(loader_set_probe(l, jobrt_bin(), 1000), 0);
    cr_assert_eq(loader_set_probe(l, jobrt_bin(), 0), 0);
    plugin_set_unload_all(&set);
    cr_assert_not_null(loader_load_file(l, PROBE_ZOO "/good.so", &set, why,
                                        sizeof why), "%s", why);
    cr_assert_eq(traces("probe_good.init.", &others), 1);
    cr_assert_eq(others, 0);
    plugin_set_unload_all(&set);
    loader_destroy(l);
    teardown();
}

static void copy_file(const char *src, const char *dst, const char *extra)
{
    FILE *in = fopen(src, "rb");
    cr_assert_not_null(in, "%s", src);
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", dst);
    FILE *out = fopen(tmp, "wb");
    cr_assert_not_null(out, "%s", tmp);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        cr_assert_eq(fwrite(buf, 1, n, out), n);
    if (extra)
        fputs(extra, out);
    fclose(in);
    cr_assert_eq(fclose(out), 0);
    cr_assert_eq(chmod(tmp, 0644), 0);
    cr_assert_eq(rename(tmp, dst), 0); /* install by rename */
}

Test(probe, reload_probes_only_new_or_changed_files)
{
    setup();
    char dir[300], file[400], err[256];
    snprintf(dir, sizeof dir, "%s/plugins", tmp_root);
    cr_assert_eq(mkdir(dir, 0755), 0);
    snprintf(file, sizeof file, "%s/good.so", dir);
    copy_file(PROBE_ZOO "/good.so", file, NULL);
    loader_t *l = loader_create(NULL, host_api_get(), err, sizeof err);
    cr_assert_not_null(l, "%s", err);
    cr_assert_eq(loader_set_probe(l, jobrt_bin(), 5000), 0);
    generations_t *g = generations_create(l, dir);
    cr_assert_not_null(g);
    gen_changes_t ch = {0};
    cr_assert_eq(generations_reload(g, NULL, NULL, &ch, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(ch.n, 1u);
    cr_assert_eq(ch.items[0].kind, GEN_LOADED, "%s", ch.items[0].reason);
    int others;
    cr_assert_eq(traces("probe_good.init.", &others), 2);
    gen_changes_free(&ch);
    /* unchanged: no probe, no init() */
    cr_assert_eq(generations_reload(g, NULL, NULL, &ch, err, sizeof err), 0);
    cr_assert_eq(ch.items[0].kind, GEN_UNCHANGED);
    cr_assert_eq(traces("probe_good.init.", &others), 2);
    cr_assert_eq(others, 1);
    gen_changes_free(&ch);
    /* changed bytes (a trailing note): probed again, then loaded */
    copy_file(PROBE_ZOO "/good.so", file, "another build\n");
    cr_assert_eq(generations_reload(g, NULL, NULL, &ch, err, sizeof err), 0);
    cr_assert_eq(ch.items[0].kind, GEN_RELOADED, "%s", ch.items[0].reason);
    cr_assert_eq(traces("probe_good.init.", &others), 3);
    cr_assert_eq(others, 2, "a second probe process ran init()");
    gen_changes_free(&ch);
    /* a bad new build is rejected and the old generation keeps serving */
    copy_file(PROBE_ZOO "/init_abort.so", file, NULL);
    cr_assert_eq(generations_reload(g, NULL, NULL, &ch, err, sizeof err), 0);
    cr_assert_eq(ch.items[0].kind, GEN_REJECTED);
    cr_assert(strstr(ch.items[0].reason, "rejected by the probe"), "%s",
              ch.items[0].reason);
    cr_assert_eq(g->active.count, 1u);
    gen_changes_free(&ch);
    cr_assert_eq(children(), 0);
    generations_destroy(g);
    loader_destroy(l);
    teardown();
}
