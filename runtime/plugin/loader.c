/*
 * loader.c - plugin discovery and validation (see loader.h). The checks run
 * in the order that keeps the runtime safe: ELF header, private copy,
 * dlopen, descriptor symbol and its size, magic, ABI version, descriptor
 * fields, handler table, conflicts with plugins already loaded, init().
 */
#define _GNU_SOURCE
#include "plugin/loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/envelope.h"
#include "core/log.h"

#define MAX_HANDLERS 1024

struct loader {
    char *run_dir;
    int made_run_dir;
    unsigned seq;
    const jobrt_host_api *host;
};

/* The smallest descriptor any 1.x plugin may have: the 1.0 layout. */
#define DESC_MIN_SIZE sizeof(jobrt_plugin_desc)
/* The 1.0 handler entry ended at backoff_base_ms; later fields read as 0
 * for plugins built before them. */
#define HANDLER_MIN_SIZE offsetof(jobrt_handler_desc, backoff_base_ms)

static int reject(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int reject(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
    return -1;
}

loader_t *loader_create(const char *run_dir, const jobrt_host_api *host,
                        char *err, size_t err_len)
{
    loader_t *l = calloc(1, sizeof *l);
    if (l == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    l->host = host;
    if (run_dir) {
        if (mkdir(run_dir, 0700) != 0 && errno != EEXIST) {
            snprintf(err, err_len, "run dir %s: %s", run_dir, strerror(errno));
            free(l);
            return NULL;
        }
        l->run_dir = strdup(run_dir);
    } else {
        const char *tmp = getenv("TMPDIR");
        char tmpl[4096];
        snprintf(tmpl, sizeof tmpl, "%s/jobrt-run-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (mkdtemp(tmpl) == NULL) {
            snprintf(err, err_len, "cannot create run dir %s: %s", tmpl,
                     strerror(errno));
            free(l);
            return NULL;
        }
        l->run_dir = strdup(tmpl);
        l->made_run_dir = 1;
    }
    return l;
}

void loader_destroy(loader_t *l)
{
    if (l == NULL)
        return;
    if (l->made_run_dir)
        rmdir(l->run_dir);
    free(l->run_dir);
    free(l);
}

/* Reads the ELF header: a shared object of this machine's class and
 * architecture, and not an executable (PIE executables are ET_DYN too, but
 * have an interpreter). */
static int check_elf(const char *path, char *why, size_t why_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return reject(why, why_len, "cannot open: %s", strerror(errno));
    ElfW(Ehdr) eh;
    ssize_t n = pread(fd, &eh, sizeof eh, 0);
    int rc = 0;
    if (n < (ssize_t)EI_NIDENT || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
        rc = reject(why, why_len, "not an ELF file");
    } else if (n < (ssize_t)sizeof eh ||
               eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64
                                                            : ELFCLASS32)) {
        rc = reject(why, why_len, "not a shared object for this machine "
                                  "(wrong ELF class)");
    } else if (eh.e_type != ET_DYN) {
        rc = reject(why, why_len, "not a shared object (ELF type %u)",
                    (unsigned)eh.e_type);
    } else {
        for (unsigned i = 0; i < eh.e_phnum && i < 256; i++) {
            ElfW(Phdr) ph;
            off_t off = (off_t)eh.e_phoff + (off_t)i * eh.e_phentsize;
            if (pread(fd, &ph, sizeof ph, off) != (ssize_t)sizeof ph)
                break;
            if (ph.p_type == PT_INTERP) {
                rc = reject(why, why_len, "not a shared object (it is an "
                                          "executable)");
                break;
            }
        }
    }
    close(fd);
    return rc;
}

static int copy_file(const char *src, const char *dst, char *why,
                     size_t why_len)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return reject(why, why_len, "cannot open: %s", strerror(errno));
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
    if (out < 0) {
        close(in);
        return reject(why, why_len, "cannot create private copy %s: %s", dst,
                      strerror(errno));
    }
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        if (write(out, buf, (size_t)n) != n) {
            rc = reject(why, why_len, "cannot write private copy %s: %s", dst,
                        strerror(errno));
            break;
        }
    }
    if (n < 0)
        rc = reject(why, why_len, "read failed: %s", strerror(errno));
    close(in);
    if (close(out) != 0 && rc == 0)
        rc = reject(why, why_len, "cannot write private copy %s: %s", dst,
                    strerror(errno));
    if (rc != 0)
        unlink(dst);
    return rc;
}

