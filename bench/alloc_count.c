/* bench/alloc_count.c - a counting allocator for bench/profile.sh.
 *
 * LD_PRELOAD this into a process to count its malloc, calloc, realloc
 * and aligned allocations (and frees), each charged to the address that
 * called it. At exit each process (a supervisor and its workers inherit
 * the preload) writes its totals and busiest callers to
 * $JOBRT_ALLOC_COUNT_FILE.<pid> (nothing if the variable is unset):
 *
 *   total <allocations> <frees>
 *   site <count> <dso path> <offset in dso, hex> <symbol or ->
 *
 * Offsets are for addr2line -f -e <dso>. The real allocator is glibc's,
 * reached through its __libc_* entry points (no dlsym, so no bootstrap
 * problem with calloc). Counting is lock-free: a fixed open-addressing
 * table of call sites, claimed with compare-and-swap; a site that finds
 * the table full is charged to the "other" row. Not for production.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

#define SITES 4096 /* power of two */
#define TOP 24

typedef struct {
    uintptr_t addr; /* 0: free slot */
    uint64_t count;
} site_t;

static site_t sites[SITES];
static uint64_t allocs, frees, other;
static int stopped; /* set while the report is written */

static void charge(void *caller)
{
    if (__atomic_load_n(&stopped, __ATOMIC_RELAXED))
        return;
    __atomic_fetch_add(&allocs, 1, __ATOMIC_RELAXED);
    uintptr_t a = (uintptr_t)caller;
    size_t h = (size_t)((a * 0x9E3779B97F4A7C15ull) >> 52) & (SITES - 1);
    for (size_t probe = 0; probe < 64; probe++) {
        site_t *s = &sites[(h + probe) & (SITES - 1)];
        uintptr_t cur = __atomic_load_n(&s->addr, __ATOMIC_ACQUIRE);
        if (cur == 0) {
            uintptr_t expect = 0;
            if (__atomic_compare_exchange_n(&s->addr, &expect, a, 0,
                                            __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE))
                cur = a;
            else
                cur = expect;
        }
        if (cur == a) {
            __atomic_fetch_add(&s->count, 1, __ATOMIC_RELAXED);
            return;
        }
    }
    __atomic_fetch_add(&other, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t n)
{
    charge(__builtin_return_address(0));
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    charge(__builtin_return_address(0));
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    charge(__builtin_return_address(0));
    return __libc_realloc(p, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    charge(__builtin_return_address(0));
    return __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    charge(__builtin_return_address(0));
    void *p = __libc_memalign(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

void free(void *p)
{
    if (p && !__atomic_load_n(&stopped, __ATOMIC_RELAXED))
        __atomic_fetch_add(&frees, 1, __ATOMIC_RELAXED);
    __libc_free(p);
}

static int by_count_desc(const void *a, const void *b)
{
    uint64_t x = ((const site_t *)a)->count, y = ((const site_t *)b)->count;
    return x < y ? 1 : x > y ? -1 : 0;
}

__attribute__((destructor)) static void report(void)
{
    const char *path = getenv("JOBRT_ALLOC_COUNT_FILE");
    __atomic_store_n(&stopped, 1, __ATOMIC_SEQ_CST);
    if (!path || !*path)
        return;
    char name[4096];
    snprintf(name, sizeof name, "%s.%ld", path, (long)getpid());
    FILE *f = fopen(name, "w");
    if (!f)
        return;
    fprintf(f, "total %llu %llu\n", (unsigned long long)allocs,
            (unsigned long long)frees);
    static site_t sorted[SITES];
    memcpy(sorted, sites, sizeof sorted);
    qsort(sorted, SITES, sizeof sorted[0], by_count_desc);
    for (int i = 0; i < TOP && sorted[i].count; i++) {
        Dl_info info;
        memset(&info, 0, sizeof info);
        const char *dso = "?", *sym = "-";
        uintptr_t off = sorted[i].addr;
        if (dladdr((void *)sorted[i].addr, &info) && info.dli_fname) {
            dso = info.dli_fname;
            off = sorted[i].addr - (uintptr_t)info.dli_fbase;
            if (info.dli_sname)
                sym = info.dli_sname;
        }
        fprintf(f, "site %llu %s %llx %s\n",
                (unsigned long long)sorted[i].count, dso,
                (unsigned long long)off, sym);
    }
    if (other)
        fprintf(f, "site %llu (table-full) 0 -\n",
                (unsigned long long)other);
    fclose(f);
}
