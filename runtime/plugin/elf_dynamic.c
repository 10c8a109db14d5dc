/*
 * elf_dynamic.c - the second stage of elf_image_check(): the dynamic
 * section and every table glibc's loader reads through it while it maps
 * and relocates a shared object (string table, symbol table and both hash
 * tables, symbol versions, relocations, init/fini), each inside the
 * file-backed memory of a PT_LOAD segment, with every index into another
 * table in range, and every relocation writing inside a writable segment.
 * Then, on a file that passed, what would keep dlclose() from unmapping it
 * (elf_image_t.pin_reason): not a rejection, a reason it cannot be
 * reloaded in a running worker.
 */
#define _GNU_SOURCE
#include "plugin/elf_image.h"

#include <elf.h>
#include <link.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

#define WORD sizeof(ElfW(Addr))

#if UINTPTR_MAX > 0xffffffffu
#define REL_SYM(info) ELF64_R_SYM(info)
#define REL_TYPE(info) ELF64_R_TYPE(info)
#define SYM_BIND(info) ELF64_ST_BIND(info)
#else
#define REL_SYM(info) ELF32_R_SYM(info)
#define REL_TYPE(info) ELF32_R_TYPE(info)
#define SYM_BIND(info) ELF32_ST_BIND(info)
#endif

/* The only DT_PLTREL glibc accepts on this machine (0: either). */
#if defined(__x86_64__) || defined(__aarch64__) || defined(__riscv)
#define NATIVE_PLTREL DT_RELA
#elif defined(__i386__) || defined(__arm__)
#define NATIVE_PLTREL DT_REL
#else
#define NATIVE_PLTREL 0
#endif

typedef struct {
    uint64_t val[DT_NUM];
    unsigned char has[DT_NUM];
    uint64_t gnu_hash, versym, verdef, verneed, flags_1;
    int has_gnu_hash, has_versym, has_verdef, has_verneed;
    size_t off, count; /* the entries before DT_NULL, in the file */
} dyn_t;

static int read_dynamic(const elf_image_t *img, dyn_t *d, char *why,
                        size_t why_len)
{
    memset(d, 0, sizeof *d);
    elf_image_map(img, img->dyn_vaddr, img->dyn_filesz, &d->off);
    size_t n = (size_t)(img->dyn_filesz / sizeof(ElfW(Dyn)));
    for (size_t i = 0; i < n; i++) {
        ElfW(Dyn) e;
        elf_image_read(img, d->off + i * sizeof e, &e, sizeof e);
        uint64_t v = e.d_un.d_val;
        if (e.d_tag == DT_NULL) {
            d->count = i;
            return 0;
        }
        if (e.d_tag > 0 && e.d_tag < DT_NUM) {
            d->val[e.d_tag] = v;
            d->has[e.d_tag] = 1;
        } else if (e.d_tag == DT_GNU_HASH) {
            d->gnu_hash = v;
            d->has_gnu_hash = 1;
        } else if (e.d_tag == DT_VERSYM) {
            d->versym = v;
            d->has_versym = 1;
        } else if (e.d_tag == DT_VERDEF) {
            d->verdef = v;
            d->has_verdef = 1;
        } else if (e.d_tag == DT_VERNEED) {
            d->verneed = v;
            d->has_verneed = 1;
        } else if (e.d_tag == DT_FLAGS_1) {
            d->flags_1 = v;
        }
    }
    return util_fail(why, why_len, "corrupt dynamic section: no DT_NULL "
                  "terminator");
}

/* The bytes at vaddr, as a file offset, or a reason naming what. */
static int map_table(const elf_image_t *img, uint64_t vaddr, uint64_t size,
                     uint64_t align, size_t *off, const char *what,
                     char *why, size_t why_len)
{
    if (vaddr % align != 0 || elf_image_map(img, vaddr, size, off) != 0)
        return util_fail(why, why_len, "corrupt dynamic section: %s (%llu "
                      "bytes at 0x%llx) is not inside the file's loadable "
                      "segments", what, (unsigned long long)size,
                      (unsigned long long)vaddr);
    return 0;
}

static uint32_t word32(const elf_image_t *img, size_t off)
{
    uint32_t v;
    memcpy(&v, img->buf + off, sizeof v);
    return v;
}

