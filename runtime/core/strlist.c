/*
 * strlist.c - byte strings in one buffer; see strlist.h.
 */
#include "core/strlist.h"

#include <stdlib.h>
#include <string.h>

int strlist_add(strlist_t *l, const void *p, size_t len)
{
    if (l->n + 2 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        size_t *o = realloc(l->off, cap * sizeof *o);
        if (o == NULL) {
            l->failed = 1;
            return -1;
        }
        l->off = o;
        l->cap = cap;
    }
    if (l->n == 0)
        l->off[0] = 0;
    if (buf_append(&l->data, p, len) != 0) {
        l->failed = 1;
        return -1;
    }
    l->off[++l->n] = l->data.len;
    return 0;
}

int strlist_adds(strlist_t *l, const char *s)
{
    return strlist_add(l, s, strlen(s));
}

const char *strlist_get(const strlist_t *l, size_t i, size_t *len)
{
    *len = l->off[i + 1] - l->off[i];
    return l->data.data + l->off[i];
}

void strlist_truncate(strlist_t *l, size_t n)
{
    if (n >= l->n)
        return;
    l->n = n;
    l->data.len = n ? l->off[n] : 0;
    if (l->data.data)
        l->data.data[l->data.len] = '\0';
}

void strlist_reset(strlist_t *l)
{
    l->n = 0;
    l->failed = 0;
    buf_reset(&l->data);
}

void strlist_free(strlist_t *l)
{
    buf_free(&l->data);
    free(l->off);
    memset(l, 0, sizeof *l);
}
