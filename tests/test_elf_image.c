/*
 * test_elf_image.c - unit tests for the ELF validator on in-memory copies
 * of a real plugin (testkit.so): the whole file passes; every prefix is
 * refused; each header, segment and dynamic-section field glibc's loader
 * relies on, once broken, is refused with its own one-line reason; random
 * damage never makes the validator read out of bounds (the sanitizer build
 * checks that); the descriptor symbol is found in the file; what pins a
 * library in memory (pin_reason) is found in the zoo's pinned/ plugins
 * and the pinned swap build, and nothing in testkit.so. Then through
 * the loader (which dlopen()s what passes): a copy of testkit.so cut at
 * every few bytes, with and without section headers, and one with its
 * dynamic section zeroed, are each one line, never a crash (the original
 * loader died of SIGBUS and SIGSEGV).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <elf.h>
#include <fcntl.h>
#include <ftw.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin/elf_image.h"
#include "plugin/host_api.h"
#include "plugin/loader.h"

#define TESTKIT JOBRT_TESTKIT_DIR "/testkit.so"
#define PINNED JOBRT_ZOO_DIR "/pinned/"

static unsigned char *orig;
static size_t orig_len;
static elf_target_t self;

static void setup(void)
{
    FILE *f = fopen(TESTKIT, "rb");
    cr_assert_not_null(f);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    orig_len = (size_t)ftell(f);
    rewind(f);
    orig = malloc(orig_len);
    cr_assert_not_null(orig);
    cr_assert_eq(fread(orig, 1, orig_len, f), orig_len);
    fclose(f);
    char why[256];
    cr_assert_eq(elf_target_self(&self, why, sizeof why), 0, "%s", why);
}

static void teardown(void)
{
    free(orig);
}

/* A fresh copy of testkit.so to damage (malloc'd, so aligned). */
static unsigned char *copy(void)
{
    unsigned char *b = malloc(orig_len);
    cr_assert_not_null(b);
    memcpy(b, orig, orig_len);
    return b;
}

static ElfW(Ehdr) *eh(unsigned char *b) { return (ElfW(Ehdr) *)b; }

static ElfW(Phdr) *ph(unsigned char *b, unsigned type, unsigned nth)
{
    ElfW(Phdr) *p = (ElfW(Phdr) *)(b + eh(b)->e_phoff);
    for (unsigned i = 0; i < eh(b)->e_phnum; i++)
        if (p[i].p_type == type && nth-- == 0)
            return &p[i];
    cr_assert_fail("no program header of type 0x%x", type);
    return NULL;
}

static size_t off_of(unsigned char *b, uint64_t vaddr)
{
    for (unsigned i = 0;; i++) {
        ElfW(Phdr) *l = ph(b, PT_LOAD, i);
        if (vaddr >= l->p_vaddr && vaddr < l->p_vaddr + l->p_filesz)
            return (size_t)(l->p_offset + (vaddr - l->p_vaddr));
    }
}

static ElfW(Dyn) *dyn(unsigned char *b, int64_t tag)
{
    ElfW(Dyn) *d = (ElfW(Dyn) *)(b + ph(b, PT_DYNAMIC, 0)->p_offset);
    for (; d->d_tag != DT_NULL; d++)
        if (d->d_tag == tag)
            return d;
    cr_assert_fail("no dynamic entry %lld", (long long)tag);
    return NULL;
}

/* b must be refused with a reason containing want. */
static void refused(unsigned char *b, size_t len, const char *want,
                    const char *what)
{
    elf_image_t img;
    char why[512] = "";
    cr_assert_eq(elf_image_check(&img, b, len, &self, why, sizeof why), -1,
                 "%s: accepted", what);
    cr_assert(strstr(why, want) != NULL, "%s: expected '%s', got: %s", what,
              want, why);
    cr_assert_null(strchr(why, '\n'), "%s: %s", what, why);
    free(b);
}

Test(elf_image, the_runtime_knows_its_own_machine)
{
    setup();
    cr_assert_eq(self.ei_class, sizeof(void *) == 8 ? ELFCLASS64
                                                    : ELFCLASS32);
    FILE *f = fopen("/proc/self/exe", "rb");
    if (f) {
        ElfW(Ehdr) own;
        cr_assert_eq(fread(&own, sizeof own, 1, f), 1u);
        fclose(f);
        cr_assert_eq(self.machine, own.e_machine);
        cr_assert_eq(self.ei_data, own.e_ident[EI_DATA]);
    }
    cr_assert_not_null(elf_machine_name(self.machine));
    teardown();
}