static int check_strings(elf_image_t *img, const dyn_t *d, char *why,
                         size_t why_len)
{
    static const struct {
        int64_t tag;
        const char *name;
    } need[] = {{DT_STRTAB, "DT_STRTAB"}, {DT_STRSZ, "DT_STRSZ"},
                {DT_SYMTAB, "DT_SYMTAB"}};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!d->has[need[i].tag])
            return util_fail(why, why_len, "corrupt dynamic section: no %s",
                          need[i].name);
    if (!d->has[DT_HASH] && !d->has_gnu_hash)
        return util_fail(why, why_len, "corrupt dynamic section: no symbol "
                      "hash table (DT_HASH or DT_GNU_HASH)");
    img->strsz = (size_t)d->val[DT_STRSZ];
    if (map_table(img, d->val[DT_STRTAB], d->val[DT_STRSZ], 1,
                  &img->strtab_off, "the string table", why, why_len))
        return -1;
    if (img->strsz == 0 || img->buf[img->strtab_off + img->strsz - 1] != 0)
        return util_fail(why, why_len, "corrupt dynamic section: the string "
                      "table does not end in NUL");
    for (size_t i = 0; i < d->count; i++) {
        ElfW(Dyn) e;
        elf_image_read(img, d->off + i * sizeof e, &e, sizeof e);
        int is_name = e.d_tag == DT_NEEDED || e.d_tag == DT_SONAME ||
                      e.d_tag == DT_RPATH || e.d_tag == DT_RUNPATH ||
                      e.d_tag == DT_AUXILIARY || e.d_tag == DT_FILTER;
        if (is_name && e.d_un.d_val >= img->strsz)
            return util_fail(why, why_len, "corrupt dynamic section: entry %zu "
                          "(tag %lld) names string %llu of a %zu-byte "
                          "string table", i, (long long)e.d_tag,
                          (unsigned long long)e.d_un.d_val, img->strsz);
    }
    return 0;
}

/* DT_HASH: nbucket, nchain, buckets, chains; every index below nchain. */
static int check_sysv_hash(const elf_image_t *img, uint64_t vaddr,
                           size_t *nsyms, char *why, size_t why_len)
{
    size_t off;
    if (map_table(img, vaddr, 8, 4, &off, "DT_HASH", why, why_len))
        return -1;
    uint64_t nbucket = word32(img, off), nchain = word32(img, off + 4);
    if (nbucket == 0)
        return util_fail(why, why_len, "corrupt dynamic section: DT_HASH has "
                      "no buckets");
    if (map_table(img, vaddr, 8 + 4 * (nbucket + nchain), 4, &off,
                  "DT_HASH", why, why_len))
        return -1;
    for (uint64_t i = 0; i < nbucket + nchain; i++)
        if (word32(img, off + 8 + 4 * i) >= nchain)
            return util_fail(why, why_len, "corrupt dynamic section: DT_HASH "
                          "entry %llu is not below its %llu chains",
                          (unsigned long long)i, (unsigned long long)nchain);
    if (nchain > *nsyms)
        *nsyms = (size_t)nchain;
    return 0;
}

/* DT_GNU_HASH: the walk from the highest bucket start to the first chain
 * end covers every symbol any lookup can reach. */
static int check_gnu_hash(const elf_image_t *img, uint64_t vaddr,
                          size_t *nsyms, char *why, size_t why_len)
{
    size_t off;
    if (map_table(img, vaddr, 16, WORD, &off, "DT_GNU_HASH", why, why_len))
        return -1;
    uint64_t nbuckets = word32(img, off), symoffset = word32(img, off + 4);
    uint64_t bloom = word32(img, off + 8), shift = word32(img, off + 12);
    if (nbuckets == 0 || bloom == 0 || (bloom & (bloom - 1)) != 0 ||
        shift >= 8 * WORD)
        return util_fail(why, why_len, "corrupt dynamic section: DT_GNU_HASH "
                      "header (%llu buckets, %llu bloom words, shift %llu)",
                      (unsigned long long)nbuckets,
                      (unsigned long long)bloom, (unsigned long long)shift);
    uint64_t buckets = 16 + bloom * WORD;
    if (map_table(img, vaddr, buckets + 4 * nbuckets, WORD, &off,
                  "DT_GNU_HASH", why, why_len))
        return -1;
    uint64_t top = 0;
    for (uint64_t i = 0; i < nbuckets; i++) {
        uint64_t start = word32(img, off + buckets + 4 * i);
        if (start != 0 && start < symoffset)
            return util_fail(why, why_len, "corrupt dynamic section: "
                          "DT_GNU_HASH bucket %llu starts below symoffset",
                          (unsigned long long)i);
        if (start > top)
            top = start;
    }
    uint64_t end = symoffset;
    if (top != 0) {
        uint64_t chain = vaddr + buckets + 4 * nbuckets;
        for (uint64_t i = top;; i++) {
            size_t c;
            if (map_table(img, chain + 4 * (i - symoffset), 4, 4, &c,
                          "a DT_GNU_HASH chain", why, why_len))
                return -1;
            if (word32(img, c) & 1) {
                end = i + 1;
                break;
            }
        }
    }
    if (end > *nsyms)
        *nsyms = (size_t)end;
    return 0;
}

