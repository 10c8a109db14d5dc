/*
 * descriptor.h - validation of a plugin's `jobrt_plugin` descriptor. Two
 * stages: desc_check_header() looks only at the plain integers (magic,
 * sizes, ABI version, handler count), so it runs on the bytes of the file
 * before dlopen() as well as on the live descriptor after it;
 * loader_check_descriptor() then checks everything that needs the
 * relocated image (names, handler table, conflicts) and copies it out.
 * Pure code, no I/O: the fuzzer and tests call it on buffers.
 */
#ifndef JOBRT_DESCRIPTOR_H
#define JOBRT_DESCRIPTOR_H

#include <stddef.h>
#include <stdint.h>

#include "plugin/plugin_set.h"

#define DESC_MAX_HANDLERS 1024
#define DESC_MAX_HANDLER_SIZE 4096

/* What the header says about the rest of the descriptor. */
typedef struct {
    uint16_t abi_major, abi_minor;
    uint32_t struct_size;   /* as the plugin was compiled */
    uint32_t handler_size;  /* stride of its handler table */
    uint32_t n_handlers;
    size_t desc_span;       /* descriptor bytes its minor defines */
    size_t handler_span;    /* bytes of each entry its minor defines */
} desc_layout_t;

/* Checks the integers of the sym_size bytes at sym. Returns 0 and fills
 * layout, or -1 with a one-line reason in why. */
int desc_check_header(const void *sym, size_t sym_size,
                      desc_layout_t *layout, char *why, size_t why_len);

/* Entry i of a handler table laid out as layout says, as this runtime's
 * struct: the fields the plugin's minor has, later ones 0. */
void desc_read_handler(const desc_layout_t *layout, const void *table,
                       uint32_t i, jobrt_handler_desc *out);

/* The whole check on the live descriptor (sym_size bytes at sym, no plugin
 * code runs): the header, fields, handler table, conflicts with set (its
 * plugins marked `leaving` are being replaced and do not conflict). Fills
 * p's copies and d (fields the plugin's minor lacks read 0). Returns 0, or
 * -1 with why set; p is then half-filled and goes to loader_free_plugin. */
int loader_check_descriptor(const void *sym, size_t sym_size,
                            const plugin_set_t *set, struct jobrt_plugin *p,
                            jobrt_plugin_desc *d, char *why, size_t why_len);

/* Frees what loader_check_descriptor copied into p, and p. */
void loader_free_plugin(struct jobrt_plugin *p);

#endif
