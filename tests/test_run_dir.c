/*
 * test_run_dir.c - unit tests for the loader's private run directory: a
 * fresh one is 0700 and locked; a start removes the jobrt-run-* directories
 * of loaders that died, and keeps live (locked), young, foreign, symlinked
 * and non-directory ones; an explicit --run-dir must be a real directory
 * of this user that nobody else can write; private copies get fresh
 * unpredictable names and never follow or reuse what is there.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plugin/run_dir.h"

static char root[256]; /* this test's $TMPDIR */

static void setup(void)
{
    snprintf(root, sizeof root, "/tmp/jobrt-test-run-dir-XXXXXX");
    cr_assert_not_null(mkdtemp(root));
    setenv("TMPDIR", root, 1);
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

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* root/name as a directory with one file in it, last touched age_s ago. */
static void make_run_dir(const char *name, int age_s, char *out,
                         size_t out_len)
{
    snprintf(out, out_len, "%s/%s", root, name);
    cr_assert_eq(mkdir(out, 0700), 0, "%s", out);
    char f[600];
    snprintf(f, sizeof f, "%s/0123-left.so", out);
    int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0700);
    cr_assert_geq(fd, 0);
    close(fd);
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= age_s;
    t[1] = t[0];
    cr_assert_eq(utimensat(AT_FDCWD, out, t, 0), 0);
}

/* A child process that holds flock(LOCK_EX) on dir until killed, as a live
 * loader does. Returns its pid once the lock is held. */
