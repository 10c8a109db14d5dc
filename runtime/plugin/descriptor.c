/*
 * descriptor.c - checks of a plugin's descriptor (see descriptor.h). Every
 * read of plugin memory is bounded by the symbol's size and by the fields
 * the plugin's own ABI minor defines (abi_layout.h).
 */
#include "plugin/descriptor.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/envelope.h"
#include "core/util.h"
#include "plugin/abi_layout.h"

/* A header field, read from its frozen 1.0 offset. */
#define HDR_FIELD(sym, field, out)                                          \
    memcpy(&(out), (const char *)(sym) + offsetof(abi_desc_1_0, field),     \
           sizeof(out))

int desc_check_header(const void *sym, size_t sym_size,
                      desc_layout_t *layout, char *why, size_t why_len)
{
    const size_t ints_end = ABI_FIELDS_END(abi_desc_1_0, handler_size);
    uint32_t magic;
    memset(layout, 0, sizeof *layout);
    if (sym_size < ABI_FIELDS_END(abi_desc_1_0, struct_size))
        return util_fail(why, why_len, "descriptor size %zu bytes is too small "
                      "to be a jobrt_plugin_desc", sym_size);
    HDR_FIELD(sym, magic, magic);
    if (magic != JOBRT_PLUGIN_MAGIC)
        return util_fail(why, why_len, "bad magic 0x%08x in " JOBRT_PLUGIN_SYMBOL
                      " (expected 0x%08x)", magic, JOBRT_PLUGIN_MAGIC);
    HDR_FIELD(sym, struct_size, layout->struct_size);
    if (sym_size < ints_end)
        return util_fail(why, why_len, "descriptor size %u: the "
                      JOBRT_PLUGIN_SYMBOL " symbol has only %zu bytes",
                      layout->struct_size, sym_size);
    HDR_FIELD(sym, abi_major, layout->abi_major);
    HDR_FIELD(sym, abi_minor, layout->abi_minor);
    HDR_FIELD(sym, handler_size, layout->handler_size);
    if (layout->abi_major != JOBRT_ABI_MAJOR)
        return util_fail(why, why_len, "built for ABI major %u, this runtime "
                      "provides ABI %d.%d", layout->abi_major,
                      JOBRT_ABI_MAJOR, JOBRT_ABI_MINOR);
    if (layout->abi_minor > JOBRT_ABI_MINOR)
        return util_fail(why, why_len, "built for ABI minor %u.%u, newer than "
                      "this runtime's ABI %d.%d (upgrade jobrt)",
                      layout->abi_major, layout->abi_minor, JOBRT_ABI_MAJOR,
                      JOBRT_ABI_MINOR);
    layout->desc_span = abi_desc_span(layout->abi_minor);
    layout->handler_span = abi_handler_span(layout->abi_minor);
    if (layout->struct_size < layout->desc_span ||
        layout->struct_size > sym_size)
        return util_fail(why, why_len, "descriptor size %u does not match the "
                      "ABI %u.%u layout (%zu bytes, symbol has %zu)",
                      layout->struct_size, layout->abi_major,
                      layout->abi_minor, layout->desc_span, sym_size);
    if (layout->handler_size < layout->handler_span ||
        layout->handler_size > DESC_MAX_HANDLER_SIZE)
        return util_fail(why, why_len, "handler table entry size %u does not "
                      "match the ABI %u.%u layout (%zu to %d bytes)",
                      layout->handler_size, layout->abi_major,
                      layout->abi_minor, layout->handler_span,
                      DESC_MAX_HANDLER_SIZE);
    HDR_FIELD(sym, n_handlers, layout->n_handlers);
    if (layout->n_handlers == 0 || layout->n_handlers > DESC_MAX_HANDLERS)
        return util_fail(why, why_len, "handler table has %u entries (1 to %d "
                      "allowed)", layout->n_handlers, DESC_MAX_HANDLERS);
    return 0;
}

void desc_read_handler(const desc_layout_t *layout, const void *table,
                       uint32_t i, jobrt_handler_desc *out)
{
    size_t n = layout->handler_span < sizeof *out ? layout->handler_span
                                                  : sizeof *out;
    memset(out, 0, sizeof *out);
    memcpy(out, (const char *)table + (size_t)i * layout->handler_size, n);
}

