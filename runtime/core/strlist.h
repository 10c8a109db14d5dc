/*
 * strlist.h - a list of byte strings kept in one reusable buffer: the
 * arguments of a Redis command being built, or the ids of a batch. Memory
 * is kept across resets, so a steady stream of batches allocates nothing.
 *
 * Adding can fail (out of memory). The list then remembers that it is
 * incomplete until the next reset, so a caller that adds many strings can
 * check once, with strlist_failed(), instead of after every add; and
 * strlist_truncate() undoes a partial group of adds.
 */
#ifndef JOBRT_STRLIST_H
#define JOBRT_STRLIST_H

#include <stddef.h>

#include "core/util.h"

typedef struct {
    buf_t data;
    size_t *off; /* n + 1 offsets into data */
    size_t n, cap;
    int failed;  /* an add failed since the last reset */
} strlist_t;

/* Appends len bytes at p. Returns 0, or -1 (and marks the list failed). */
int strlist_add(strlist_t *l, const void *p, size_t len);
/* strlist_add of a NUL-terminated string. */
int strlist_adds(strlist_t *l, const char *s);
const char *strlist_get(const strlist_t *l, size_t i, size_t *len);
static inline int strlist_failed(const strlist_t *l) { return l->failed; }
/* Drops every string from index n on (n <= l->n); the failed mark stays. */
void strlist_truncate(strlist_t *l, size_t n);
/* Empties the list and clears the failed mark; keeps the memory. */
void strlist_reset(strlist_t *l);
void strlist_free(strlist_t *l);

#endif
