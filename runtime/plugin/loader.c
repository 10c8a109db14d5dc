/*
 * loader.c - plugin loading (see loader.h). The checks run in the order
 * that keeps the runtime safe: trust of the directory and the file, one
 * read of the whole file, its ELF structure, the descriptor's integers in
 * the file, the private copy, dlopen (constructors run here), the live
 * descriptor and handler table, conflicts with plugins already loaded,
 * init(). With the probe on (probe.h), the private copy is first loaded
 * in a child process, right before the dlopen; loader_trial() is what
 * that child runs.
 */
#define _GNU_SOURCE
#include "plugin/loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "plugin/elf_image.h"
#include "plugin/probe.h"
#include "plugin/run_dir.h"

struct loader {
    run_dir_t run;
    const jobrt_host_api *host;
    elf_target_t self; /* this runtime's ELF class and machine */
    int insecure;
    char *probe_exe;          /* NULL: no probe (probe.h) */
    int64_t probe_timeout_ms;
};

loader_t *loader_create(const char *run_dir, const jobrt_host_api *host,
                        char *err, size_t err_len)
{
    loader_t *l = calloc(1, sizeof *l);
    if (l == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    l->host = host;
    l->run.fd = -1;
    if (elf_target_self(&l->self, err, err_len) != 0 ||
        run_dir_open(&l->run, run_dir, err, err_len) != 0) {
        free(l);
        return NULL;
    }
    return l;
}

void loader_destroy(loader_t *l)
{
    if (l == NULL)
        return;
    run_dir_close(&l->run);
    free(l->probe_exe);
    free(l);
}

int loader_set_probe(loader_t *l, const char *exe, int64_t timeout_ms)
{
    char *copy = NULL;
    if (exe != NULL && timeout_ms > 0 && (copy = strdup(exe)) == NULL)
        return -1;
    free(l->probe_exe);
    l->probe_exe = copy;
    l->probe_timeout_ms = timeout_ms;
    if (copy) {
        char dur[32];
        util_format_duration(timeout_ms, dur, sizeof dur);
        LOGD("loader", "probe on: each new or changed plugin file is first "
             "loaded by '%s __probe' (limit %s)", copy, dur);
    }
    return 0;
}

void loader_set_insecure(loader_t *l)
{
    l->insecure = 1;
    LOGW("loader", "--insecure-plugin-dir is set: plugin files and "
         "directories writable by group or others or owned by another user "
         "are loaded anyway (development only, never in production)");
}

/* The whole of fd, a regular file, into a new buffer. */
static unsigned char *read_whole(int fd, const struct stat *st, size_t *len,
                                 char *why, size_t why_len)
{
    if ((unsigned long long)st->st_size > LOADER_MAX_FILE_SIZE) {
        util_fail(why, why_len, "file is %lld bytes, more than the %u MiB a "
               "plugin may have", (long long)st->st_size,
               LOADER_MAX_FILE_SIZE >> 20);
        return NULL;
    }
    size_t cap = (size_t)st->st_size + 1, n = 0;
    unsigned char *buf = malloc(cap);
    if (buf == NULL) {
        util_fail(why, why_len, "out of memory");
        return NULL;
    }
    for (;;) {
        if (n == cap) { /* it grew while we read it */
            if (cap > LOADER_MAX_FILE_SIZE) {
                util_fail(why, why_len, "file grew past %u MiB while it was "
                       "read", LOADER_MAX_FILE_SIZE >> 20);
                free(buf);
                return NULL;
            }
            unsigned char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                util_fail(why, why_len, "out of memory");
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            util_fail(why, why_len, "read failed: %s", strerror(errno));
            free(buf);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *len = n;
    return buf;
}

static int sha256_hex(const unsigned char *buf, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(buf, len, md, &md_len, EVP_sha256(), NULL) != 1 ||
        md_len != 32)
        return -1;
    for (unsigned i = 0; i < md_len; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* Writes buf as a new private copy; its path goes to copy. */
static int write_copy(const loader_t *l, const char *base,
                      const unsigned char *buf, size_t len, char *copy,
                      size_t copy_len, char *why, size_t why_len)
{
    int fd = run_dir_create_copy(&l->run, base, copy, copy_len, why,
                                 why_len);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, buf + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    int err = done < len ? errno : 0;
    if (close(fd) != 0 && err == 0)
        err = errno;
    if (done < len || err != 0) {
        unlink(copy);
        return util_fail(why, why_len, "cannot write private copy %s: %s",
                      copy, strerror(err ? err : EIO));
    }
    return 0;
}

/* What the file says before any of its code runs: ELF structure and the
 * descriptor's integers. Fills sym (the descriptor's place in the file). */
static int check_file(const elf_target_t *self, const unsigned char *buf,
                      size_t len, elf_symbol_t *sym, char *pin,
                      size_t pin_len, char *why, size_t why_len)
{
    elf_image_t img;
    if (elf_image_check(&img, buf, len, self, why, why_len) != 0)
        return -1;
    snprintf(pin, pin_len, "%s", img.pin_reason);
    int rc = elf_image_find_symbol(&img, JOBRT_PLUGIN_SYMBOL, sym, why,
                                   why_len);
    if (rc == 1)
        return util_fail(why, why_len, "no " JOBRT_PLUGIN_SYMBOL " descriptor "
                      "exported (built without the jobrt SDK?)");
    if (rc != 0)
        return -1;
    desc_layout_t lay;
    return desc_check_header(buf + sym->file_off, (size_t)sym->size, &lay,
                             why, why_len);
}

/* A new plugin object for the checked bytes of the file at path. */
static struct jobrt_plugin *new_plugin(const char *path,
                                       const unsigned char *buf, size_t len,
                                       const char *pin, char *why,
                                       size_t why_len)
{
    struct jobrt_plugin *p = calloc(1, sizeof *p);
    if (p == NULL || (p->file = strdup(path)) == NULL) {
        util_fail(why, why_len, "out of memory");
        loader_free_plugin(p);
        return NULL;
    }
    snprintf(p->pin_reason, sizeof p->pin_reason, "%s", pin);
    if (sha256_hex(buf, len, p->sha256) != 0) {
        util_fail(why, why_len, "cannot compute the file's SHA-256");
        loader_free_plugin(p);
        return NULL;
    }
    return p;
}

/* msg with its first mention of copy (the private copy) said as path
 * (the file that was installed), into why. */
static void name_install(const char *msg, const char *copy, const char *path,
                         char *why, size_t why_len)
{
    const char *at = strstr(msg, copy);
    if (at == NULL) {
        snprintf(why, why_len, "%s", msg);
        return;
    }
    int n = snprintf(why, why_len, "%.*s%s%s", (int)(at - msg), msg, path,
                     at + strlen(copy));
    if (n >= (int)why_len) /* cut, but not inside a character */
        utf8_truncate(why, why_len - 1);
}

/* dlopen() of copy (the constructors run here). */
static void *open_image(const char *copy, const char *path, char *why,
                        size_t why_len)
{
    void *dl = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        const char *e = dlerror();
        char msg[512];
        /* dlerror names the private copy ("<copy>: undefined symbol: x"):
         * say the file that was installed instead. */
        name_install(e ? e : "unknown error", copy, path, msg, sizeof msg);
        util_fail(why, why_len, "dlopen failed: %s", msg);
    }
    return dl;
}

/* The live descriptor of dl: the one in the file (sym), then every field
 * and the handler table, against set. No plugin code runs. */
static int check_live(void *dl, const elf_symbol_t *sym,
                      const plugin_set_t *set, struct jobrt_plugin *p,
                      jobrt_plugin_desc *d, char *why, size_t why_len)
{
    struct link_map *lm = NULL;
    void *live = dlsym(dl, JOBRT_PLUGIN_SYMBOL);
    if (dlinfo(dl, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL || live == NULL ||
        (uintptr_t)live != (uintptr_t)lm->l_addr + (uintptr_t)sym->value)
        return util_fail(why, why_len, "the loaded " JOBRT_PLUGIN_SYMBOL " is "
                         "not the one in the file (another library defines "
                         "it?)");
    return loader_check_descriptor(live, (size_t)sym->size, set, p, d, why,
                                   why_len);
}

/* init(), if the plugin has one: the first plugin function the runtime
 * calls. A failed init() undoes its own work: fini() is not called. */
static int call_init(const jobrt_host_api *host, struct jobrt_plugin *p,
                     const jobrt_plugin_desc *d, char *why, size_t why_len)
{
    if (d->init == NULL)
        return 0;
    int rc = d->init(host, p, &p->ctx);
    if (rc != 0)
        return util_fail(why, why_len, "plugin '%s': init failed (returned "
                         "%d)", p->name, rc);
    return 0;
}

/* dlopen of the validated bytes, then the live descriptor and init(). */
static struct jobrt_plugin *load_image(loader_t *l, const char *path,
                                       const char *base,
                                       const unsigned char *buf, size_t len,
                                       plugin_set_t *set, char *why,
                                       size_t why_len)
{
    elf_symbol_t sym;
    char pin[sizeof ((struct jobrt_plugin *)0)->pin_reason];
    if (check_file(&l->self, buf, len, &sym, pin, sizeof pin, why,
                   why_len) != 0)
        return NULL;
    struct jobrt_plugin *p = new_plugin(path, buf, len, pin, why, why_len);
    if (p == NULL)
        return NULL;
    char copy[PATH_MAX];
    if (write_copy(l, base, buf, len, copy, sizeof copy, why, why_len)) {
        loader_free_plugin(p);
        return NULL;
    }
    if (l->probe_exe != NULL) {
        /* The constructors and init() first run in a child process: a
         * crash, an exit or a hang there rejects the file here. */
        char pwhy[640];
        if (probe_plugin(l->probe_exe, copy, l->probe_timeout_ms, pwhy,
                         sizeof pwhy) != 0) {
            unlink(copy);
            name_install(pwhy, copy, path, why, why_len);
            loader_free_plugin(p);
            return NULL;
        }
    }
    void *dl = open_image(copy, path, why, why_len);
    unlink(copy); /* the mapping stays; nothing can reach it by name */
    p->copy_path = strdup(copy); /* for the check that it left at unload */
    if (dl == NULL) {
        loader_free_plugin(p);
        return NULL;
    }
    p->dl = dl;
    jobrt_plugin_desc d;
    if (check_live(dl, &sym, set, p, &d, why, why_len) != 0)
        goto fail;
    if (p->copy_path == NULL) {
        util_fail(why, why_len, "out of memory");
        goto fail;
    }
    if (call_init(l->host, p, &d, why, why_len) != 0)
        goto fail;
    struct jobrt_plugin **tail = &set->head; /* append: keep load order */
    while (*tail)
        tail = &(*tail)->next;
    *tail = p;
    set->count++;
    return p;
fail:
    loader_free_plugin(p);
    dlclose(dl);
    return NULL;
}

struct jobrt_plugin *loader_trial(const char *path, const jobrt_host_api *host,
                                  loader_step_fn step, void *arg, char *why,
                                  size_t why_len)
{
    elf_target_t self;
    if (elf_target_self(&self, why, why_len) != 0)
        return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        util_fail(why, why_len, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        util_fail(why, why_len, "%s is not a regular file", path);
        close(fd);
        return NULL;
    }
    size_t len = 0;
    unsigned char *buf = read_whole(fd, &st, &len, why, why_len);
    close(fd);
    if (buf == NULL)
        return NULL;
    elf_symbol_t sym;
    char pin[sizeof ((struct jobrt_plugin *)0)->pin_reason];
    struct jobrt_plugin *p = NULL;
    if (check_file(&self, buf, len, &sym, pin, sizeof pin, why, why_len) == 0)
        p = new_plugin(path, buf, len, pin, why, why_len);
    free(buf);
    if (p == NULL)
        return NULL;
    void *dl = open_image(path, path, why, why_len);
    if (dl == NULL) {
        loader_free_plugin(p);
        return NULL;
    }
    p->dl = dl;
    step(arg, LOADER_STEP_DLOPEN);
    plugin_set_t none = {0};
    jobrt_plugin_desc d;
    if (check_live(dl, &sym, &none, p, &d, why, why_len) != 0) {
        loader_free_plugin(p);
        return NULL; /* dl stays: the process is about to exit */
    }
    step(arg, LOADER_STEP_DESC);
    if (call_init(host, p, &d, why, why_len) != 0) {
        loader_free_plugin(p);
        return NULL;
    }
    return p;
}

struct jobrt_plugin *loader_load_at(loader_t *l, const plugin_dir_t *dir,
                                    const char *name, plugin_set_t *set,
                                    char *why, size_t why_len)
{
    char path[PATH_MAX];
    size_t dl = strlen(dir->path);
    snprintf(path, sizeof path, "%s%s%s", dir->path,
             dl && dir->path[dl - 1] == '/' ? "" : "/", name);
    struct stat st;
    int fd = plugin_dir_open_file(dir, name, &st, why, why_len);
    if (fd < 0)
        return NULL;
    size_t len = 0;
    unsigned char *buf = read_whole(fd, &st, &len, why, why_len);
    close(fd);
    if (buf == NULL)
        return NULL;
    struct jobrt_plugin *p = load_image(l, path, name, buf, len, set, why,
                                        why_len);
    free(buf);
    return p;
}

struct jobrt_plugin *loader_load_file(loader_t *l, const char *path,
                                      plugin_set_t *set, char *why,
                                      size_t why_len)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (*base == '\0') {
        util_fail(why, why_len, "not a regular file");
        return NULL;
    }
    if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        snprintf(dir, sizeof dir, ".");
    plugin_dir_t pd;
    char dwhy[512];
    if (plugin_dir_open(&pd, dir, l->insecure, dwhy, sizeof dwhy) != 0) {
        util_fail(why, why_len, "its directory: %s", dwhy);
        return NULL;
    }
    struct jobrt_plugin *p = loader_load_at(l, &pd, base, set, why, why_len);
    plugin_dir_close(&pd);
    return p;
}

int loader_hash_at(const plugin_dir_t *dir, const char *name, char sha[65],
                   char *why, size_t why_len)
{
    struct stat st;
    int fd = plugin_dir_open_file(dir, name, &st, why, why_len);
    if (fd < 0)
        return -1;
    size_t len = 0;
    unsigned char *buf = read_whole(fd, &st, &len, why, why_len);
    close(fd);
    if (buf == NULL)
        return -1;
    int rc = sha256_hex(buf, len, sha);
    free(buf);
    if (rc != 0)
        return util_fail(why, why_len, "cannot compute the file's SHA-256");
    return 0;
}

static int has_so_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, ".so") == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.so names in the open directory fd, sorted, in *names (NULL if
 * none). Returns their number, or -1 if the directory cannot be read. */
static ssize_t list_plugins(int fd, char ***out)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    int dfd = dup(fd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    *out = NULL;
    if (d == NULL) {
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    struct dirent *e;
    int oom = 0;
    while (!oom && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !has_so_suffix(e->d_name))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = realloc(names, ncap * sizeof *names);
            if (nn == NULL) {
                oom = 1;
                break;
            }
            names = nn;
            cap = ncap;
        }
        names[n] = strdup(e->d_name);
        if (names[n] == NULL)
            oom = 1;
        else
            n++;
    }
    closedir(d);
    if (oom) {
        /* Never a partial list: a plugin left out would look like one
         * that is not there, with no line saying so. */
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        errno = ENOMEM;
        return -1;
    }
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_names);
    *out = names;
    return (ssize_t)n;
}