/* One relocation table of REL or RELA entries. */
static int check_relocs(elf_image_t *img, uint64_t vaddr, uint64_t size,
                        int rela, size_t *nsyms, const char *what,
                        char *why, size_t why_len)
{
    size_t ent = rela ? sizeof(ElfW(Rela)) : sizeof(ElfW(Rel)), off;
    if (size == 0)
        return 0;
    if (size % ent != 0)
        return util_fail(why, why_len, "corrupt dynamic section: %s is %llu "
                      "bytes, not a whole number of entries", what,
                      (unsigned long long)size);
    if (map_table(img, vaddr, size, WORD, &off, what, why, why_len))
        return -1;
    uint32_t need = img->textrel ? 0 : PF_W;
    for (size_t i = 0; i < size / ent; i++) {
        ElfW(Rel) r; /* the prefix REL and RELA share */
        elf_image_read(img, off + i * ent, &r, sizeof r);
        size_t sym = (size_t)REL_SYM(r.r_info);
        if (sym >= *nsyms)
            *nsyms = sym + 1;
        if (REL_TYPE(r.r_info) != 0 &&
            !elf_image_in_memory(img, r.r_offset, WORD, need))
            return util_fail(why, why_len, "corrupt relocation %zu of %s: it "
                          "writes to 0x%llx, outside the writable "
                          "segments", i, what,
                          (unsigned long long)r.r_offset);
    }
    return 0;
}

/* DT_RELR: an address word, then bitmaps of the 63 words after it. */
static int check_relr(elf_image_t *img, const dyn_t *d, char *why,
                      size_t why_len)
{
    uint64_t size = d->val[DT_RELRSZ];
    size_t off;
    if (!d->has[DT_RELR] || size == 0)
        return 0;
    if (size % WORD != 0 || !d->has[DT_RELRENT] ||
        d->val[DT_RELRENT] != WORD)
        return util_fail(why, why_len, "corrupt dynamic section: DT_RELR "
                      "entry size");
    if (map_table(img, d->val[DT_RELR], size, WORD, &off, "DT_RELR", why,
                  why_len))
        return -1;
    uint32_t need = img->textrel ? 0 : PF_W;
    uint64_t where = 0;
    int have_where = 0;
    for (size_t i = 0; i < size / WORD; i++) {
        ElfW(Addr) e;
        elf_image_read(img, off + i * WORD, &e, sizeof e);
        if ((e & 1) == 0) {
            where = e;
            have_where = 1;
            if (!elf_image_in_memory(img, where, WORD, need))
                return util_fail(why, why_len, "corrupt DT_RELR entry %zu: it "
                              "writes to 0x%llx, outside the writable "
                              "segments", i, (unsigned long long)where);
            where += WORD;
            continue;
        }
        if (!have_where)
            return util_fail(why, why_len, "corrupt DT_RELR: a bitmap before "
                          "any address");
        for (uint64_t j = 0; (e >>= 1) != 0; j++)
            if ((e & 1) && !elf_image_in_memory(img, where + j * WORD, WORD,
                                                need))
                return util_fail(why, why_len, "corrupt DT_RELR entry %zu: it "
                              "writes outside the writable segments", i);
        where += (8 * WORD - 1) * WORD;
    }
    return 0;
}

