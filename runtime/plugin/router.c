/*
 * router.c - a route table sorted by (job name, schema_min), searched with a
 * binary search; no allocation per lookup. The table pointer is read under a
 * mutex so that a reload replaces it atomically: a lookup sees the whole
 * old table or the whole new one, never a mix.
 */
#include "plugin/router.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const plugin_handler_t **routes;
    size_t n;
} route_table_t;

struct router {
    pthread_mutex_t lock;
    route_table_t *table;
};

static int cmp_route(const void *a, const void *b)
{
    const plugin_handler_t *x = *(const plugin_handler_t *const *)a;
    const plugin_handler_t *y = *(const plugin_handler_t *const *)b;
    int c = strcmp(x->job_name, y->job_name);
    if (c)
        return c;
    return x->schema_min < y->schema_min ? -1 : x->schema_min > y->schema_min;
}

static route_table_t *table_build(const plugin_set_t *set)
{
    route_table_t *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    size_t n = 0;
    for (const struct jobrt_plugin *p = set->head; p; p = p->next)
        n += p->n_handlers;
    t->routes = calloc(n ? n : 1, sizeof *t->routes);
    if (t->routes == NULL) {
        free(t);
        return NULL;
    }
    for (const struct jobrt_plugin *p = set->head; p; p = p->next)
        for (uint32_t i = 0; i < p->n_handlers; i++)
            t->routes[t->n++] = &p->handlers[i];
    qsort(t->routes, t->n, sizeof *t->routes, cmp_route);
    return t;
}

static void table_free(route_table_t *t)
{
    if (t) {
        free(t->routes);
        free(t);
    }
}

router_t *router_create(const plugin_set_t *set)
{
    router_t *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->table = table_build(set);
    if (r->table == NULL) {
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

int router_replace(router_t *r, const plugin_set_t *set)
{
    route_table_t *t = table_build(set);
    if (t == NULL)
        return -1;
    pthread_mutex_lock(&r->lock);
    route_table_t *old = r->table;
    r->table = t;
    pthread_mutex_unlock(&r->lock);
    table_free(old); /* lookups hold the lock: none can still read it */
    return 0;
}

void router_destroy(router_t *r)
{
    if (r == NULL)
        return;
    table_free(r->table);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Compares a (ptr,len) name with a NUL-terminated one, strcmp order. */
static int name_cmp(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Index of the first route for job, or t->n if none. */
static size_t first_route(const route_table_t *t, const char *job, size_t len)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (name_cmp(job, len, t->routes[mid]->job_name) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < t->n && name_cmp(job, len, t->routes[lo]->job_name) == 0)
        return lo;
    return t->n;
}

route_status_t router_acquire(router_t *r, const char *job, size_t len,
                              uint32_t version, const plugin_handler_t **out)
{
    route_status_t st = ROUTE_NO_HANDLER;
    *out = NULL;
    pthread_mutex_lock(&r->lock);
    const route_table_t *t = r->table;
    for (size_t i = first_route(t, job, len);
         i < t->n && name_cmp(job, len, t->routes[i]->job_name) == 0; i++) {
        const plugin_handler_t *h = t->routes[i];
        st = ROUTE_SCHEMA_UNSUPPORTED;
        if (version >= h->schema_min && version <= h->schema_max) {
            atomic_fetch_add(&h->plugin->inflight, 1);
            *out = h;
            st = ROUTE_OK;
            break;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return st;
}

void router_release(const plugin_handler_t *h)
{
    if (h)
        atomic_fetch_sub(&h->plugin->inflight, 1);
}

void router_describe_versions(router_t *r, const char *job, size_t len,
                              char *out, size_t out_len)
{
    size_t used = 0;
    out[0] = '\0';
    pthread_mutex_lock(&r->lock);
    const route_table_t *t = r->table;
    for (size_t i = first_route(t, job, len);
         i < t->n && name_cmp(job, len, t->routes[i]->job_name) == 0; i++) {
        const plugin_handler_t *h = t->routes[i];
        int n = h->schema_min == h->schema_max
                    ? snprintf(out + used, out_len - used, "%sv%u",
                               used ? ", " : "", h->schema_min)
                    : snprintf(out + used, out_len - used, "%sv%u..%u",
                               used ? ", " : "", h->schema_min, h->schema_max);
        if (n < 0 || (size_t)n >= out_len - used)
            break;
        used += (size_t)n;
    }
    pthread_mutex_unlock(&r->lock);
}

const char *route_status_reason(route_status_t st)
{
    switch (st) {
    case ROUTE_OK:
        return "ok";
    case ROUTE_NO_HANDLER:
        return "no_handler";
    case ROUTE_SCHEMA_UNSUPPORTED:
        return "schema_unsupported";
    }
    return "unknown";
}