Test(elf_image, a_real_plugin_passes_and_its_descriptor_is_found)
{
    setup();
    elf_image_t img;
    char why[512] = "";
    cr_assert_eq(elf_image_check(&img, orig, orig_len, &self, why,
                                 sizeof why),
                 0, "%s", why);
    cr_assert_gt(img.nsyms, 1u);
    elf_symbol_t sym;
    cr_assert_eq(elf_image_find_symbol(&img, "jobrt_plugin", &sym, why,
                                       sizeof why),
                 0, "%s", why);
    cr_assert_geq(sym.size, 104u);
    uint32_t magic;
    memcpy(&magic, orig + sym.file_off, sizeof magic);
    cr_assert_eq(magic, 0x4a525450u, "the descriptor's bytes in the file");
    cr_assert_eq(elf_image_find_symbol(&img, "no_such_symbol", &sym, why,
                                       sizeof why),
                 1);
    cr_assert_str_eq(img.pin_reason, "", "testkit.so can be unloaded");
    teardown();
}

/* ---- what keeps a library mapped after dlclose() ----------------------- */

/* The whole file at path (malloc'd, *len set), or NULL if there is none. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*len);
    cr_assert_not_null(b);
    cr_assert_eq(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

/* path must pass with exactly this pin_reason ("" for none). A file that
 * is not there (a C++ plugin built without a C++ compiler) is skipped
 * with a warning when may_be_missing. */
static void pinned_by(const char *path, const char *want, int may_be_missing)
{
    size_t len;
    unsigned char *b = slurp(path, &len);
    if (b == NULL && may_be_missing) {
        cr_log_warn("%s was not built (no C++ compiler?): not checked", path);
        return;
    }
    cr_assert_not_null(b, "%s", path);
    elf_image_t img;
    char why[512] = "";
    cr_assert_eq(elf_image_check(&img, b, len, &self, why, sizeof why), 0,
                 "%s: %s", path, why);
    cr_assert_str_eq(img.pin_reason, want, "%s", path);
    free(b);
}

Test(elf_image, what_pins_a_library_is_found)
{
    setup();
    pinned_by(PINNED "pinned_nodelete.so", "linked with -z nodelete", 0);
    pinned_by(PINNED "pinned_tls.so", "uses initial-exec (static) TLS", 0);
    pinned_by(PINNED "pinned_unique.so",
              "STB_GNU_UNIQUE symbol '_ZZN9zoo_cache4hitsEvE1n' (C++ "
              "inline static; build with -fno-gnu-unique)", 1);
    pinned_by(PINNED "pinned_thread_local.so",
              "C++ thread_local with a destructor", 1);
    pinned_by(JOBRT_RELOAD_DIR "/swap_pinned.so", "linked with -z nodelete",
              0);
    /* the same source without -z nodelete, and the first-party plugins */
    pinned_by(JOBRT_RELOAD_DIR "/swap_a.so", "", 0);
    pinned_by(JOBRT_ZOO_DIR "/dup_a.so", "", 0);
    teardown();
}

/* A unique symbol's name too long for pin_reason is cut with "...", and
 * the advice after it is kept. */
Test(elf_image, a_long_unique_name_is_cut_and_the_advice_kept)
{
    setup();
    size_t len;
    unsigned char *b = slurp(PINNED "pinned_unique.so", &len);
    if (b == NULL) {
        cr_log_warn("pinned_unique.so was not built (no C++ compiler?)");
        teardown();
        return;
    }
    elf_image_t img;
    char why[512] = "";
    cr_assert_eq(elf_image_check(&img, b, len, &self, why, sizeof why), 0,
                 "%s", why);
    /* rename the unique symbol to the whole string table, by pointing it
     * at the first string and turning the NULs after it into 'x' (all
     * but the table's last byte) */
    ElfW(Sym) *uniq = NULL;
    for (size_t i = 1; i < img.nsyms && uniq == NULL; i++) {
        ElfW(Sym) *s = (ElfW(Sym) *)(b + img.symtab_off) + i;
        if (ELF64_ST_BIND(s->st_info) == STB_GNU_UNIQUE)
            uniq = s;
    }
    cr_assert_not_null(uniq, "no unique symbol");
    uniq->st_name = 1;
    for (size_t i = 1; i < img.strsz - 1; i++)
        if (b[img.strtab_off + i] == '\0')
            b[img.strtab_off + i] = 'x';
    char name[64];
    snprintf(name, sizeof name, "%s", (char *)b + img.strtab_off + 1);
    cr_assert_gt(img.strsz, 130u, "the string table is too short to test");
    cr_assert_eq(elf_image_check(&img, b, len, &self, why, sizeof why), 0,
                 "%s", why);
    const char *r = img.pin_reason,
               *tail = "...' (C++ inline static; build with "
                       "-fno-gnu-unique)";
    char head[128];
    snprintf(head, sizeof head, "STB_GNU_UNIQUE symbol '%s", name);
    cr_assert_eq(strncmp(r, head, strlen(head)), 0, "%s", r);
    cr_assert_eq(strlen(r), sizeof img.pin_reason - 1, "%s", r);
    cr_assert_str_eq(r + strlen(r) - strlen(tail), tail);
    free(b);
    teardown();
}

