/*
 * test_router.c - unit tests for the router: (job name, schema version) ->
 * handler resolution over a plugin set built by hand in memory (no dlopen),
 * the plugins' jobs-in-flight counts, and version descriptions.
 */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/router.h"

static int run_dummy(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)host;
    (void)ctx;
    (void)job;
    return JOBRT_OK;
}

typedef struct {
    const char *job;
    uint32_t min, max;
} hspec_t;

static struct jobrt_plugin *make_plugin(const char *name, const hspec_t *h,
                                        uint32_t n)
{
    struct jobrt_plugin *p = calloc(1, sizeof *p);
    cr_assert_not_null(p);
    p->name = strdup(name);
    p->version = strdup("1.0.0");
    p->file = strdup("(memory)");
    p->handlers = calloc(n ? n : 1, sizeof *p->handlers);
    cr_assert_not_null(p->handlers);
    p->n_handlers = n;
    atomic_init(&p->inflight, 0);
    for (uint32_t i = 0; i < n; i++) {
        p->handlers[i].job_name = strdup(h[i].job);
        p->handlers[i].schema_min = h[i].min;
        p->handlers[i].schema_max = h[i].max;
        p->handlers[i].run = run_dummy;
        p->handlers[i].plugin = p;
    }
    return p;
}

static void free_plugin(struct jobrt_plugin *p)
{
    for (uint32_t i = 0; i < p->n_handlers; i++)
        free(p->handlers[i].job_name);
    free(p->handlers);
    free(p->name);
    free(p->version);
    free(p->file);
    free(p);
}

/* alpha: invoice v1, invoice v2..3, invoice_email v1..5
 * beta:  invoice v5 (v4 is a gap), report v0, inv v1, zzz v7..4294967295
 * Handlers are listed out of name order on purpose. */
static plugin_set_t set;
static struct jobrt_plugin *alpha, *beta;
static router_t *router;

/* Every test calls this first (and teardown() last): fixtures are explicit
 * calls rather than TestSuite(.init/.fini), which cppcheck cannot parse. */
static void setup(void)
{
    static const hspec_t ha[] = {
        {"invoice_email", 1, 5}, {"invoice", 2, 3}, {"invoice", 1, 1}};
    static const hspec_t hb[] = {{"zzz", 7, 4294967295u},
                                 {"invoice", 5, 5},
                                 {"report", 0, 0},
                                 {"inv", 1, 1}};
    alpha = make_plugin("alpha", ha, 3);
    beta = make_plugin("beta", hb, 4);
    alpha->next = beta;
    set.head = alpha;
    set.count = 2;
    router = router_create(&set);
    cr_assert_not_null(router);
}

static void teardown(void)
{
    router_destroy(router);
    free_plugin(alpha);
    free_plugin(beta);
    memset(&set, 0, sizeof set);
}

static route_status_t acquire(const char *job, uint32_t v,
                              const plugin_handler_t **h)
{
    return router_acquire(router, job, strlen(job), v, h);
}

static void expect_route(const char *job, uint32_t v,
                         const plugin_handler_t *want)
{
    const plugin_handler_t *h = NULL;
    route_status_t st = acquire(job, v, &h);
    cr_assert_eq(st, ROUTE_OK, "%s v%u: status %d", job, v, (int)st);
    cr_assert_eq(h, want, "%s v%u routed to the wrong handler (%s v%u..%u)",
                 job, v, h ? h->job_name : "-", h ? h->schema_min : 0,
                 h ? h->schema_max : 0);
    router_release(h);
}

static void expect_status(const char *job, uint32_t v, route_status_t want)
{
    const plugin_handler_t *h = (const plugin_handler_t *)&h; /* poison */
    route_status_t st = acquire(job, v, &h);
    cr_assert_eq(st, want, "%s v%u: status %d, want %d", job, v, (int)st,
                 (int)want);
    cr_assert_null(h, "no handler may be returned unless ROUTE_OK");
}

