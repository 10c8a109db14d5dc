/*
 * fuzz_descriptor.c - libFuzzer target for plugin descriptor validation.
 * The input supplies every integer field of a descriptor and of its handler
 * table, and the bytes of the names; pointers are aimed at buffers built
 * from the input (as a real plugin's would point into its own image), with
 * the table sized exactly as the descriptor declares it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int dummy_run(const jobrt_host_api *h, void *c, jobrt_job *j)
{
    (void)h;
    (void)c;
    (void)j;
    return 0;
}

typedef struct {
    const uint8_t *p;
    size_t n;
} input_t;

static uint32_t take32(input_t *in)
{
    uint32_t v = 0;
    size_t k = in->n < 4 ? in->n : 4;
    memcpy(&v, in->p, k);
    in->p += k;
    in->n -= k;
    return v;
}

/* A NUL-terminated string of up to 40 input bytes, or NULL. */
static const char *take_str(input_t *in, char *buf)
{
    uint32_t sel = take32(in);
    if (sel % 7 == 0)
        return NULL;
    size_t len = sel % 41;
    if (len > in->n)
        len = in->n;
    memcpy(buf, in->p, len);
    buf[len] = '\0';
    in->p += len;
    in->n -= len;
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input_t in = {data, size};
    char names[3][48];
    char hnames[8][48];
    jobrt_plugin_desc d;
    memset(&d, 0, sizeof d);
    uint32_t ctl = take32(&in);
    d.magic = ctl & 1 ? JOBRT_PLUGIN_MAGIC : take32(&in);
    d.struct_size = ctl & 2 ? sizeof d : take32(&in);
    d.abi_major = (uint16_t)(ctl & 4 ? JOBRT_ABI_MAJOR : take32(&in));
    d.abi_minor = (uint16_t)(ctl & 8 ? 0 : ctl & 256 ? 1 : take32(&in));
    d.handler_size = ctl & 16 ? sizeof(jobrt_handler_desc) : take32(&in) % 128;
    d.name = take_str(&in, names[0]);
    d.version = take_str(&in, names[1]);
    d.build_id = take_str(&in, names[2]);
    d.n_handlers = take32(&in) % 9;
    if (ctl & 32)
        d.reserved[0] = &d;

    /* Entries sit at the stride the descriptor declares, as a plugin's
     * own table would; a stride too small to hold the fields of the
     * plugin's minor (at least the 1.0 ones) is rejected before any entry
     * is read, so it gets a full-size table. */
    size_t min_size = offsetof(jobrt_handler_desc, backoff_base_ms);
    size_t hs = d.handler_size >= min_size ? d.handler_size
                                           : sizeof(jobrt_handler_desc);
    unsigned char *table = calloc(d.n_handlers ? d.n_handlers : 1, hs);
    if (table == NULL)
        return 0;
    for (uint32_t i = 0; i < d.n_handlers; i++) {
        jobrt_handler_desc h;
        memset(&h, 0, sizeof h);
        h.job_name = take_str(&in, hnames[i % 8]);
        h.schema_min = take32(&in) % 8;
        h.schema_max = take32(&in) % 8;
        h.run = take32(&in) % 5 ? dummy_run : NULL;
        h.max_attempts = take32(&in) % 1200;
        h.flags = take32(&in) % 3 == 0;
        memcpy(table + (size_t)i * hs, &h, hs < sizeof h ? hs : sizeof h);
    }
    d.handlers = (const jobrt_handler_desc *)table;
    if (ctl & 64)
        d.handlers = NULL;

    plugin_set_t set = {0};
    struct jobrt_plugin *p = calloc(1, sizeof *p);
    char why[512];
    jobrt_plugin_desc out;
    /* the "symbol" is as large as the struct, or smaller when asked */
    size_t sym_size = ctl & 128 ? (take32(&in) % (sizeof d + 1)) : sizeof d;
    if (p)
        loader_check_descriptor(&d, sym_size, &set, p, &out, why, sizeof why);
    loader_free_plugin(p);
    free(table);
    return 0;
}
