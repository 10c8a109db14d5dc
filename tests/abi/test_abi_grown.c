/*
 * test_abi_grown.c - plugins built against the frozen ABI 1.0, 1.1 and 1.2
 * headers load into a runtime whose structs have grown. This file and
 * runtime/plugin/descriptor.c are compiled against tests/abi/grown (ABI
 * 1.3: one field appended to the descriptor, the handler entry and the host
 * API); the fields a plugin's minor lacks must read 0 (never its padding),
 * while a 1.3 plugin's are read. The plugins are trusted build artifacts,
 * so they are dlopen()ed directly: the loader itself is built against the
 * real header and is not linked here.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/descriptor.h"
#include "plugin/elf_image.h"

_Static_assert(JOBRT_ABI_MINOR == 3,
               "tests/abi/grown must come first on the include path");

typedef struct {
    void *dl;
    const void *sym;
    size_t size;
    desc_layout_t file_layout; /* what the file says, before dlopen */
} opened_t;

/* The descriptor's integers checked in the file, as the loader does. */
static void check_file(const char *path, desc_layout_t *lay)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static unsigned char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert_lt(len, sizeof buf);
    char why[512] = "";
    elf_target_t self;
    elf_image_t img;
    elf_symbol_t sym;
    cr_assert_eq(elf_target_self(&self, why, sizeof why), 0, "%s", why);
    cr_assert_eq(elf_image_check(&img, buf, len, &self, why, sizeof why), 0,
                 "%s: %s", path, why);
    cr_assert_eq(elf_image_find_symbol(&img, JOBRT_PLUGIN_SYMBOL, &sym, why,
                                       sizeof why),
                 0, "%s: %s", path, why);
    cr_assert_eq(desc_check_header(buf + sym.file_off, (size_t)sym.size, lay,
                                   why, sizeof why),
                 0, "%s: %s", path, why);
}

static void open_plugin(const char *file, opened_t *o)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", JOBRT_ABI_ZOO_DIR, file);
    check_file(path, &o->file_layout);
    o->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(o->dl, "%s: %s", path, dlerror());
    o->sym = dlsym(o->dl, JOBRT_PLUGIN_SYMBOL);
    cr_assert_not_null(o->sym, "%s", path);
    Dl_info info;
    const ElfW(Sym) *ent = NULL;
    cr_assert(dladdr1(o->sym, &info, (void **)&ent, RTLD_DL_SYMENT) && ent);
    o->size = ent->st_size;
}

/* The whole descriptor check of the grown runtime; must accept it. */
static struct jobrt_plugin *check(const opened_t *o, jobrt_plugin_desc *d)
{
    plugin_set_t set = {0};
    struct jobrt_plugin *p = calloc(1, sizeof *p);
    cr_assert_not_null(p);
    p->file = strdup("abi");
    char why[512] = "";
    cr_assert_eq(loader_check_descriptor(o->sym, o->size, &set, p, d, why,
                                         sizeof why),
                 0, "%s", why);
    return p;
}

static void close_plugin(opened_t *o, struct jobrt_plugin *p)
{
    loader_free_plugin(p);
    dlclose(o->dl);
}

/* Entry i as this runtime reads it. */
static jobrt_handler_desc entry(const jobrt_plugin_desc *d,
                                const desc_layout_t *lay, uint32_t i)
{
    jobrt_handler_desc h;
    desc_read_handler(lay, d->handlers, i, &h);
    return h;
}

Test(abi_grown, plugin_1_0_loads_with_later_fields_zero)
{
    opened_t o;
    open_plugin("abi_1_0.so", &o);
    desc_layout_t lay = o.file_layout;
    cr_assert_eq(lay.abi_minor, 0);
    cr_assert_eq(lay.handler_span, 36u, "a 1.0 entry has 36 bytes of fields");
    cr_assert_eq(lay.handler_size, 40u, "and a stride of 40");
    jobrt_plugin_desc d;
    memset(&d, 0xa5, sizeof d);
    struct jobrt_plugin *p = check(&o, &d);
    cr_assert_eq(d.added_in_1_3, 0u, "a 1.3 descriptor field must read 0");
    cr_assert_eq(p->n_handlers, 2u);
    cr_assert_str_eq(p->handlers[1].job_name, "abi_1_0_b");
    cr_assert_eq(p->handlers[0].timeout_ms, 1234u);
    cr_assert_eq(p->handlers[0].max_attempts, 7u);
    cr_assert_eq(p->handlers[1].timeout_ms, 2345u);
    cr_assert_eq(p->handlers[1].max_attempts, 3u);
    for (uint32_t i = 0; i < 2; i++) {
        jobrt_handler_desc h = entry(&d, &lay, i);
        cr_assert_eq(h.backoff_base_ms, 0u);
        cr_assert_eq(h.backoff_cap_ms, 0u);
        cr_assert_eq(h.added_in_1_3, 0u);
    }
    close_plugin(&o, p);
}