static const plugin_handler_t *find_claim(const plugin_set_t *set,
                                          const char *job, uint32_t lo,
                                          uint32_t hi)
{
    for (const struct jobrt_plugin *p = set->head; p; p = p->next)
        for (uint32_t i = 0; i < p->n_handlers; i++) {
            const plugin_handler_t *h = &p->handlers[i];
            if (strcmp(h->job_name, job) == 0 && h->schema_min <= hi &&
                lo <= h->schema_max)
                return h;
        }
    return NULL;
}

void loader_free_plugin(struct jobrt_plugin *p)
{
    if (p == NULL)
        return;
    for (uint32_t i = 0; i < p->n_handlers; i++)
        free(p->handlers[i].job_name);
    free(p->handlers);
    free(p->file);
    free(p->name);
    free(p->version);
    free(p->build_id);
    free(p);
}

static const char *or_empty(const char *s) { return s ? s : ""; }

int loader_check_descriptor(const void *sym, size_t sym_size,
                            const plugin_set_t *set, struct jobrt_plugin *p,
                            jobrt_plugin_desc *d, char *why, size_t why_len)
{
    if (sym_size < 8)
        return reject(why, why_len, "descriptor size %zu bytes is too small "
                                    "to be a jobrt_plugin_desc", sym_size);
    const uint32_t *hdr = sym;
    if (hdr[0] != JOBRT_PLUGIN_MAGIC)
        return reject(why, why_len, "bad magic 0x%08x in " JOBRT_PLUGIN_SYMBOL
                                    " (expected 0x%08x)",
                      hdr[0], JOBRT_PLUGIN_MAGIC);
    uint32_t size = hdr[1];
    if (size < DESC_MIN_SIZE || size > sym_size)
        return reject(why, why_len, "descriptor size %u does not match the "
                                    "ABI 1.x layout (%zu bytes, symbol has "
                                    "%zu)", size, DESC_MIN_SIZE, sym_size);
    memset(d, 0, sizeof *d);
    memcpy(d, sym, size < sizeof *d ? size : sizeof *d);
    if (d->abi_major != JOBRT_ABI_MAJOR)
        return reject(why, why_len, "built for ABI major %u, this runtime "
                                    "provides ABI %d.%d",
                      d->abi_major, JOBRT_ABI_MAJOR, JOBRT_ABI_MINOR);
    if (d->abi_minor > JOBRT_ABI_MINOR)
        return reject(why, why_len, "built for ABI minor %u.%u, newer than "
                                    "this runtime's ABI %d.%d (upgrade jobrt)",
                      d->abi_major, d->abi_minor, JOBRT_ABI_MAJOR,
                      JOBRT_ABI_MINOR);
    if (d->name == NULL || !envelope_valid_name(d->name, strlen(d->name)))
        return reject(why, why_len, "descriptor has no valid plugin name "
                                    "(1-128 characters of [A-Za-z0-9_.:/-])");
    if (d->version == NULL || *d->version == '\0')
        return reject(why, why_len, "plugin '%s' has no version string",
                      d->name);
    for (int i = 0; i < 4; i++)
        if (d->reserved[i] != NULL)
            return reject(why, why_len, "plugin '%s': reserved descriptor "
                                        "fields must be NULL", d->name);
    for (const struct jobrt_plugin *q = set->head; q; q = q->next)
        if (strcmp(q->name, d->name) == 0)
            return reject(why, why_len, "plugin name '%s' is already loaded "
                                        "from %s", d->name, q->file);
    if (d->handler_size < HANDLER_MIN_SIZE || d->handler_size > 4096 ||
        (d->abi_minor >= 1 && d->handler_size < sizeof(jobrt_handler_desc)))
        return reject(why, why_len, "plugin '%s': handler table entry size "
                                    "%u does not match the ABI %u.%u layout",
                      d->name, d->handler_size, d->abi_major, d->abi_minor);
    if (d->n_handlers == 0 || d->n_handlers > MAX_HANDLERS ||
        d->handlers == NULL)
        return reject(why, why_len, "plugin '%s': handler table is empty or "
                                    "has more than %d entries",
                      d->name, MAX_HANDLERS);

    p->handlers = calloc(d->n_handlers, sizeof *p->handlers);
    if (p->handlers == NULL)
        return reject(why, why_len, "out of memory");
    const char *base = (const char *)d->handlers;
    for (uint32_t i = 0; i < d->n_handlers; i++) {
        jobrt_handler_desc h;
        memset(&h, 0, sizeof h);
        memcpy(&h, base + (size_t)i * d->handler_size,
               d->handler_size < sizeof h ? d->handler_size : sizeof h);
        const char *jn = h.job_name;
        if (jn == NULL || !envelope_valid_name(jn, strlen(jn)))
            return reject(why, why_len, "plugin '%s': handler #%u has no "
                                        "valid job name", d->name, i);
        if (h.run == NULL)
            return reject(why, why_len, "plugin '%s': handler for '%s' has "
                                        "no run function", d->name, jn);
        if (h.schema_min > h.schema_max)
            return reject(why, why_len, "plugin '%s': handler for '%s' has "
                                        "schema range %u..%u (min > max)",
                          d->name, jn, h.schema_min, h.schema_max);
        if (h.flags != 0)
            return reject(why, why_len, "plugin '%s': handler for '%s' sets "
                                        "unknown flags 0x%x",
                          d->name, jn, h.flags);
        if (h.max_attempts > ENVELOPE_MAX_ATTEMPTS)
            return reject(why, why_len, "plugin '%s': handler for '%s' has "
                                        "max_attempts %u (limit %d)",
                          d->name, jn, h.max_attempts, ENVELOPE_MAX_ATTEMPTS);
        for (uint32_t j = 0; j < p->n_handlers; j++) {
            const plugin_handler_t *o = &p->handlers[j];
            if (strcmp(o->job_name, jn) == 0 && o->schema_min <= h.schema_max &&
                h.schema_min <= o->schema_max)
                return reject(why, why_len, "plugin '%s': handlers for '%s' "
                                            "overlap (v%u..%u and v%u..%u)",
                              d->name, jn, o->schema_min, o->schema_max,
                              h.schema_min, h.schema_max);
        }
        const plugin_handler_t *other =
            find_claim(set, jn, h.schema_min, h.schema_max);
        if (other)
            return reject(why, why_len, "plugin '%s': %s v%u..%u is already "
                                        "served by plugin '%s' (%s)",
                          d->name, jn, h.schema_min, h.schema_max,
                          other->plugin->name, other->plugin->file);
        plugin_handler_t *ph = &p->handlers[p->n_handlers++];
        ph->job_name = strdup(jn);
        if (ph->job_name == NULL)
            return reject(why, why_len, "out of memory");
        ph->schema_min = h.schema_min;
        ph->schema_max = h.schema_max;
        ph->run = h.run;
        ph->timeout_ms = h.timeout_ms;
        ph->max_attempts = h.max_attempts;
        ph->backoff_base_ms = h.backoff_base_ms;
        ph->backoff_cap_ms = h.backoff_cap_ms;
        ph->plugin = p;
    }
    p->name = strdup(d->name);
    p->version = strdup(d->version);
    p->build_id = strdup(or_empty(d->build_id));
    p->abi_major = d->abi_major;
    p->abi_minor = d->abi_minor;
    p->fini = d->fini;
    if (!p->name || !p->version || !p->build_id)
        return reject(why, why_len, "out of memory");
    return 0;
}