static int check_all_relocs(elf_image_t *img, const dyn_t *d, size_t *nsyms,
                            char *why, size_t why_len)
{
    /* glibc asserts on these (reading DT_*ENT without checking that it
     * exists): an assertion in ld.so ends the whole process */
    if (d->has[DT_RELA] && (!d->has[DT_RELAENT] ||
                            d->val[DT_RELAENT] != sizeof(ElfW(Rela))))
        return util_fail(why, why_len, "corrupt dynamic section: DT_RELA "
                      "without a DT_RELAENT of %zu", sizeof(ElfW(Rela)));
    if (d->has[DT_REL] && (!d->has[DT_RELENT] ||
                           d->val[DT_RELENT] != sizeof(ElfW(Rel))))
        return util_fail(why, why_len, "corrupt dynamic section: DT_REL "
                      "without a DT_RELENT of %zu", sizeof(ElfW(Rel)));
    if (d->has[DT_PLTREL] && d->val[DT_PLTREL] != NATIVE_PLTREL &&
        (NATIVE_PLTREL != 0 || (d->val[DT_PLTREL] != DT_RELA &&
                                d->val[DT_PLTREL] != DT_REL)))
        return util_fail(why, why_len, "corrupt dynamic section: DT_PLTREL "
                      "%llu", (unsigned long long)d->val[DT_PLTREL]);
    if (d->has[DT_RELA] &&
        check_relocs(img, d->val[DT_RELA], d->val[DT_RELASZ], 1, nsyms,
                     "DT_RELA", why, why_len))
        return -1;
    if (d->has[DT_REL] &&
        check_relocs(img, d->val[DT_REL], d->val[DT_RELSZ], 0, nsyms,
                     "DT_REL", why, why_len))
        return -1;
    if (d->has[DT_JMPREL]) {
        uint64_t kind = d->has[DT_PLTREL] ? d->val[DT_PLTREL]
                        : NATIVE_PLTREL ? NATIVE_PLTREL : DT_RELA;
        if (check_relocs(img, d->val[DT_JMPREL], d->val[DT_PLTRELSZ],
                         kind == DT_RELA, nsyms, "DT_JMPREL", why, why_len))
            return -1;
    }
    if (d->has[DT_PLTGOT] &&
        !elf_image_in_memory(img, d->val[DT_PLTGOT], 3 * WORD,
                             img->textrel ? 0 : PF_W))
        return util_fail(why, why_len, "corrupt dynamic section: DT_PLTGOT "
                      "is outside the writable segments");
    return check_relr(img, d, why, why_len);
}

/* DT_VERNEED: a chain of needs, each with a chain of at least one aux. */
static int check_verneed(const elf_image_t *img, uint64_t va,
                         unsigned *ndx_high, char *why, size_t why_len)
{
    /* every step moves forward, so the file's length bounds the walk */
    size_t off, steps = img->len / 8 + 1;
    for (;;) {
        ElfW(Verneed) vn;
        if (steps-- == 0)
            return util_fail(why, why_len, "corrupt DT_VERNEED chain");
        if (map_table(img, va, sizeof vn, 4, &off, "DT_VERNEED", why,
                      why_len))
            return -1;
        elf_image_read(img, off, &vn, sizeof vn);
        if (vn.vn_version != 1 || vn.vn_file >= img->strsz)
            return util_fail(why, why_len, "corrupt DT_VERNEED entry (version "
                          "%u, file name %u)", (unsigned)vn.vn_version,
                          (unsigned)vn.vn_file);
        /* glibc reads at least one aux, whatever vn_cnt says */
        uint64_t aux = va + vn.vn_aux;
        for (;;) {
            ElfW(Vernaux) a;
            if (steps-- == 0)
                return util_fail(why, why_len, "corrupt DT_VERNEED chain");
            if (map_table(img, aux, sizeof a, 4, &off, "DT_VERNEED aux",
                          why, why_len))
                return -1;
            elf_image_read(img, off, &a, sizeof a);
            if (a.vna_name >= img->strsz)
                return util_fail(why, why_len, "corrupt DT_VERNEED aux name");
            if ((a.vna_other & 0x7fffu) > *ndx_high)
                *ndx_high = a.vna_other & 0x7fffu;
            if (a.vna_next == 0)
                break;
            aux += a.vna_next;
        }
        if (vn.vn_next == 0)
            return 0;
        va += vn.vn_next;
    }
}