Test(elf_image, every_prefix_is_refused)
{
    setup();
    for (size_t n = 0; n < orig_len; n++) {
        elf_image_t img;
        char why[512] = "";
        cr_assert_eq(elf_image_check(&img, orig, n, &self, why, sizeof why),
                     -1, "%zu of %zu bytes accepted", n, orig_len);
        cr_assert_null(strchr(why, '\n'));
    }
    teardown();
}

Test(elf_image, headers)
{
    setup();
    unsigned char *b = copy();
    b[0] = 'X';
    refused(b, orig_len, "not an ELF file", "magic");
    b = copy();
    b[EI_CLASS] = ELFCLASS32;
    refused(b, orig_len, "ELF class 32-bit", "class");
    b = copy();
    b[EI_DATA] = b[EI_DATA] == ELFDATA2LSB ? ELFDATA2MSB : ELFDATA2LSB;
    refused(b, orig_len, "byte order", "data");
    b = copy();
    eh(b)->e_type = ET_EXEC;
    refused(b, orig_len, "not a shared object (ELF type 2, an executable)",
            "type");
    b = copy();
    eh(b)->e_machine = self.machine == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;
    refused(b, orig_len, "not a shared object for this machine", "machine");
    b = copy();
    eh(b)->e_version = 7;
    refused(b, orig_len, "unknown ELF version", "version");
    b = copy();
    eh(b)->e_phentsize = 12;
    refused(b, orig_len, "program headers", "phentsize");
    b = copy();
    eh(b)->e_phnum = 0;
    refused(b, orig_len, "program headers", "phnum");
    b = copy();
    eh(b)->e_phoff = (ElfW(Off))-16;
    refused(b, orig_len, "program headers at offset", "phoff overflow");
    b = copy();
    eh(b)->e_shoff = orig_len - 8;
    refused(b, orig_len, "section headers at offset", "shoff");
    b = copy();
    eh(b)->e_shstrndx = eh(b)->e_shnum;
    refused(b, orig_len, "section name table", "shstrndx");
    b = copy();
    ElfW(Shdr) *sh = (ElfW(Shdr) *)(b + eh(b)->e_shoff);
    sh[eh(b)->e_shnum - 1].sh_offset = (ElfW(Off))-1;
    refused(b, orig_len, "does not fit in the file", "section offset");
    teardown();
}

Test(elf_image, segments)
{
    setup();
    unsigned char *b = copy();
    ph(b, PT_LOAD, 1)->p_filesz = ph(b, PT_LOAD, 1)->p_memsz + 1;
    refused(b, orig_len, "bytes in the file but", "filesz > memsz");
    b = copy();
    ph(b, PT_LOAD, 3)->p_offset = orig_len;
    refused(b, orig_len, "does not fit in the file", "load beyond the file");
    b = copy();
    ph(b, PT_LOAD, 1)->p_vaddr = 0;
    refused(b, orig_len, "out of order", "overlapping loads");
    b = copy();
    ph(b, PT_LOAD, 1)->p_vaddr += 8;
    refused(b, orig_len, "alignment", "misaligned load");
    b = copy();
    ph(b, PT_NOTE, 0)->p_type = PT_INTERP;
    refused(b, orig_len, "it is an executable", "interpreter");
    b = copy();
    ph(b, PT_GNU_STACK, 0)->p_type = PT_DYNAMIC;
    refused(b, orig_len, "2 dynamic segments", "two PT_DYNAMIC");
    b = copy();
    ph(b, PT_DYNAMIC, 0)->p_type = PT_NULL;
    refused(b, orig_len, "0 dynamic segments", "no PT_DYNAMIC");
    b = copy();
    ph(b, PT_DYNAMIC, 0)->p_vaddr = 0x7fff0000;
    refused(b, orig_len, "corrupt dynamic segment", "dynamic outside");
    b = copy();
    ElfW(Nhdr) *note = (ElfW(Nhdr) *)(b + ph(b, PT_NOTE, 0)->p_offset);
    note->n_descsz = 0xfffffff0u;
    refused(b, orig_len, "corrupt note", "note overflow");
    b = copy();
    ph(b, PT_GNU_RELRO, 0)->p_memsz = 0x7fffffff;
    refused(b, orig_len, "not inside a loadable segment", "relro");
    teardown();
}