int loader_open_dir(const loader_t *l, const char *dir, plugin_dir_t *pd,
                    char ***names, size_t *n, char *err, size_t err_len)
{
    char why[512];
    *names = NULL;
    *n = 0;
    if (plugin_dir_open(pd, dir, l->insecure, why, sizeof why) != 0) {
        snprintf(err, err_len, "plugin dir %s: %s", dir, why);
        return -1;
    }
    ssize_t got = list_plugins(pd->fd, names);
    if (got < 0) {
        snprintf(err, err_len, "plugin dir %s: %s", dir, strerror(errno));
        plugin_dir_close(pd);
        return -1;
    }
    *n = (size_t)got;
    return 0;
}

int loader_scan_dir(loader_t *l, const char *dir, plugin_set_t *set,
                    loader_report_fn report, void *arg, char *err,
                    size_t err_len)
{
    plugin_dir_t pd;
    char why[512];
    if (plugin_dir_open(&pd, dir, l->insecure, why, sizeof why) != 0) {
        snprintf(err, err_len, "plugin dir %s: %s", dir, why);
        return -1;
    }
    char **names;
    ssize_t n = list_plugins(pd.fd, &names);
    if (n < 0) {
        snprintf(err, err_len, "plugin dir %s: %s", dir, strerror(errno));
        plugin_dir_close(&pd);
        return -1;
    }
    int rejected = 0;
    for (ssize_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        size_t dlen = strlen(dir);
        snprintf(path, sizeof path, "%s%s%s", dir,
                 dlen && dir[dlen - 1] == '/' ? "" : "/", names[i]);
        why[0] = '\0';
        struct jobrt_plugin *p = loader_load_at(l, &pd, names[i], set, why,
                                                sizeof why);
        if (p == NULL)
            rejected++;
        if (report)
            report(arg, path, p, p ? NULL : why);
        free(names[i]);
    }
    free(names);
    plugin_dir_close(&pd);
    return rejected;
}