Test(router, picks_handler_whose_range_contains_version)
{
    setup();
    expect_route("invoice", 1, &alpha->handlers[2]);
    expect_route("invoice", 2, &alpha->handlers[1]);
    expect_route("invoice", 3, &alpha->handlers[1]);
    expect_route("invoice", 5, &beta->handlers[1]);
    for (uint32_t v = 1; v <= 5; v++)
        expect_route("invoice_email", v, &alpha->handlers[0]);
    expect_route("report", 0, &beta->handlers[2]);
    expect_route("inv", 1, &beta->handlers[3]);
    expect_route("zzz", 7, &beta->handlers[0]);
    expect_route("zzz", 4294967295u, &beta->handlers[0]);
    teardown();
}

Test(router, schema_unsupported_for_known_name)
{
    setup();
    expect_status("invoice", 0, ROUTE_SCHEMA_UNSUPPORTED);
    expect_status("invoice", 4, ROUTE_SCHEMA_UNSUPPORTED);
    expect_status("invoice", 6, ROUTE_SCHEMA_UNSUPPORTED);
    expect_status("invoice", 4294967295u, ROUTE_SCHEMA_UNSUPPORTED);
    expect_status("invoice_email", 0, ROUTE_SCHEMA_UNSUPPORTED);
    expect_status("invoice_email", 6, ROUTE_SCHEMA_UNSUPPORTED);
    expect_status("report", 1, ROUTE_SCHEMA_UNSUPPORTED);
    expect_status("zzz", 6, ROUTE_SCHEMA_UNSUPPORTED);
    expect_status("inv", 2, ROUTE_SCHEMA_UNSUPPORTED);
    teardown();
}

Test(router, no_handler_for_unknown_name)
{
    setup();
    static const char *const unknown[] = {
        "unknown", "invoic", "invoice_", "invoice_emai", "invoice_email_x",
        "Invoice", "INVOICE", "in", "i", "a", "zzzz", "reports", "invoicf"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        expect_status(unknown[i], 1, ROUTE_NO_HANDLER);
    const plugin_handler_t *h = NULL;
    cr_assert_eq(router_acquire(router, "", 0, 1, &h), ROUTE_NO_HANDLER);
    cr_assert_null(h);
    teardown();
}

Test(router, name_length_is_honoured)
{
    setup();
    /* The name is (ptr, len), not NUL-terminated. */
    const char *buf = "invoice_email";
    const plugin_handler_t *h = NULL;
    cr_assert_eq(router_acquire(router, buf, 7, 1, &h), ROUTE_OK);
    cr_assert_eq(h, &alpha->handlers[2], "prefix 'invoice' of the buffer");
    router_release(h);
    cr_assert_eq(router_acquire(router, buf, 3, 1, &h), ROUTE_OK);
    cr_assert_eq(h, &beta->handlers[3], "prefix 'inv' of the buffer");
    router_release(h);
    cr_assert_eq(router_acquire(router, buf, 13, 5, &h), ROUTE_OK);
    cr_assert_eq(h, &alpha->handlers[0]);
    router_release(h);
    cr_assert_eq(router_acquire(router, buf, 8, 1, &h), ROUTE_NO_HANDLER);
    /* an embedded NUL does not end the name */
    cr_assert_eq(router_acquire(router, "inv\0oice", 8, 1, &h),
                 ROUTE_NO_HANDLER);
    teardown();
}

Test(router, inflight_counts)
{
    setup();
    const plugin_handler_t *h1 = NULL, *h2 = NULL, *h3 = NULL, *h4 = NULL;
    cr_assert_eq(atomic_load(&alpha->inflight), 0u);
    cr_assert_eq(atomic_load(&beta->inflight), 0u);

    cr_assert_eq(acquire("invoice", 1, &h1), ROUTE_OK);
    cr_assert_eq(atomic_load(&alpha->inflight), 1u);
    cr_assert_eq(acquire("invoice_email", 3, &h2), ROUTE_OK);
    cr_assert_eq(atomic_load(&alpha->inflight), 2u);
    cr_assert_eq(acquire("invoice", 5, &h3), ROUTE_OK);
    cr_assert_eq(atomic_load(&alpha->inflight), 2u);
    cr_assert_eq(atomic_load(&beta->inflight), 1u);

    /* failed lookups take no reference */
    cr_assert_eq(acquire("invoice", 4, &h4), ROUTE_SCHEMA_UNSUPPORTED);
    cr_assert_eq(acquire("nope", 1, &h4), ROUTE_NO_HANDLER);
    cr_assert_eq(atomic_load(&alpha->inflight), 2u);
    cr_assert_eq(atomic_load(&beta->inflight), 1u);

    router_release(h1);
    cr_assert_eq(atomic_load(&alpha->inflight), 1u);
    router_release(h3);
    cr_assert_eq(atomic_load(&beta->inflight), 0u);
    router_release(h2);
    cr_assert_eq(atomic_load(&alpha->inflight), 0u);
    router_release(NULL); /* no-op */
    cr_assert_eq(atomic_load(&alpha->inflight), 0u);
    cr_assert_eq(atomic_load(&beta->inflight), 0u);
    teardown();
}

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        const plugin_handler_t *h = NULL;
        uint32_t v = (uint32_t)(i % 6);
        route_status_t st = router_acquire(router, "invoice", 7, v, &h);
        if ((st == ROUTE_OK) != (v == 1 || v == 2 || v == 3 || v == 5))
            return (void *)1;
        router_release(h);
    }
    return NULL;
}