Test(elf_image, dynamic_section)
{
    setup();
    unsigned char *b = copy();
    memset(b + ph(b, PT_DYNAMIC, 0)->p_offset, 0,
           ph(b, PT_DYNAMIC, 0)->p_filesz);
    refused(b, orig_len, "no DT_STRTAB", "zeroed");
    b = copy();
    {
        ElfW(Dyn) *d = (ElfW(Dyn) *)(b + ph(b, PT_DYNAMIC, 0)->p_offset);
        size_t n = ph(b, PT_DYNAMIC, 0)->p_filesz / sizeof *d;
        for (size_t i = 0; i < n; i++)
            if (d[i].d_tag == DT_NULL)
                d[i].d_tag = DT_DEBUG;
    }
    refused(b, orig_len, "no DT_NULL terminator", "no terminator");
    b = copy();
    dyn(b, DT_STRSZ)->d_un.d_val = 0x10000000;
    refused(b, orig_len, "the string table", "strsz");
    b = copy();
    dyn(b, DT_SYMTAB)->d_un.d_ptr += 1;
    refused(b, orig_len, "the symbol table", "symtab misaligned");
    b = copy();
    dyn(b, DT_SYMTAB)->d_tag = DT_DEBUG;
    refused(b, orig_len, "no DT_SYMTAB", "no symtab");
    b = copy();
    dyn(b, DT_NEEDED)->d_un.d_val = dyn(b, DT_STRSZ)->d_un.d_val;
    refused(b, orig_len, "names string", "needed");
    b = copy();
    dyn(b, DT_RELAENT)->d_tag = DT_DEBUG;
    refused(b, orig_len, "DT_RELAENT", "no relaent");
    b = copy();
    dyn(b, DT_PLTREL)->d_un.d_val = 99;
    refused(b, orig_len, "DT_PLTREL", "pltrel");
    b = copy();
    dyn(b, DT_INIT)->d_un.d_ptr = 0; /* the first, read-only segment */
    refused(b, orig_len, "init function is outside the code", "init");
    b = copy();
    dyn(b, DT_INIT_ARRAYSZ)->d_un.d_val = 0x100000;
    refused(b, orig_len, "init array", "init array");
    teardown();
}

