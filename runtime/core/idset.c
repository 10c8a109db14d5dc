/*
 * idset.c - chained hash table plus a FIFO ring for eviction.
 */
#include "core/idset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct node {
    struct node *next;
    size_t len;
    char id[];
} node_t;

struct idset {
    node_t **buckets;
    size_t n_buckets;
    node_t **ring; /* insertion order, for eviction */
    size_t cap, head, count;
};

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

idset_t *idset_create(size_t capacity)
{
    idset_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->cap = capacity ? capacity : 1;
    s->n_buckets = 1;
    while (s->n_buckets < s->cap)
        s->n_buckets *= 2;
    s->buckets = calloc(s->n_buckets, sizeof *s->buckets);
    s->ring = calloc(s->cap, sizeof *s->ring);
    if (s->buckets == NULL || s->ring == NULL) {
        idset_destroy(s);
        return NULL;
    }
    return s;
}

static void unlink_node(idset_t *s, node_t *n)
{
    node_t **pp = &s->buckets[hash(n->id, n->len) & (s->n_buckets - 1)];
    while (*pp && *pp != n)
        pp = &(*pp)->next;
    if (*pp)
        *pp = n->next;
}

int idset_add(idset_t *s, const char *id)
{
    size_t len = strlen(id);
    if (idset_has(s, id, len))
        return 0;
    node_t *n = malloc(sizeof *n + len + 1);
    if (n == NULL)
        return -1;
    n->len = len;
    memcpy(n->id, id, len + 1);
    size_t slot = (s->head + s->count) % s->cap;
    if (s->count == s->cap) { /* full: forget the oldest */
        node_t *old = s->ring[s->head];
        unlink_node(s, old);
        free(old);
        s->head = (s->head + 1) % s->cap;
        s->count--;
        slot = (s->head + s->count) % s->cap;
    }
    s->ring[slot] = n;
    s->count++;
    node_t **b = &s->buckets[hash(id, len) & (s->n_buckets - 1)];
    n->next = *b;
    *b = n;
    return 1;
}

int idset_has(const idset_t *s, const char *id, size_t len)
{
    if (s->count == 0)
        return 0;
    for (const node_t *n = s->buckets[hash(id, len) & (s->n_buckets - 1)]; n;
         n = n->next)
        if (n->len == len && memcmp(n->id, id, len) == 0)
            return 1;
    return 0;
}

size_t idset_count(const idset_t *s) { return s->count; }

void idset_destroy(idset_t *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; s->ring && i < s->count; i++)
        free(s->ring[(s->head + i) % s->cap]);
    free(s->ring);
    free(s->buckets);
    free(s);
}
