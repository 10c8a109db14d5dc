/*
 * test_trust.c - unit tests for the owner/mode rule (trust_problem on
 * synthetic stat results, so every owner can be tried without root) and
 * for opening a plugin directory and its files: parents are checked up to
 * /, a root-owned sticky parent is fine, symlinks are followed only when
 * they stay inside the directory, a FIFO does not hang the open, and
 * --insecure-plugin-dir turns owner/mode refusals into warnings. Then the
 * same through the loader (loader_load_file, loader_scan_dir) on real
 * plugins from the zoo.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/host_api.h"
#include "plugin/loader.h"
#include "plugin/trust.h"

#define ZOO JOBRT_ZOO_DIR

static char root[256];

static void setup(void)
{
    snprintf(root, sizeof root, "/tmp/jobrt-test-trust-XXXXXX");
    cr_assert_not_null(mkdtemp(root));
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void touch(const char *path, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    cr_assert_geq(fd, 0, "%s", path);
    cr_assert_eq(fchmod(fd, mode), 0);
    close(fd);
}

Test(trust, the_rule)
{
    static const struct {
        unsigned uid;
        unsigned mode;
        trust_kind_t kind;
        const char *reason; /* NULL: trusted */
        const char *fix;
    } cases[] = {
        {0, S_IFREG | 0755, TRUST_FILE, NULL, NULL},
        {1000, S_IFREG | 0644, TRUST_FILE, NULL, NULL},
        {0, S_IFREG | 0775, TRUST_FILE, "writable by group (mode 0775)",
         "chmod g-w"},
        {1000, S_IFREG | 0757, TRUST_FILE, "writable by others (mode 0757)",
         "chmod o-w"},
        {0, S_IFREG | 0666, TRUST_FILE,
         "writable by group and others (mode 0666)", "chmod go-w"},
        {2000, S_IFREG | 0644, TRUST_FILE, "owned by uid 2000", "chown"},
        {2000, S_IFDIR | 0755, TRUST_PARENT, "owned by uid 2000", "chown"},
        {0, S_IFDIR | 01777, TRUST_PARENT, NULL, NULL}, /* /tmp */
        /* /tmp itself as the plugin directory: not to be chmod-ed */
        {0, S_IFDIR | 01777, TRUST_DIR, "writable by group and others",
         "mkdir"},
        {1000, S_IFDIR | 01777, TRUST_PARENT, "writable by group and others",
         "chmod go-w"},
        {0, S_IFDIR | 0777, TRUST_PARENT, "writable by group and others",
         "chmod go-w"},
        {0, S_IFREG | 01777, TRUST_FILE, "writable by group and others",
         "chmod go-w"},
        {1000, S_IFDIR | 0700, TRUST_DIR, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct stat st;
        memset(&st, 0, sizeof st);
        st.st_uid = cases[i].uid;
        st.st_mode = cases[i].mode;
        char reason[160] = "", fix[32] = "";
        int bad = trust_problem(&st, 1000, cases[i].kind, reason,
                                sizeof reason, fix, sizeof fix);
        cr_assert_eq(bad, cases[i].reason != NULL,
                     "case %zu: uid %u mode %o: %s", i, cases[i].uid,
                     cases[i].mode, reason);
        if (cases[i].reason) {
            cr_assert(strstr(reason, cases[i].reason) != NULL,
                      "case %zu: %s", i, reason);
            cr_assert_str_eq(fix, cases[i].fix, "case %zu", i);
        }
    }
}

Test(trust, a_directory_under_tmp_opens)
{
    setup();
    plugin_dir_t d;
    char why[512] = "";
    cr_assert_eq(plugin_dir_open(&d, root, 0, why, sizeof why), 0, "%s", why);
    cr_assert_str_eq(d.real, root);
    plugin_dir_close(&d);
    /* named through a symlink: the resolved path is what is checked */
    char link[512];
    snprintf(link, sizeof link, "%s-link", root);
    cr_assert_eq(symlink(root, link), 0);
    cr_assert_eq(plugin_dir_open(&d, link, 0, why, sizeof why), 0, "%s", why);
    cr_assert_str_eq(d.real, root);
    cr_assert_str_eq(d.path, link);
    plugin_dir_close(&d);
    unlink(link);
    teardown();
}