static const plugin_handler_t *find_claim(const plugin_set_t *set,
                                          const char *job, uint32_t lo,
                                          uint32_t hi)
{
    for (; set; set = set->also)
        for (const struct jobrt_plugin *p = set->head; p; p = p->next)
            for (uint32_t i = 0; !p->leaving && i < p->n_handlers; i++) {
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
    free(p->copy_path);
    free(p);
}

static const char *or_empty(const char *s) { return s ? s : ""; }

/* One handler entry h (index i) against the entries p already has and the
 * plugins of set; appends it to p. */
static int add_handler(const jobrt_plugin_desc *d, const jobrt_handler_desc *h,
                       uint32_t i, const plugin_set_t *set,
                       struct jobrt_plugin *p, char *why, size_t why_len)
{
    const char *jn = h->job_name;
    if (jn == NULL || !envelope_valid_name(jn, strlen(jn)))
        return util_fail(why, why_len, "plugin '%s': handler #%u has no valid "
                      "job name", d->name, i);
    if (h->run == NULL)
        return util_fail(why, why_len, "plugin '%s': handler for '%s' has no "
                      "run function", d->name, jn);
    if (h->schema_min > h->schema_max)
        return util_fail(why, why_len, "plugin '%s': handler for '%s' has "
                      "schema range %u..%u (min > max)", d->name, jn,
                      h->schema_min, h->schema_max);
    if (h->flags != 0)
        return util_fail(why, why_len, "plugin '%s': handler for '%s' sets "
                      "unknown flags 0x%x", d->name, jn, h->flags);
    if (h->max_attempts > ENVELOPE_MAX_ATTEMPTS)
        return util_fail(why, why_len, "plugin '%s': handler for '%s' has "
                      "max_attempts %u (limit %d)", d->name, jn,
                      h->max_attempts, ENVELOPE_MAX_ATTEMPTS);
    for (uint32_t j = 0; j < p->n_handlers; j++) {
        const plugin_handler_t *o = &p->handlers[j];
        if (strcmp(o->job_name, jn) == 0 && o->schema_min <= h->schema_max &&
            h->schema_min <= o->schema_max)
            return util_fail(why, why_len, "plugin '%s': handlers for '%s' "
                          "overlap (v%u..%u and v%u..%u)", d->name, jn,
                          o->schema_min, o->schema_max, h->schema_min,
                          h->schema_max);
    }
    const plugin_handler_t *other =
        find_claim(set, jn, h->schema_min, h->schema_max);
    if (other)
        return util_fail(why, why_len, "plugin '%s': %s v%u..%u is already "
                      "served by plugin '%s' (%s)", d->name, jn,
                      h->schema_min, h->schema_max, other->plugin->name,
                      other->plugin->file);
    plugin_handler_t *ph = &p->handlers[p->n_handlers];
    ph->job_name = strdup(jn);
    if (ph->job_name == NULL)
        return util_fail(why, why_len, "out of memory");
    p->n_handlers++;
    ph->schema_min = h->schema_min;
    ph->schema_max = h->schema_max;
    ph->run = h->run;
    ph->timeout_ms = h->timeout_ms;
    ph->max_attempts = h->max_attempts;
    ph->backoff_base_ms = h->backoff_base_ms;
    ph->backoff_cap_ms = h->backoff_cap_ms;
    ph->plugin = p;
    return 0;
}

int loader_check_descriptor(const void *sym, size_t sym_size,
                            const plugin_set_t *set, struct jobrt_plugin *p,
                            jobrt_plugin_desc *d, char *why, size_t why_len)
{
    desc_layout_t lay;
    memset(d, 0, sizeof *d);
    if (desc_check_header(sym, sym_size, &lay, why, why_len) != 0)
        return -1;
    memcpy(d, sym, lay.desc_span < sizeof *d ? lay.desc_span : sizeof *d);
    if (d->name == NULL || !envelope_valid_name(d->name, strlen(d->name)))
        return util_fail(why, why_len, "descriptor has no valid plugin name "
                      "(1-128 characters of [A-Za-z0-9_.:/-])");
    if (d->version == NULL || *d->version == '\0')
        return util_fail(why, why_len, "plugin '%s' has no version string",
                      d->name);
    for (size_t i = 0; i < sizeof d->reserved / sizeof d->reserved[0]; i++)
        if (d->reserved[i] != NULL)
            return util_fail(why, why_len, "plugin '%s': reserved descriptor "
                          "fields must be NULL", d->name);
    for (const plugin_set_t *s = set; s; s = s->also)
        for (const struct jobrt_plugin *q = s->head; q; q = q->next)
            if (!q->leaving && strcmp(q->name, d->name) == 0)
                return util_fail(why, why_len, "plugin name '%s' is already "
                                 "loaded from %s", d->name, q->file);
    if (d->handlers == NULL)
        return util_fail(why, why_len, "plugin '%s': handler table pointer is "
                      "NULL", d->name);

    p->handlers = calloc(lay.n_handlers, sizeof *p->handlers);
    if (p->handlers == NULL)
        return util_fail(why, why_len, "out of memory");
    for (uint32_t i = 0; i < lay.n_handlers; i++) {
        jobrt_handler_desc h;
        desc_read_handler(&lay, d->handlers, i, &h);
        if (add_handler(d, &h, i, set, p, why, why_len) != 0)
            return -1;
    }
    p->name = strdup(d->name);
    p->version = strdup(d->version);
    p->build_id = strdup(or_empty(d->build_id));
    p->abi_major = lay.abi_major;
    p->abi_minor = lay.abi_minor;
    p->fini = d->fini;
    if (!p->name || !p->version || !p->build_id)
        return util_fail(why, why_len, "out of memory");
    return 0;
}