Test(elf_image, tables_of_the_dynamic_section)
{
    setup();
    unsigned char *b = copy();
    size_t gh = off_of(b, dyn(b, DT_GNU_HASH)->d_un.d_ptr);
    memset(b + gh + 8, 0, 4); /* bloom words: 0, glibc masks with -1 */
    refused(b, orig_len, "DT_GNU_HASH header", "bloom 0");
    b = copy();
    gh = off_of(b, dyn(b, DT_GNU_HASH)->d_un.d_ptr);
    memset(b + gh, 0, 4); /* buckets: 0, glibc divides by it */
    refused(b, orig_len, "DT_GNU_HASH header", "nbuckets 0");
    b = copy();
    size_t rela = off_of(b, dyn(b, DT_RELA)->d_un.d_ptr);
    ElfW(Rela) r;
    memcpy(&r, b + rela, sizeof r);
    r.r_offset = 0x10; /* inside the ELF header: read-only */
    memcpy(b + rela, &r, sizeof r);
    refused(b, orig_len, "outside the writable segments", "rela target");
    b = copy();
    rela = off_of(b, dyn(b, DT_RELA)->d_un.d_ptr);
    memcpy(&r, b + rela, sizeof r);
    r.r_info = ELF64_R_INFO(0x7fffffffu, ELF64_R_TYPE(r.r_info));
    memcpy(b + rela, &r, sizeof r);
    refused(b, orig_len, "symbols cannot fit", "rela symbol index");
    b = copy();
    dyn(b, DT_RELASZ)->d_un.d_val += 1;
    refused(b, orig_len, "not a whole number", "relasz");
    b = copy();
    size_t vs = off_of(b, dyn(b, DT_VERSYM)->d_un.d_ptr);
    uint16_t bad = 0x7ff0;
    memcpy(b + vs + 2, &bad, sizeof bad);
    refused(b, orig_len, "DT_VERSYM entry 1", "versym index");
    b = copy();
    size_t vn = off_of(b, dyn(b, DT_VERNEED)->d_un.d_ptr);
    uint16_t ver = 2;
    memcpy(b + vn, &ver, sizeof ver);
    refused(b, orig_len, "DT_VERNEED entry", "verneed version");
    b = copy();
    vn = off_of(b, dyn(b, DT_VERNEED)->d_un.d_ptr);
    uint32_t next = 0x7ffffff0u;
    memcpy(b + vn + offsetof(ElfW(Verneed), vn_aux), &next, sizeof next);
    refused(b, orig_len, "DT_VERNEED aux", "verneed aux");
    b = copy();
    dyn(b, DT_VERNEED)->d_tag = DT_DEBUG;
    refused(b, orig_len, "without version definitions", "versym alone");
    teardown();
}

Test(elf_image, a_symbol_outside_the_file)
{
    setup();
    unsigned char *b = copy();
    elf_image_t img;
    char why[512] = "";
    cr_assert_eq(elf_image_check(&img, b, orig_len, &self, why, sizeof why),
                 0, "%s", why);
    elf_symbol_t sym;
    cr_assert_eq(elf_image_find_symbol(&img, "jobrt_plugin", &sym, why,
                                       sizeof why),
                 0);
    for (size_t i = 1; i < img.nsyms; i++) {
        ElfW(Sym) *s = (ElfW(Sym) *)(b + img.symtab_off) + i;
        if (strcmp((char *)b + img.strtab_off + s->st_name,
                   "jobrt_plugin") == 0)
            s->st_value = 0x7fff0000;
    }
    cr_assert_eq(elf_image_find_symbol(&img, "jobrt_plugin", &sym, why,
                                       sizeof why),
                 -1);
    cr_assert(strstr(why, "are not in the file") != NULL, "%s", why);
    free(b);
    teardown();
}

/* Damage anywhere in the headers and tables must be refused or accepted,
 * never read out of bounds (the ASan build checks every read). */
Test(elf_image, random_damage_is_survived)
{
    setup();
    unsigned seed = 12345;
    size_t limit = orig_len < 16384 ? orig_len : 16384;
    int accepted = 0;
    for (int round = 0; round < 3000; round++) {
        unsigned char *b = copy();
        int flips = 1 + (int)(rand_r(&seed) % 4);
        for (int k = 0; k < flips; k++)
            b[(size_t)rand_r(&seed) % limit] = (unsigned char)rand_r(&seed);
        elf_image_t img;
        char why[512] = "";
        int rc = elf_image_check(&img, b, orig_len, &self, why, sizeof why);
        cr_assert(rc == 0 || rc == -1);
        if (rc == 0) {
            elf_symbol_t sym;
            accepted++;
            elf_image_find_symbol(&img, "jobrt_plugin", &sym, why,
                                  sizeof why);
        } else {
            cr_assert_neq(why[0], '\0');
            cr_assert_null(strchr(why, '\n'), "%s", why);
        }
        free(b);
    }
    cr_assert_gt(accepted, 0, "damage to bytes nobody reads is accepted");
    teardown();
}

/* ---- through the loader ------------------------------------------------ */

static char tmp_root[256];
static loader_t *loader;