Test(trust, parents_are_checked_up_to_the_root)
{
    setup();
    char mid[512], dir[600];
    snprintf(mid, sizeof mid, "%s/mid", root);
    snprintf(dir, sizeof dir, "%s/plugins", mid);
    cr_assert_eq(mkdir(mid, 0700), 0);
    cr_assert_eq(mkdir(dir, 0700), 0);
    cr_assert_eq(chmod(mid, 0770), 0);
    plugin_dir_t d;
    char why[512] = "";
    cr_assert_eq(plugin_dir_open(&d, dir, 0, why, sizeof why), -1);
    cr_assert(strstr(why, mid) != NULL, "must name the parent: %s", why);
    cr_assert(strstr(why, "writable by group (mode 0770)") != NULL, "%s",
              why);
    cr_assert(strstr(why, "chmod g-w") != NULL, "%s", why);
    cr_assert_null(strchr(why, '\n'));
    /* a sticky parent is fine only if root owns it: this one is ours */
    cr_assert_eq(chmod(mid, 01777), 0);
    if (geteuid() != 0) {
        cr_assert_eq(plugin_dir_open(&d, dir, 0, why, sizeof why), -1);
    } else {
        cr_assert_eq(plugin_dir_open(&d, dir, 0, why, sizeof why), 0, "%s",
                     why);
        plugin_dir_close(&d);
    }
    /* the insecure mode opens it with a warning */
    cr_assert_eq(chmod(mid, 0777), 0);
    cr_assert_eq(plugin_dir_open(&d, dir, 1, why, sizeof why), 0, "%s", why);
    plugin_dir_close(&d);
    cr_assert_eq(chmod(mid, 0700), 0);
    teardown();
}

static int open_file(const char *name, char *why, size_t why_len)
{
    plugin_dir_t d;
    cr_assert_eq(plugin_dir_open(&d, root, 0, why, why_len), 0, "%s", why);
    struct stat st;
    int fd = plugin_dir_open_file(&d, name, &st, why, why_len);
    plugin_dir_close(&d);
    if (fd >= 0)
        close(fd);
    return fd >= 0;
}

Test(trust, symlinks_must_stay_inside)
{
    setup();
    char p[600], outside[512];
    snprintf(p, sizeof p, "%s/sub", root);
    cr_assert_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/sub/real.so", root);
    touch(p, 0644);
    snprintf(p, sizeof p, "%s/in.so", root);
    cr_assert_eq(symlink("sub/real.so", p), 0);
    snprintf(p, sizeof p, "%s/abs.so", root);
    char target[600];
    snprintf(target, sizeof target, "%s/sub/real.so", root);
    cr_assert_eq(symlink(target, p), 0);
    snprintf(p, sizeof p, "%s/chain.so", root);
    cr_assert_eq(symlink("in.so", p), 0);
    snprintf(outside, sizeof outside, "%s-outside.so", root);
    touch(outside, 0644);
    snprintf(p, sizeof p, "%s/out.so", root);
    cr_assert_eq(symlink(outside, p), 0);
    snprintf(p, sizeof p, "%s/up.so", root);
    cr_assert_eq(symlink("../", p), 0);
    snprintf(p, sizeof p, "%s/dangling.so", root);
    cr_assert_eq(symlink("nowhere.so", p), 0);

    char why[512];
    cr_assert(open_file("in.so", why, sizeof why), "%s", why);
    cr_assert(open_file("abs.so", why, sizeof why), "%s", why);
    cr_assert(open_file("chain.so", why, sizeof why), "%s", why);
    cr_assert(!open_file("out.so", why, sizeof why));
    cr_assert(strstr(why, "outside the plugin directory") != NULL, "%s", why);
    cr_assert(strstr(why, outside) != NULL, "must name the target: %s", why);
    cr_assert(!open_file("up.so", why, sizeof why));
    cr_assert(strstr(why, "outside the plugin directory") != NULL, "%s", why);
    cr_assert(!open_file("dangling.so", why, sizeof why));
    cr_assert(strstr(why, "cannot be resolved") != NULL, "%s", why);
    cr_assert_null(strchr(why, '\n'));

    /* the target's own mode, and the directories on the way, count */
    snprintf(p, sizeof p, "%s/sub/real.so", root);
    cr_assert_eq(chmod(p, 0664), 0);
    cr_assert(!open_file("in.so", why, sizeof why));
    cr_assert(strstr(why, "its target") != NULL, "%s", why);
    cr_assert(strstr(why, "writable by group") != NULL, "%s", why);
    cr_assert_eq(chmod(p, 0644), 0);
    snprintf(p, sizeof p, "%s/sub", root);
    cr_assert_eq(chmod(p, 0770), 0);
    cr_assert(!open_file("in.so", why, sizeof why));
    cr_assert(strstr(why, "/sub is writable by group") != NULL, "%s", why);
    cr_assert_eq(chmod(p, 0700), 0);
    unlink(outside);
    teardown();
}