struct jobrt_plugin *loader_load_file(loader_t *l, const char *path,
                                      plugin_set_t *set, char *why,
                                      size_t why_len)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        reject(why, why_len, "cannot stat: %s", strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        reject(why, why_len, "not a regular file");
        return NULL;
    }
    if (check_elf(path, why, why_len) != 0)
        return NULL;

    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char copy[4096];
    snprintf(copy, sizeof copy, "%s/%u-%s", l->run_dir, ++l->seq, base);
    if (copy_file(path, copy, why, why_len) != 0)
        return NULL;
    void *dl = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
    unlink(copy); /* the mapping stays; the name is free for the next load */
    if (dl == NULL) {
        const char *e = dlerror();
        reject(why, why_len, "dlopen failed: %s", e ? e : "unknown error");
        return NULL;
    }

    struct jobrt_plugin *p = calloc(1, sizeof *p);
    jobrt_plugin_desc d;
    if (p == NULL) {
        reject(why, why_len, "out of memory");
        goto fail;
    }
    p->file = strdup(path);
    p->dl = dl;
    void *sym = dlsym(dl, JOBRT_PLUGIN_SYMBOL);
    if (sym == NULL) {
        reject(why, why_len, "no " JOBRT_PLUGIN_SYMBOL " descriptor exported "
                             "(built without the jobrt SDK?)");
        goto fail;
    }
    /* The symbol's size as the plugin's ELF states it bounds every read. */
    Dl_info info;
    const ElfW(Sym) *ent = NULL;
    size_t sym_size = 8;
    if (dladdr1(sym, &info, (void **)&ent, RTLD_DL_SYMENT) && ent)
        sym_size = ent->st_size;
    if (p->file == NULL ||
        loader_check_descriptor(sym, sym_size, set, p, &d, why, why_len) != 0)
        goto fail;
    if (d.init) {
        int rc = d.init(l->host, p, &p->ctx);
        if (rc != 0) {
            reject(why, why_len, "plugin '%s': init failed (returned %d)",
                   p->name, rc);
            goto fail;
        }
    }
    /* append, keeping load order */
    struct jobrt_plugin **tail = &set->head;
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