/* DT_VERDEF: a chain of definitions, each naming itself in its first aux. */
static int check_verdef(const elf_image_t *img, uint64_t va,
                        unsigned *ndx_high, char *why, size_t why_len)
{
    size_t off, steps = img->len / 8 + 1;
    for (;;) {
        ElfW(Verdef) vd;
        ElfW(Verdaux) a;
        if (steps-- == 0)
            return util_fail(why, why_len, "corrupt DT_VERDEF chain");
        if (map_table(img, va, sizeof vd, 4, &off, "DT_VERDEF", why, why_len))
            return -1;
        elf_image_read(img, off, &vd, sizeof vd);
        if (vd.vd_version != 1)
            return util_fail(why, why_len, "corrupt DT_VERDEF entry (version "
                          "%u)", (unsigned)vd.vd_version);
        if ((vd.vd_ndx & 0x7fffu) > *ndx_high)
            *ndx_high = vd.vd_ndx & 0x7fffu;
        if (map_table(img, va + vd.vd_aux, sizeof a, 4, &off,
                      "DT_VERDEF aux", why, why_len))
            return -1;
        elf_image_read(img, off, &a, sizeof a);
        if (a.vda_name >= img->strsz)
            return util_fail(why, why_len, "corrupt DT_VERDEF aux name");
        if (vd.vd_next == 0)
            return 0;
        va += vd.vd_next;
    }
}

/* The symbol table (nsyms entries) and the version of each symbol. */
static int check_symbols(elf_image_t *img, const dyn_t *d, char *why,
                         size_t why_len)
{
    if (img->nsyms > img->len / sizeof(ElfW(Sym)))
        return util_fail(why, why_len, "corrupt dynamic section: %zu symbols "
                      "cannot fit in the file", img->nsyms);
    if (map_table(img, d->val[DT_SYMTAB],
                  (uint64_t)img->nsyms * sizeof(ElfW(Sym)), WORD,
                  &img->symtab_off, "the symbol table", why, why_len))
        return -1;
    for (size_t i = 0; i < img->nsyms; i++) {
        ElfW(Sym) s;
        elf_image_read(img, img->symtab_off + i * sizeof s, &s, sizeof s);
        if (s.st_name >= img->strsz)
            return util_fail(why, why_len, "corrupt symbol %zu: its name is "
                          "outside the string table", i);
    }
    unsigned ndx_high = 0;
    if (d->has_verneed && check_verneed(img, d->verneed, &ndx_high, why,
                                        why_len))
        return -1;
    if (d->has_verdef && check_verdef(img, d->verdef, &ndx_high, why,
                                      why_len))
        return -1;
    if (!d->has_versym)
        return 0;
    size_t off;
    if (ndx_high == 0)
        return util_fail(why, why_len, "corrupt dynamic section: symbol "
                      "versions (DT_VERSYM) without version definitions "
                      "or needs");
    if (map_table(img, d->versym, (uint64_t)img->nsyms * 2, 2, &off,
                  "DT_VERSYM", why, why_len))
        return -1;
    for (size_t i = 0; i < img->nsyms; i++) {
        uint16_t v;
        memcpy(&v, img->buf + off + 2 * i, sizeof v);
        if ((v & 0x7fffu) > ndx_high)
            return util_fail(why, why_len, "corrupt DT_VERSYM entry %zu "
                          "(version %u of %u)", i, v & 0x7fffu, ndx_high);
    }
    return 0;
}

static int check_init_fini(const elf_image_t *img, const dyn_t *d,
                           char *why, size_t why_len)
{
    static const struct {
        int fn, array, size;
        const char *name;
    } kinds[] = {{DT_INIT, DT_INIT_ARRAY, DT_INIT_ARRAYSZ, "init"},
                 {DT_FINI, DT_FINI_ARRAY, DT_FINI_ARRAYSZ, "fini"}};
    for (size_t i = 0; i < 2; i++) {
        if (d->has[kinds[i].fn] &&
            !elf_image_in_memory(img, d->val[kinds[i].fn], 1, PF_X))
            return util_fail(why, why_len, "corrupt dynamic section: the %s "
                          "function is outside the code segments",
                          kinds[i].name);
        uint64_t a = d->val[kinds[i].array], n = d->val[kinds[i].size];
        if (d->has[kinds[i].array] &&
            (n % WORD != 0 || a % WORD != 0 ||
             !elf_image_in_memory(img, a, n, 0)))
            return util_fail(why, why_len, "corrupt dynamic section: the %s "
                          "array is outside the loadable segments",
                          kinds[i].name);
    }
    return 0;
}