Test(trust, files_that_are_not_plain_files)
{
    setup();
    char p[600], why[512];
    snprintf(p, sizeof p, "%s/fifo.so", root);
    cr_assert_eq(mkfifo(p, 0600), 0);
    cr_assert(!open_file("fifo.so", why, sizeof why), "a FIFO must not hang");
    cr_assert_str_eq(why, "not a regular file");
    snprintf(p, sizeof p, "%s/dir.so", root);
    cr_assert_eq(mkdir(p, 0700), 0);
    cr_assert(!open_file("dir.so", why, sizeof why));
    cr_assert_str_eq(why, "not a regular file");
    cr_assert(!open_file("missing.so", why, sizeof why));
    cr_assert(strstr(why, "cannot open") != NULL, "%s", why);
    snprintf(p, sizeof p, "%s/gw.so", root);
    touch(p, 0620);
    cr_assert(!open_file("gw.so", why, sizeof why));
    cr_assert(strstr(why, "not trusted: writable by group (mode 0620); fix "
                          "with chmod g-w, or run with "
                          "--insecure-plugin-dir") != NULL,
              "%s", why);
    teardown();
}

/* ---- through the loader ------------------------------------------------ */

static loader_t *loader;

static void loader_setup(void)
{
    setup();
    setenv("TMPDIR", root, 1);
    char err[256] = "";
    loader = loader_create(NULL, host_api_get(), err, sizeof err);
    cr_assert_not_null(loader, "loader_create: %s", err);
}

static void loader_teardown(void)
{
    loader_destroy(loader);
    loader = NULL;
    teardown();
}

static void copy_file(const char *src, const char *dst, mode_t mode)
{
    FILE *in = fopen(src, "rb");
    cr_assert_not_null(in, "%s", src);
    int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert_geq(fd, 0, "%s", dst);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        cr_assert_eq(write(fd, buf, n), (ssize_t)n);
    fclose(in);
    cr_assert_eq(fchmod(fd, mode), 0);
    close(fd);
}

static void expect_rejected(const char *path, plugin_set_t *set,
                            const char *keyword, const char *detail)
{
    char why[512] = "";
    cr_assert_null(loader_load_file(loader, path, set, why, sizeof why),
                   "%s must be rejected", path);
    cr_assert(strstr(why, keyword) != NULL, "%s: expected '%s': %s", path,
              keyword, why);
    cr_assert(strstr(why, detail) != NULL, "%s: expected '%s': %s", path,
              detail, why);
    cr_assert_null(strchr(why, '\n'), "%s", why);
    cr_assert_null(strstr(why, path), "must not repeat the file: %s", why);
}