static int has_so_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, ".so") == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int loader_scan_dir(loader_t *l, const char *dir, plugin_set_t *set,
                    loader_report_fn report, void *arg, char *err,
                    size_t err_len)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, err_len, "plugin dir %s: %s", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !has_so_suffix(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof *names);
            if (nn == NULL)
                break;
            names = nn;
        }
        names[n] = strdup(e->d_name);
        if (names[n])
            n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_names);

    int rejected = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096], why[512];
        size_t dlen = strlen(dir);
        snprintf(path, sizeof path, "%s%s%s", dir,
                 dlen && dir[dlen - 1] == '/' ? "" : "/", names[i]);
        why[0] = '\0';
        struct jobrt_plugin *p = loader_load_file(l, path, set, why, sizeof why);
        if (p == NULL)
            rejected++;
        if (report)
            report(arg, path, p, p ? NULL : why);
        free(names[i]);
    }
    free(names);
    return rejected;
}

void plugin_set_unload_all(plugin_set_t *set)
{
    struct jobrt_plugin *p = set->head;
    while (p) {
        struct jobrt_plugin *next = p->next;
        if (p->fini)
            p->fini(p->ctx);
        void *dl = p->dl;
        loader_free_plugin(p);
        dlclose(dl);
        p = next;
    }
    set->head = NULL;
    set->count = 0;
}