Test(abi_grown, plugin_1_0_padding_is_never_read)
{
    opened_t o;
    open_plugin("abi_1_0_padding.so", &o);
    jobrt_plugin_desc d;
    struct jobrt_plugin *p = check(&o, &d);
    cr_assert_eq(p->n_handlers, 2u);
    for (uint32_t i = 0; i < 2; i++) {
        cr_assert_eq(p->handlers[i].backoff_base_ms, 0u,
                     "padding of entry %u read as backoff_base_ms", i);
        jobrt_handler_desc h = entry(&d, &o.file_layout, i);
        cr_assert_eq(h.backoff_base_ms, 0u);
        cr_assert_eq(h.added_in_1_3, 0u);
    }
    close_plugin(&o, p);
}

Test(abi_grown, plugin_1_1_loads_with_its_fields_and_not_its_padding)
{
    opened_t o;
    open_plugin("abi_1_1.so", &o);
    cr_assert_eq(o.file_layout.handler_span, 44u);
    cr_assert_eq(o.file_layout.handler_size, 48u);
    jobrt_plugin_desc d;
    memset(&d, 0xa5, sizeof d);
    struct jobrt_plugin *p = check(&o, &d);
    cr_assert_eq(p->abi_minor, 1);
    cr_assert_eq(d.added_in_1_3, 0u);
    cr_assert_eq(p->n_handlers, 2u);
    cr_assert_eq(p->handlers[0].backoff_base_ms, 111u);
    cr_assert_eq(p->handlers[0].backoff_cap_ms, 222u);
    cr_assert_eq(p->handlers[1].backoff_base_ms, 333u);
    cr_assert_eq(p->handlers[1].backoff_cap_ms, 444u);
    cr_assert_eq(p->handlers[0].timeout_ms, 1500u);
    for (uint32_t i = 0; i < 2; i++) {
        jobrt_handler_desc h = entry(&d, &o.file_layout, i);
        cr_assert_eq(h.added_in_1_3, 0u,
                     "entry %u: the 1.1 padding was read as a 1.3 field", i);
    }
    close_plugin(&o, p);
}

Test(abi_grown, plugin_1_2_loads_with_its_fields_and_not_its_padding)
{
    opened_t o;
    open_plugin("abi_1_2.so", &o);
    cr_assert_eq(o.file_layout.abi_minor, 2);
    cr_assert_eq(o.file_layout.handler_span, 44u,
                 "1.2 added no handler field: a 1.2 entry has 44 bytes");
    cr_assert_eq(o.file_layout.handler_size, 48u);
    jobrt_plugin_desc d;
    memset(&d, 0xa5, sizeof d);
    struct jobrt_plugin *p = check(&o, &d);
    cr_assert_eq(p->abi_minor, 2);
    cr_assert_eq(d.added_in_1_3, 0u);
    cr_assert_eq(p->n_handlers, 2u);
    cr_assert_eq(p->handlers[0].backoff_base_ms, 121u);
    cr_assert_eq(p->handlers[1].backoff_cap_ms, 454u);
    for (uint32_t i = 0; i < 2; i++) {
        jobrt_handler_desc h = entry(&d, &o.file_layout, i);
        cr_assert_eq(h.added_in_1_3, 0u,
                     "entry %u: the 1.2 padding was read as a 1.3 field", i);
    }
    close_plugin(&o, p);
}

Test(abi_grown, plugin_1_3_fields_are_read)
{
    opened_t o;
    open_plugin("abi_1_3.so", &o);
    jobrt_plugin_desc d;
    struct jobrt_plugin *p = check(&o, &d);
    cr_assert_eq(p->abi_minor, 3);
    cr_assert_eq(d.added_in_1_3, 0x1234u);
    jobrt_handler_desc h = entry(&d, &o.file_layout, 0);
    cr_assert_eq(h.added_in_1_3, 77u);
    cr_assert_eq(h.backoff_base_ms, 555u);
    cr_assert_eq(h.backoff_cap_ms, 666u);
    close_plugin(&o, p);
}

Test(abi_grown, frozen_minimum_sizes)
{
    /* the smallest descriptor and entries each minor may have */
    unsigned char buf[sizeof(jobrt_plugin_desc)];
    jobrt_plugin_desc d;
    memset(&d, 0, sizeof d);
    d.magic = JOBRT_PLUGIN_MAGIC;
    d.abi_major = 1;
    d.n_handlers = 1;
    static const struct {
        uint16_t minor;
        uint32_t size, hsize;
        int ok;
    } cases[] = {{0, 104, 36, 1}, {0, 103, 36, 0}, {0, 104, 35, 0},
                 {1, 104, 44, 1}, {1, 104, 43, 0}, {2, 104, 44, 1},
                 {2, 104, 43, 0}, {2, 103, 44, 0}, {3, 112, 48, 1},
                 {3, 104, 48, 0}, {3, 112, 47, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        d.abi_minor = cases[i].minor;
        d.struct_size = cases[i].size;
        d.handler_size = cases[i].hsize;
        memcpy(buf, &d, sizeof buf);
        desc_layout_t lay;
        char why[512] = "";
        int rc = desc_check_header(buf, sizeof buf, &lay, why, sizeof why);
        cr_assert_eq(rc == 0, cases[i].ok, "1.%u size %u handler %u: %s",
                     cases[i].minor, cases[i].size, cases[i].hsize, why);
    }
}