Test(trust_loader, group_writable_file_refused_unless_insecure)
{
    loader_setup();
    char dir[512], p[600];
    snprintf(dir, sizeof dir, "%s/gw", root);
    cr_assert_eq(mkdir(dir, 0755), 0);
    snprintf(p, sizeof p, "%s/dup_a.so", dir);
    copy_file(ZOO "/dup_a.so", p, 0775);
    plugin_set_t set = {0};
    expect_rejected(p, &set, "not trusted", "writable by group (mode 0775)");
    char why[512] = "";
    cr_assert_null(loader_load_file(loader, p, &set, why, sizeof why));
    cr_assert(strstr(why, "chmod g-w") != NULL, "%s", why);
    cr_assert(strstr(why, "--insecure-plugin-dir") != NULL, "%s", why);
    cr_assert_eq(chmod(p, 0757), 0);
    expect_rejected(p, &set, "not trusted", "writable by others");

    loader_set_insecure(loader);
    struct jobrt_plugin *pl = loader_load_file(loader, p, &set, why,
                                               sizeof why);
    cr_assert_not_null(pl, "--insecure-plugin-dir must load it: %s", why);
    plugin_set_unload_all(&set);
    
    loader_teardown();
}

Test(trust_loader, untrusted_directory_refuses_the_scan)
{
    loader_setup();
    char dir[512], p[600], err[512] = "";
    snprintf(dir, sizeof dir, "%s/open", root);
    cr_assert_eq(mkdir(dir, 0700), 0);
    cr_assert_eq(chmod(dir, 0777), 0); /* not sticky */
    snprintf(p, sizeof p, "%s/open/plugins", root);
    cr_assert_eq(mkdir(p, 0700), 0);
    char so[700];
    snprintf(so, sizeof so, "%s/dup_a.so", p);
    copy_file(ZOO "/dup_a.so", so, 0755);
    plugin_set_t set = {0};
    /* a parent anyone can write to: anyone can swap the directory */
    cr_assert_eq(loader_scan_dir(loader, p, &set, NULL, NULL, err,
                                 sizeof err),
                 -1);
    cr_assert(strstr(err, "not trusted") != NULL, "%s", err);
    cr_assert(strstr(err, dir) != NULL, "must name the parent: %s", err);
    cr_assert(strstr(err, "writable by group and others") != NULL, "%s",
              err);
    cr_assert_eq(set.count, 0u);
    /* the directory itself, group-writable */
    cr_assert_eq(chmod(dir, 0755), 0);
    cr_assert_eq(chmod(p, 0775), 0);
    cr_assert_eq(loader_scan_dir(loader, p, &set, NULL, NULL, err,
                                 sizeof err),
                 -1);
    cr_assert(strstr(err, "writable by group (mode 0775)") != NULL, "%s",
              err);
    cr_assert_null(strchr(err, '\n'));
    cr_assert_eq(chmod(p, 0755), 0);
    cr_assert_eq(loader_scan_dir(loader, p, &set, NULL, NULL, err,
                                 sizeof err),
                 0, "%s", err);
    cr_assert_eq(set.count, 1u);
    plugin_set_unload_all(&set);
    
    loader_teardown();
}

Test(trust_loader, file_owned_by_another_user)
{
    if (geteuid() != 0)
        cr_skip_test("needs root to chown a plugin to nobody");
    struct passwd *nobody = getpwnam("nobody");
    if (nobody == NULL)
        cr_skip_test("no user nobody");
    loader_setup();
    char p[600];
    snprintf(p, sizeof p, "%s/dup_a.so", root);
    copy_file(ZOO "/dup_a.so", p, 0755);
    cr_assert_eq(chown(p, nobody->pw_uid, (gid_t)-1), 0);
    plugin_set_t set = {0};
    char detail[64];
    snprintf(detail, sizeof detail, "owned by uid %u",
             (unsigned)nobody->pw_uid);
    expect_rejected(p, &set, "not trusted", detail);
    unlink(p);
    loader_teardown();
}
