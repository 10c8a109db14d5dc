/*
 * test_descriptor.c - unit tests for the descriptor checks on synthetic
 * descriptors: the header integers and the minimum sizes of each published
 * minor (frozen, not the current sizeof), handler entries read only as far
 * as the plugin's minor defines them (never the padding), and the field
 * checks of the live descriptor.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "plugin/descriptor.h"

static int dummy_run(const jobrt_host_api *h, void *c, jobrt_job *j)
{
    (void)h;
    (void)c;
    (void)j;
    return JOBRT_OK;
}

static jobrt_plugin_desc base_desc(uint16_t minor, uint32_t hsize)
{
    jobrt_plugin_desc d;
    memset(&d, 0, sizeof d);
    d.magic = JOBRT_PLUGIN_MAGIC;
    d.struct_size = sizeof d;
    d.abi_major = JOBRT_ABI_MAJOR;
    d.abi_minor = minor;
    d.handler_size = hsize;
    d.n_handlers = 1;
    return d;
}

static void header_refused(const jobrt_plugin_desc *d, size_t sym_size,
                           const char *want)
{
    desc_layout_t lay;
    char why[512] = "";
    cr_assert_eq(desc_check_header(d, sym_size, &lay, why, sizeof why), -1,
                 "accepted; expected '%s'", want);
    cr_assert(strstr(why, want) != NULL, "expected '%s': %s", want, why);
}

Test(descriptor, header_integers)
{
    jobrt_plugin_desc d = base_desc(1, 48);
    desc_layout_t lay;
    char why[512] = "";
    cr_assert_eq(desc_check_header(&d, sizeof d, &lay, why, sizeof why), 0,
                 "%s", why);
    cr_assert_eq(lay.handler_span, 44u);
    cr_assert_eq(lay.desc_span, 104u);
    header_refused(&d, 7, "too small");
    header_refused(&d, 12, "has only 12 bytes");
    d.magic = 0x11223344u;
    header_refused(&d, sizeof d, "bad magic 0x11223344");
    d = base_desc(1, 48);
    d.abi_major = 2;
    header_refused(&d, sizeof d, "ABI major 2");
    d = base_desc(JOBRT_ABI_MINOR + 1, 48);
    header_refused(&d, sizeof d, "newer than this runtime");
    d = base_desc(1, 48);
    d.struct_size = 103;
    header_refused(&d, sizeof d, "descriptor size 103");
    d.struct_size = sizeof d + 8;
    header_refused(&d, sizeof d, "symbol has");
    d = base_desc(1, 4097);
    header_refused(&d, sizeof d, "entry size 4097");
    d = base_desc(1, 48);
    d.n_handlers = 0;
    header_refused(&d, sizeof d, "0 entries");
    d.n_handlers = DESC_MAX_HANDLERS + 1;
    header_refused(&d, sizeof d, "1025 entries");
}

/* The minimum entry size comes from the plugin's own minor. */
Test(descriptor, minimum_sizes_are_frozen_per_minor)
{
    static const struct {
        uint16_t minor;
        uint32_t hsize;
        int ok;
    } cases[] = {{0, 35, 0}, {0, 36, 1}, {0, 40, 1},
                 {1, 40, 0}, {1, 43, 0}, {1, 44, 1}, {1, 48, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        jobrt_plugin_desc d = base_desc(cases[i].minor, cases[i].hsize);
        desc_layout_t lay;
        char why[512] = "";
        int rc = desc_check_header(&d, sizeof d, &lay, why, sizeof why);
        cr_assert_eq(rc == 0, cases[i].ok, "1.%u entry size %u: %s",
                     cases[i].minor, cases[i].hsize, why);
    }
}

Test(descriptor, entries_are_read_as_far_as_their_minor)
{
    /* two 1.0 entries of 40 bytes, padding 0xff */
    unsigned char table[80];
    memset(table, 0xff, sizeof table);
    for (int i = 0; i < 2; i++) {
        jobrt_handler_desc h;
        memset(&h, 0, sizeof h);
        h.job_name = "j";
        h.schema_min = (uint32_t)i + 1;
        h.schema_max = (uint32_t)i + 1;
        h.run = dummy_run;
        h.timeout_ms = 100u * ((uint32_t)i + 1);
        memcpy(table + 40 * i, &h, 36);
    }
    jobrt_plugin_desc d = base_desc(0, 40);
    desc_layout_t lay;
    char why[512] = "";
    cr_assert_eq(desc_check_header(&d, sizeof d, &lay, why, sizeof why), 0,
                 "%s", why);
    for (uint32_t i = 0; i < 2; i++) {
        jobrt_handler_desc h;
        desc_read_handler(&lay, table, i, &h);
        cr_assert_eq(h.schema_min, i + 1, "stride");
        cr_assert_eq(h.timeout_ms, 100u * (i + 1));
        cr_assert_eq(h.backoff_base_ms, 0u, "1.0 padding read");
        cr_assert_eq(h.backoff_cap_ms, 0u);
    }
}

static int check(const jobrt_plugin_desc *d, char *why, size_t why_len)
{
    plugin_set_t set = {0};
    struct jobrt_plugin *p = calloc(1, sizeof *p);
    cr_assert_not_null(p);
    jobrt_plugin_desc out;
    int rc = loader_check_descriptor(d, sizeof *d, &set, p, &out, why,
                                     why_len);
    loader_free_plugin(p);
    return rc;
}

Test(descriptor, live_fields)
{
    static const jobrt_handler_desc handlers[] = {
        {.job_name = "job", .schema_min = 1, .schema_max = 2,
         .run = dummy_run, .backoff_base_ms = 7}};
    jobrt_plugin_desc d = base_desc(1, sizeof(jobrt_handler_desc));
    d.name = "good";
    d.version = "1.0";
    d.handlers = handlers;
    char why[512] = "";
    cr_assert_eq(check(&d, why, sizeof why), 0, "%s", why);
    d.handlers = NULL;
    cr_assert_eq(check(&d, why, sizeof why), -1);
    cr_assert(strstr(why, "handler table pointer is NULL") != NULL, "%s",
              why);
    d.handlers = handlers;
    d.reserved[2] = &d;
    cr_assert_eq(check(&d, why, sizeof why), -1);
    cr_assert(strstr(why, "reserved") != NULL, "%s", why);
    d.reserved[2] = NULL;
    d.name = "bad name";
    cr_assert_eq(check(&d, why, sizeof why), -1);
    cr_assert(strstr(why, "no valid plugin name") != NULL, "%s", why);
    d.name = "good";
    d.version = "";
    cr_assert_eq(check(&d, why, sizeof why), -1);
    cr_assert(strstr(why, "no version") != NULL, "%s", why);
}