/* Whether a line of /proc/self/maps names path (the private copy, which
 * the kernel shows with " (deleted)" once unlinked). -1 if unreadable. */
static int maps_mention(const char *path)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (f == NULL)
        return -1;
    char line[PATH_MAX + 256];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, path) != NULL;
    fclose(f);
    return found;
}

int loader_unload(struct jobrt_plugin *p, char *why, size_t why_len)
{
    if (p->fini)
        p->fini(p->ctx);
    void *dl = p->dl;
    char *copy = p->copy_path;
    p->copy_path = NULL;
    loader_free_plugin(p);
    int rc = 0;
    if (dl && dlclose(dl) != 0) {
        const char *e = dlerror();
        rc = util_fail(why, why_len, "dlclose failed: %s",
                       e ? e : "unknown error");
    } else if (copy) {
        /* glibc finds a library still mapped by its name even after the
         * file was unlinked; NOLOAD takes a reference only if it is. */
        void *still = dlopen(copy, RTLD_NOLOAD | RTLD_LAZY);
        int mapped = maps_mention(copy);
        if (still) {
            dlclose(still);
            rc = util_fail(why, why_len, "still loaded after dlclose "
                           "(something pins it: a unique or nodelete "
                           "symbol, or a thread-local destructor)");
        } else if (mapped == 1) {
            rc = util_fail(why, why_len, "still mapped after dlclose "
                           "(/proc/self/maps names %s)", copy);
        }
    }
    free(copy);
    return rc;
}

void plugin_set_unload_all(plugin_set_t *set)
{
    struct jobrt_plugin *p = set->head;
    while (p) {
        struct jobrt_plugin *next = p->next;
        char why[256];
        const char *file = p->file ? p->file : "?";
        char name[PATH_MAX];
        snprintf(name, sizeof name, "%s", file);
        if (loader_unload(p, why, sizeof why) != 0)
            LOGD("loader", "%s: %s", name, why);
        p = next;
    }
    set->head = NULL;
    set->count = 0;
}