static pid_t hold_lock(const char *dir)
{
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY);
        if (fd < 0 || flock(fd, LOCK_EX) != 0)
            _exit(1);
        if (write(ready[1], "x", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(ready[1]);
    char c;
    cr_assert_eq(read(ready[0], &c, 1), 1, "the lock holder died");
    close(ready[0]);
    return pid;
}

static void stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

Test(run_dir, fresh_one_is_private_and_locked)
{
    setup();
    run_dir_t rd;
    char err[512] = "";
    cr_assert_eq(run_dir_open(&rd, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(strncmp(rd.path, root, strlen(root)), 0, "%s", rd.path);
    cr_assert(strstr(rd.path, "/jobrt-run-") != NULL, "%s", rd.path);
    struct stat st;
    cr_assert_eq(stat(rd.path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0700);
    /* another process cannot take its lock */
    int fd = open(rd.path, O_RDONLY | O_DIRECTORY);
    cr_assert_geq(fd, 0);
    cr_assert_neq(flock(fd, LOCK_EX | LOCK_NB), 0,
                  "the run dir of a live loader must be locked");
    close(fd);
    char path[1024];
    int copy = run_dir_create_copy(&rd, "a.so", path, sizeof path, err,
                                   sizeof err);
    cr_assert_geq(copy, 0, "%s", err);
    close(copy);
    char dir[600];
    snprintf(dir, sizeof dir, "%s", rd.path);
    run_dir_close(&rd);
    cr_assert(!exists(dir), "a run dir we made must go, copies and all");
    teardown();
}

Test(run_dir, start_sweeps_dead_loaders_and_keeps_the_rest)
{
    setup();
    char stale[512], live[512], young[512], foreign[512], real[512];
    char link[512], file[512];
    make_run_dir("jobrt-run-stale1", 60, stale, sizeof stale);
    make_run_dir("jobrt-run-live01", 60, live, sizeof live);
    make_run_dir("jobrt-run-young1", 0, young, sizeof young);
    make_run_dir("elsewhere", 60, real, sizeof real);
    snprintf(link, sizeof link, "%s/jobrt-run-link01", root);
    cr_assert_eq(symlink(real, link), 0);
    snprintf(file, sizeof file, "%s/jobrt-run-file01", root);
    int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    cr_assert_geq(fd, 0);
    close(fd);
    struct passwd *nobody = getpwnam("nobody");
    int chowned = 0;
    make_run_dir("jobrt-run-other1", 60, foreign, sizeof foreign);
    if (geteuid() == 0 && nobody) {
        cr_assert_eq(chown(foreign, nobody->pw_uid, (gid_t)-1), 0);
        chowned = 1;
    }
    pid_t holder = hold_lock(live);

    run_dir_t rd;
    char err[512] = "";
    cr_assert_eq(run_dir_open(&rd, NULL, err, sizeof err), 0, "%s", err);
    cr_assert(!exists(stale), "a dead loader's run dir must be removed");
    cr_assert(exists(live), "a live (locked) run dir must be kept");
    char inside[600];
    snprintf(inside, sizeof inside, "%s/0123-left.so", live);
    cr_assert(exists(inside), "nothing inside a live run dir is touched");
    cr_assert(exists(young), "a run dir younger than %d s must be kept",
              RUN_DIR_STALE_AFTER_S);
    cr_assert(exists(link), "a symlink is not followed or removed");
    snprintf(inside, sizeof inside, "%s/0123-left.so", real);
    cr_assert(exists(inside), "a symlink's target is not emptied");
    cr_assert(exists(file), "a file named jobrt-run-* is not removed");
    if (chowned)
        cr_assert(exists(foreign), "another user's run dir is not ours");
    else
        cr_assert(!exists(foreign)); /* ours after all */
    run_dir_close(&rd);

    /* once its loader is gone, the live one is stale too */
    stop(holder);
    cr_assert_eq(run_dir_sweep_stale(root, 0), 2,
                 "the formerly live one and the young one");
    cr_assert(!exists(live));
    cr_assert(!exists(young));
    teardown();
}

Test(run_dir, a_run_dir_with_a_subdirectory_is_kept)
{
    setup();
    char dir[512], sub[600];
    make_run_dir("jobrt-run-subdir", 60, dir, sizeof dir);
    snprintf(sub, sizeof sub, "%s/not-ours", dir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    struct timespec t[2] = {{0, UTIME_OMIT}, {time(NULL) - 60, 0}};
    cr_assert_eq(utimensat(AT_FDCWD, dir, t, 0), 0);
    cr_assert_eq(run_dir_sweep_stale(root, RUN_DIR_STALE_AFTER_S), 0);
    cr_assert(exists(sub), "the sweep never recurses");
    teardown();
}

Test(run_dir, explicit_one_is_created_private)
{
    setup();
    char path[512];
    snprintf(path, sizeof path, "%s/mine", root);
    run_dir_t rd;
    char err[512] = "";
    cr_assert_eq(run_dir_open(&rd, path, err, sizeof err), 0, "%s", err);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0700);
    run_dir_close(&rd);
    cr_assert(exists(path), "an explicit run dir is never removed");
    /* an existing 0755 one of ours is fine */
    cr_assert_eq(chmod(path, 0755), 0);
    cr_assert_eq(run_dir_open(&rd, path, err, sizeof err), 0, "%s", err);
    run_dir_close(&rd);
    teardown();
}

static void expect_refused(const char *path, const char *reason)
{
    run_dir_t rd;
    char err[512] = "";
    cr_assert_eq(run_dir_open(&rd, path, err, sizeof err), -1,
                 "%s must be refused", path);
    cr_assert(strstr(err, path) != NULL, "must name %s: %s", path, err);
    cr_assert(strstr(err, reason) != NULL, "expected '%s': %s", reason, err);
    cr_assert_null(strchr(err, '\n'));
}

Test(run_dir, explicit_one_must_be_ours_alone)
{
    setup();
    char dir[512], link[512], file[512];
    snprintf(dir, sizeof dir, "%s/shared", root);
    cr_assert_eq(mkdir(dir, 0700), 0);
    cr_assert_eq(chmod(dir, 0770), 0);
    expect_refused(dir, "writable by group or others (mode 0770)");
    cr_assert_eq(chmod(dir, 01777), 0);
    /* a shared sticky directory like /tmp: use one inside it, no chmod */
    expect_refused(dir, "a shared directory (mode 1777); use one of this "
                        "user's own inside it");
    cr_assert_eq(chmod(dir, 0700), 0);
    snprintf(link, sizeof link, "%s/link", root);
    cr_assert_eq(symlink(dir, link), 0);
    expect_refused(link, "symlink");
    snprintf(file, sizeof file, "%s/file", root);
    int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    cr_assert_geq(fd, 0);
    close(fd);
    expect_refused(file, "not a directory");
    struct passwd *nobody = getpwnam("nobody");
    if (geteuid() == 0 && nobody) {
        cr_assert_eq(chown(dir, nobody->pw_uid, (gid_t)-1), 0);
        expect_refused(dir, "owned by uid");
    }
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no/such", root);
    expect_refused(missing, "No such file");
    teardown();
}

Test(run_dir, copies_get_fresh_unpredictable_names)
{
    setup();
    run_dir_t rd;
    char err[512] = "";
    cr_assert_eq(run_dir_open(&rd, NULL, err, sizeof err), 0, "%s", err);
    char a[1024], b[1024];
    int fa = run_dir_create_copy(&rd, "p.so", a, sizeof a, err, sizeof err);
    int fb = run_dir_create_copy(&rd, "p.so", b, sizeof b, err, sizeof err);
    cr_assert_geq(fa, 0, "%s", err);
    cr_assert_geq(fb, 0, "%s", err);
    cr_assert_str_neq(a, b);
    const char *name = strrchr(a, '/') + 1;
    cr_assert_eq(strspn(name, "0123456789abcdef"), 32u, "%s", name);
    cr_assert_str_eq(name + 32, "-p.so");
    struct stat st;
    cr_assert_eq(fstat(fa, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0700);
    close(fa);
    close(fb);
    unlink(a);
    unlink(b);
    run_dir_close(&rd);
    teardown();
}