static void loader_setup(void)
{
    setup();
    snprintf(tmp_root, sizeof tmp_root, "/tmp/jobrt-test-elf-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp_root));
    setenv("TMPDIR", tmp_root, 1);
    char err[256] = "";
    loader = loader_create(NULL, host_api_get(), err, sizeof err);
    cr_assert_not_null(loader, "loader_create: %s", err);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void loader_teardown(void)
{
    loader_destroy(loader);
    loader = NULL;
    nftw(tmp_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    teardown();
}

static void spill(const char *path, const unsigned char *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    cr_assert_geq(fd, 0, "%s", path);
    cr_assert_eq(write(fd, buf, len), (ssize_t)len);
    cr_assert_eq(close(fd), 0);
}

/* Cuts path to its first n bytes (truncate(): rewriting the file each
 * time is slow on ext4) and loads it: a refusal must be one line; a load
 * (possible only once every loaded byte is there) is undone. Returns
 * whether it loaded. */
static int load_prefix(const char *path, size_t n)
{
    char why[512];
    cr_assert_eq(truncate(path, (off_t)n), 0, "%s", path);
    plugin_set_t set = {0};
    why[0] = '\0';
    struct jobrt_plugin *pl = loader_load_file(loader, path, &set, why,
                                               sizeof why);
    if (pl == NULL) {
        cr_assert_neq(why[0], '\0', "%zu bytes: refused without a reason", n);
        cr_assert_null(strchr(why, '\n'), "%zu bytes: %s", n, why);
        return 0;
    }
    plugin_set_unload_all(&set);
    return 1;
}

/* testkit.so, possibly changed by edit, as tmp_root/t.so (path). */
static void write_testkit(char *path, size_t path_len,
                          void (*edit)(unsigned char *buf))
{
    snprintf(path, path_len, "%s/t.so", tmp_root);
    unsigned char *buf = copy();
    if (edit)
        edit(buf);
    spill(path, buf, orig_len);
    free(buf);
}

Test(elf_image_loader, every_truncation_is_refused_in_one_line)
{
    loader_setup();
    char path[600];
    size_t len = orig_len;
    write_testkit(path, sizeof path, NULL);
    cr_assert_eq(load_prefix(path, len), 1, "the whole file must load");
    for (size_t n = len - 1; n < len; n -= n < 3 ? n + 1 : 3)
        cr_assert_eq(load_prefix(path, n), 0,
                     "testkit.so cut to %zu of %zu bytes loaded", n, len);
    loader_teardown();
}

static void strip_section_headers(unsigned char *b)
{
    eh(b)->e_shoff = 0;
    eh(b)->e_shnum = 0;
    eh(b)->e_shstrndx = 0;
}

/* Where the last segment's bytes end in testkit.so. */
static size_t segments_end(void)
{
    size_t end = 0;
    const ElfW(Phdr) *p = (const ElfW(Phdr) *)(orig + eh(orig)->e_phoff);
    for (unsigned i = 0; i < eh(orig)->e_phnum; i++)
        if (p[i].p_filesz && p[i].p_offset + p[i].p_filesz > end)
            end = p[i].p_offset + p[i].p_filesz;
    return end;
}

/* Without section headers (optional for loading) nothing checks the bytes
 * after the segments: a cut is refused exactly when it takes segment
 * bytes, and loads otherwise; never a crash. */
Test(elf_image_loader, truncations_without_section_headers)
{
    loader_setup();
    char path[600];
    size_t len = orig_len, end = segments_end();
    write_testkit(path, sizeof path, strip_section_headers);
    cr_assert_lt(end, len);
    /* the loads are slow (dlopen): fewer of them */
    for (size_t n = len; n >= end && n <= len; n -= 257)
        cr_assert_eq(load_prefix(path, n), 1, "%zu of %zu bytes (segments "
                     "end at %zu) must load", n, len, end);
    cr_assert_eq(load_prefix(path, end), 1);
    for (size_t n = end - 1; n < end; n -= n < 3 ? n + 1 : 3)
        cr_assert_eq(load_prefix(path, n), 0, "%zu of %zu bytes (segments "
                     "end at %zu) loaded", n, len, end);
    loader_teardown();
}

static void zero_dynamic(unsigned char *b)
{
    memset(b + ph(b, PT_DYNAMIC, 0)->p_offset, 0,
           ph(b, PT_DYNAMIC, 0)->p_filesz);
}

Test(elf_image_loader, zeroed_dynamic_section_is_refused)
{
    loader_setup();
    char path[600], why[512] = "";
    write_testkit(path, sizeof path, zero_dynamic);
    plugin_set_t set = {0};
    cr_assert_null(loader_load_file(loader, path, &set, why, sizeof why));
    cr_assert(strstr(why, "corrupt dynamic section") != NULL, "%s", why);
    cr_assert_eq(set.count, 0u);
    loader_teardown();
}