Test(router, concurrent_acquire_release_balances)
{
    setup();
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, hammer, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        cr_assert_null(r, "thread %d saw a wrong route", i);
    }
    cr_assert_eq(atomic_load(&alpha->inflight), 0u);
    cr_assert_eq(atomic_load(&beta->inflight), 0u);
    teardown();
}

static void expect_describe(const char *job, const char *want)
{
    char out[128];
    memset(out, 'X', sizeof out);
    router_describe_versions(router, job, strlen(job), out, sizeof out);
    cr_assert_str_eq(out, want, "versions of '%s'", job);
}

Test(router, describe_versions)
{
    setup();
    expect_describe("invoice", "v1, v2..3, v5");
    expect_describe("invoice_email", "v1..5");
    expect_describe("report", "v0");
    expect_describe("inv", "v1");
    expect_describe("zzz", "v7..4294967295");
    expect_describe("nope", "");
    expect_describe("invoic", "");
    teardown();
}

Test(router, describe_versions_small_buffer)
{
    setup();
    char out[9];
    memset(out, 'X', sizeof out);
    router_describe_versions(router, "invoice", 7, out, sizeof out);
    cr_assert(memchr(out, '\0', sizeof out) != NULL, "must stay terminated");
    cr_assert_lt(strlen(out), sizeof out);
    cr_assert(strncmp(out, "v1", 2) == 0, "got '%s'", out);
    cr_assert(strncmp("v1, v2..3, v5", out, strlen(out)) == 0,
              "a truncated description must be a prefix, got '%s'", out);

    char one[1] = {'X'};
    router_describe_versions(router, "invoice", 7, one, sizeof one);
    cr_assert_eq(one[0], '\0');
    teardown();
}

Test(router, status_reasons)
{
    setup();
    cr_assert_str_eq(route_status_reason(ROUTE_OK), "ok");
    cr_assert_str_eq(route_status_reason(ROUTE_NO_HANDLER), "no_handler");
    cr_assert_str_eq(route_status_reason(ROUTE_SCHEMA_UNSUPPORTED),
                     "schema_unsupported");
    teardown();
}

Test(router_empty, empty_set_routes_nothing)
{
    plugin_set_t empty = {0};
    router_t *r = router_create(&empty);
    cr_assert_not_null(r);
    const plugin_handler_t *h = NULL;
    cr_assert_eq(router_acquire(r, "invoice", 7, 1, &h), ROUTE_NO_HANDLER);
    cr_assert_null(h);
    char out[16] = "junk";
    router_describe_versions(r, "invoice", 7, out, sizeof out);
    cr_assert_str_eq(out, "");
    router_destroy(r);
}

Test(router_empty, plugin_without_handlers)
{
    struct jobrt_plugin *p = make_plugin("nothing", NULL, 0);
    plugin_set_t s = {.head = p, .count = 1};
    router_t *r = router_create(&s);
    cr_assert_not_null(r);
    const plugin_handler_t *h = NULL;
    cr_assert_eq(router_acquire(r, "x", 1, 1, &h), ROUTE_NO_HANDLER);
    router_destroy(r);
    free_plugin(p);
}
