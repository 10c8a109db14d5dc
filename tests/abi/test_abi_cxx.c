/*
 * test_abi_cxx.c - the C++ form of the SDK (jobrt::plugin, jobrt::handler,
 * JOBRT_PLUGIN in C++) gives the runtime what the C form gives it. The
 * same plugin written both ways (abi_cxx.cpp, abi_cxx_twin.c) must have
 * byte-identical integer header fields where the loader reads them before
 * dlopen (in the file), export the descriptor as the same kind of symbol,
 * and load through the real loader into the same handler table, init()
 * and fini() included; both must then unload, verified gone.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin/descriptor.h"
#include "plugin/elf_image.h"
#include "plugin/host_api.h"
#include "plugin/loader.h"

#define CXX_SO JOBRT_ABI_ZOO_DIR "/abi_cxx.so"
#define C_SO JOBRT_ABI_ZOO_DIR "/abi_cxx_twin.so"

/* What the loader checks in the file before dlopen. */
typedef struct {
    unsigned char desc[sizeof(jobrt_plugin_desc)]; /* the symbol's bytes */
    elf_symbol_t sym;
    desc_layout_t layout;
} file_view_t;

static void read_file(const char *path, file_view_t *v)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s (build the jobrt_zoo target)", path);
    static unsigned char buf[4 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert_lt(len, sizeof buf, "%s: larger than the test's buffer", path);
    char why[512] = "";
    elf_target_t self;
    elf_image_t img;
    cr_assert_eq(elf_target_self(&self, why, sizeof why), 0, "%s", why);
    cr_assert_eq(elf_image_check(&img, buf, len, &self, why, sizeof why), 0,
                 "%s: %s", path, why);
    cr_assert_eq(img.pin_reason[0], '\0', "%s is pinned: %s", path,
                 img.pin_reason);
    cr_assert_eq(elf_image_find_symbol(&img, JOBRT_PLUGIN_SYMBOL, &v->sym, why,
                                       sizeof why),
                 0, "%s: %s", path, why);
    cr_assert_eq(v->sym.size, sizeof v->desc, "%s: descriptor size", path);
    memcpy(v->desc, buf + v->sym.file_off, sizeof v->desc);
    cr_assert_eq(desc_check_header(v->desc, sizeof v->desc, &v->layout, why,
                                   sizeof why),
                 0, "%s: %s", path, why);
}

/* The n bytes of field at offset off are the same in both files. */
static void same_bytes(const file_view_t *a, const file_view_t *b, size_t off,
                       size_t n, const char *field)
{
    cr_assert_eq(memcmp(a->desc + off, b->desc + off, n), 0,
                 "%s differs between the C++ and the C form", field);
}

#define SAME_FIELD(a, b, f)                                                 \
    same_bytes(a, b, offsetof(jobrt_plugin_desc, f),                        \
               sizeof(((jobrt_plugin_desc *)0)->f), #f)

Test(abi_cxx, integer_header_is_byte_identical_in_the_file)
{
    file_view_t cxx, c;
    read_file(CXX_SO, &cxx);
    read_file(C_SO, &c);
    SAME_FIELD(&cxx, &c, magic);
    SAME_FIELD(&cxx, &c, struct_size);
    SAME_FIELD(&cxx, &c, abi_major);
    SAME_FIELD(&cxx, &c, abi_minor);
    SAME_FIELD(&cxx, &c, handler_size);
    SAME_FIELD(&cxx, &c, n_handlers);
    /* and what the loader made of them */
    cr_assert_eq(memcmp(&cxx.layout, &c.layout, sizeof c.layout), 0);
    cr_assert_eq(c.layout.n_handlers, 2u);
    cr_assert_eq(c.layout.abi_minor, JOBRT_ABI_MINOR);
    /* reserved[] is NULL: no relocation, so zero bytes in the file */
    static const unsigned char zero[sizeof c.desc];
    cr_assert_eq(memcmp(cxx.desc + offsetof(jobrt_plugin_desc, reserved), zero,
                        sizeof(((jobrt_plugin_desc *)0)->reserved)),
                 0, "reserved[] of the C++ form is not NULL");
}

/* Loads path through the real loader into its own set. */
static struct jobrt_plugin *load(loader_t *loader, const char *path,
                                 plugin_set_t *set)
{
    char why[512] = "";
    struct jobrt_plugin *p = loader_load_file(loader, path, set, why,
                                              sizeof why);
    cr_assert_not_null(p, "%s must load: %s", path, why);
    return p;
}

Test(abi_cxx, loads_into_the_same_table_and_unloads)
{
    char tmp_root[] = "/tmp/jobrt-test-abi-cxx-XXXXXX";
    cr_assert_not_null(mkdtemp(tmp_root));
    setenv("TMPDIR", tmp_root, 1);
    char err[256] = "";
    loader_t *loader = loader_create(NULL, host_api_get(), err, sizeof err);
    cr_assert_not_null(loader, "loader_create: %s", err);

    plugin_set_t cxx_set = {0}, c_set = {0};
    struct jobrt_plugin *cxx = load(loader, CXX_SO, &cxx_set);
    struct jobrt_plugin *c = load(loader, C_SO, &c_set);
    cr_assert_str_eq(cxx->name, c->name);
    cr_assert_str_eq(cxx->version, c->version);
    cr_assert_str_eq(cxx->build_id, c->build_id);
    cr_assert_eq(cxx->abi_major, c->abi_major);
    cr_assert_eq(cxx->abi_minor, c->abi_minor);
    cr_assert_not_null(cxx->fini, "fini() of the C++ form was not read");
    cr_assert_not_null(cxx->ctx, "init() of the C++ form did not run");
    cr_assert_not_null(c->ctx);
    cr_assert_eq(cxx->n_handlers, 2u);
    cr_assert_eq(cxx->n_handlers, c->n_handlers);
    for (uint32_t i = 0; i < c->n_handlers; i++) {
        const plugin_handler_t *x = &cxx->handlers[i], *y = &c->handlers[i];
        cr_assert_str_eq(x->job_name, y->job_name, "handler %u", i);
        cr_assert_eq(x->schema_min, y->schema_min, "%s", y->job_name);
        cr_assert_eq(x->schema_max, y->schema_max, "%s", y->job_name);
        cr_assert_eq(x->timeout_ms, y->timeout_ms, "%s", y->job_name);
        cr_assert_eq(x->max_attempts, y->max_attempts, "%s", y->job_name);
        cr_assert_eq(x->backoff_base_ms, y->backoff_base_ms, "%s",
                     y->job_name);
        cr_assert_eq(x->backoff_cap_ms, y->backoff_cap_ms, "%s", y->job_name);
        cr_assert_not_null(x->run, "%s", y->job_name);
    }
    cr_assert_eq(cxx->handlers[0].backoff_cap_ms, 8000u);
    cr_assert_eq(cxx->handlers[1].schema_max, 7u);

    /* A C++ plugin built by the SDK leaves the address space at unload. */
    char why[512] = "";
    cr_assert_eq(loader_unload(cxx, why, sizeof why), 0, "C++ form: %s", why);
    cr_assert_eq(loader_unload(c, why, sizeof why), 0, "C form: %s", why);
    loader_destroy(loader);
    rmdir(tmp_root);
}