/* ---- what pins a library in memory (notes section 4) ------------------- */

static void pin(elf_image_t *img, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void pin(elf_image_t *img, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(img->pin_reason, sizeof img->pin_reason, fmt, ap);
    va_end(ap);
}

/* A unique symbol: the name, cut (with "...") so the advice still fits. */
static void pin_unique(elf_image_t *img, const char *name)
{
    static const char head[] = "STB_GNU_UNIQUE symbol '",
                      tail[] = "' (C++ inline static; build with "
                               "-fno-gnu-unique)";
    size_t room = sizeof img->pin_reason - (sizeof head - 1) -
                  (sizeof tail - 1) - 1;
    size_t n = strlen(name);
    if (n <= room)
        pin(img, "%s%s%s", head, name, tail);
    else
        pin(img, "%s%.*s...%s", head, (int)(room - 3), name, tail);
}

/* Fills img->pin_reason with the first thing that makes glibc keep the
 * library mapped after its last dlclose(): -z nodelete; initial-exec TLS
 * (a static TLS block cannot be given back); a STB_GNU_UNIQUE definition
 * (glibc marks its object NODELETE when the symbol is bound); an import of
 * __cxa_thread_atexit(_impl) (a C++ thread_local destructor keeps the
 * object until the thread that ran it exits, or longer). */
static void check_pins(elf_image_t *img, const dyn_t *d)
{
    img->pin_reason[0] = '\0';
    if (d->flags_1 & DF_1_NODELETE) {
        pin(img, "linked with -z nodelete");
        return;
    }
    if (d->has[DT_FLAGS] && (d->val[DT_FLAGS] & DF_STATIC_TLS)) {
        pin(img, "uses initial-exec (static) TLS");
        return;
    }
    const char *thread_atexit = NULL;
    for (size_t i = 1; i < img->nsyms; i++) {
        ElfW(Sym) s;
        elf_image_read(img, img->symtab_off + i * sizeof s, &s, sizeof s);
        /* st_name < strsz and the table ends in NUL (check_symbols) */
        const char *n = (const char *)img->buf + img->strtab_off + s.st_name;
        if (s.st_shndx != SHN_UNDEF && SYM_BIND(s.st_info) == STB_GNU_UNIQUE) {
            pin_unique(img, n);
            return;
        }
        if (s.st_shndx == SHN_UNDEF && thread_atexit == NULL &&
            (strcmp(n, "__cxa_thread_atexit_impl") == 0 ||
             strcmp(n, "__cxa_thread_atexit") == 0))
            thread_atexit = n;
    }
    if (thread_atexit != NULL)
        pin(img, "C++ thread_local with a destructor");
}

int elf_check_dynamic(elf_image_t *img, char *why, size_t why_len)
{
    dyn_t d;
    if (read_dynamic(img, &d, why, why_len) != 0)
        return -1;
    if (d.flags_1 & DF_1_PIE)
        return util_fail(why, why_len, "not a shared object (it is an "
                      "executable)");
    if (d.has[DT_SYMENT] && d.val[DT_SYMENT] != sizeof(ElfW(Sym)))
        return util_fail(why, why_len, "corrupt dynamic section: DT_SYMENT");
    img->textrel = d.has[DT_TEXTREL] ||
                   (d.has[DT_FLAGS] && (d.val[DT_FLAGS] & DF_TEXTREL));
    size_t nsyms = 0;
    if (check_strings(img, &d, why, why_len) != 0 ||
        (d.has[DT_HASH] &&
         check_sysv_hash(img, d.val[DT_HASH], &nsyms, why, why_len)) ||
        (d.has_gnu_hash &&
         check_gnu_hash(img, d.gnu_hash, &nsyms, why, why_len)) ||
        check_all_relocs(img, &d, &nsyms, why, why_len) != 0)
        return -1;
    img->nsyms = nsyms;
    if (check_symbols(img, &d, why, why_len) != 0 ||
        check_init_fini(img, &d, why, why_len) != 0)
        return -1;
    check_pins(img, &d);
    return 0;
}
