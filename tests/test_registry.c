/*
 * test_registry.c - the fleet registry (fleet/registry.c, fleet/fleet_view.c):
 * a heartbeat record built from a plugin set made by hand in memory parses
 * back to the same values; registry_serves() at the edges of each range;
 * malformed, wrong-typed and oversized records are refused with a reason
 * naming the member; a reload outcome round-trips, NULL members left out.
 * Then, on a private redis-server: fleet_read() lists only live workers
 * (recent score and record present), marks an unreadable or oversized
 * record without fetching more than the limit, and fleet_live_queues()
 * and fleet_served_versions() say what the fleet serves.
 */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/version.h"
#include "fleet/fleet_view.h"
#include "fleet/registry.h"
#include "support/test_redis.h"

#define JOBRT_STR_(x) #x
#define JOBRT_STR(x) JOBRT_STR_(x)

typedef struct {
    const char *job;
    uint32_t min, max;
} hspec_t;

static struct jobrt_plugin *make_plugin(const char *name, const char *build,
                                        unsigned long long gen,
                                        const hspec_t *h, uint32_t n)
{
    struct jobrt_plugin *p = calloc(1, sizeof *p);
    cr_assert_not_null(p);
    p->name = strdup(name);
    p->version = strdup("2.0.0");
    p->build_id = strdup(build);
    p->file = strdup("/opt/jobs/x.so");
    memset(p->sha256, 'a', 64);
    p->sha256[0] = '0';
    p->generation = gen;
    p->handlers = calloc(n ? n : 1, sizeof *p->handlers);
    cr_assert_not_null(p->handlers);
    p->n_handlers = n;
    atomic_init(&p->inflight, 0);
    for (uint32_t i = 0; i < n; i++) {
        p->handlers[i].job_name = strdup(h[i].job);
        p->handlers[i].schema_min = h[i].min;
        p->handlers[i].schema_max = h[i].max;
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
    free(p->build_id);
    free(p->file);
    free(p);
}

/* active: invoice-email (invoice_email v1..2, receipt v7), legacy (pinned,
 * a v0..4294967295); retired: invoice-email generation 1, 3 in flight. */
static struct jobrt_plugin *ie, *legacy, *old;
static plugin_set_t active, retired;
static const registry_running_t running[] = {{"invoice_email", 2, 3},
                                             {"receipt", 7, 1}};

static void build(buf_t *b, const char *host)
{
    static const hspec_t hi[] = {{"invoice_email", 1, 2}, {"receipt", 7, 7}};
    static const hspec_t hl[] = {{"a", 0, 4294967295u}};
    ie = make_plugin("invoice-email", "src-b", 2, hi, 2);
    legacy = make_plugin("legacy", "x\"y", 1, hl, 1);
    snprintf(legacy->pin_reason, sizeof legacy->pin_reason,
             "STB_GNU_UNIQUE symbol _ZN1a1bE");
    ie->next = legacy;
    active.head = ie;
    active.count = 2;
    old = make_plugin("invoice-email", "src-a", 1, hi, 1);
    atomic_store(&old->inflight, 3);
    retired.head = old;
    retired.count = 1;
    registry_self_t self = {
        .consumer = "w1", .host = host, .ns = "jobrt", .queue = "default",
        .state = "running", .pid = 42, .started_ms = 1700000000123LL,
        .concurrency = 8, .inflight = 4, .reloads = 5, .reload_failures = 1,
        .generations_leaked = 0, .running = running, .n_running = 2};
    cr_assert_eq(registry_build_record(b, &self, &active, &retired), 0);
}

static void unbuild(void)
{
    free_plugin(ie);
    free_plugin(legacy);
    free_plugin(old);
}

Test(registry, record_round_trip)
{
    buf_t b = {0};
    build(&b, "h\xc3\xa9st");
    registry_record_t r;
    char why[256] = "";
    cr_assert_eq(registry_parse_record(b.data, b.len, &r, why, sizeof why),
                 0, "%s: %.*s", why, (int)b.len, b.data);
    cr_assert_str_eq(r.consumer, "w1");
    cr_assert_str_eq(r.host, "h\xc3\xa9st");
    cr_assert_str_eq(r.ns, "jobrt");
    cr_assert_str_eq(r.queue, "default");
    cr_assert_str_eq(r.state, "running");
    cr_assert_eq(r.pid, 42);
    cr_assert_eq(r.started_ms, 1700000000123LL);
    cr_assert_eq(r.concurrency, 8);
    cr_assert_eq(r.inflight, 4);
    cr_assert_eq(r.reloads, 5);
    cr_assert_eq(r.reload_failures, 1);
    cr_assert_eq(r.generations_leaked, 0);
    cr_assert_eq(r.n_plugins, 2);
    const registry_plugin_t *p = &r.plugins[0];
    cr_assert_str_eq(p->name, "invoice-email");
    cr_assert_str_eq(p->version, "2.0.0");
    cr_assert_str_eq(p->build_id, "src-b");
    cr_assert_str_eq(p->sha256, ie->sha256);
    cr_assert_eq(strlen(p->sha256), 64);
    cr_assert_str_eq(p->file, "/opt/jobs/x.so");
    cr_assert_eq(p->generation, 2);
    cr_assert_str_eq(p->pinned, "");
    cr_assert_eq(p->n_serves, 2);
    cr_assert_str_eq(p->serves[0].job, "invoice_email");
    cr_assert_eq(p->serves[0].min, 1);
    cr_assert_eq(p->serves[0].max, 2);
    cr_assert_str_eq(p->serves[1].job, "receipt");
    cr_assert_str_eq(r.plugins[1].build_id, "x\"y");
    cr_assert_str_eq(r.plugins[1].pinned, "STB_GNU_UNIQUE symbol _ZN1a1bE");
    cr_assert_eq(r.plugins[1].serves[0].max, 4294967295u);
    cr_assert_eq(r.n_serves, 3);
    cr_assert_eq(r.n_draining, 1);
    cr_assert_str_eq(r.draining[0].name, "invoice-email");
    cr_assert_str_eq(r.draining[0].build_id, "src-a");
    cr_assert_eq(r.draining[0].generation, 1);
    cr_assert_eq(r.draining[0].inflight, 3);
    cr_assert_eq(r.n_running, 2);
    cr_assert_eq(registry_running_count(&r, "invoice_email", 2), 3);
    cr_assert_eq(registry_running_count(&r, "invoice_email", 1), 0);
    cr_assert_eq(registry_running_count(&r, "receipt", 7), 1);
    registry_record_free(&r);
    buf_free(&b);
    unbuild();
}

Test(registry, record_exact_json)
{
    buf_t b = {0};
    static const hspec_t h[] = {{"j", 1, 1}};
    struct jobrt_plugin *p = make_plugin("p", "b", 1, h, 1);
    plugin_set_t s = {.head = p, .count = 1};
    registry_self_t self = {.consumer = "c", .host = "h", .ns = "n",
                            .queue = "q", .state = "draining", .pid = 7};
    cr_assert_eq(registry_build_record(&b, &self, &s, NULL), 0);
    buf_append(&b, "", 1);
    cr_assert_str_eq(
        b.data,
        "{\"v\":1,\"consumer\":\"c\",\"host\":\"h\",\"pid\":7,\"ns\":\"n\","
        "\"queue\":\"q\",\"state\":\"draining\",\"runtime\":\"" JOBRT_VERSION
        "\",\"wire\":" JOBRT_STR(JOBRT_WIRE_VERSION) ",\"started_ms\":0,"
        "\"concurrency\":0,\"inflight\":0,\"reloads\":0,"
        "\"reload_failures\":0,\"generations_leaked\":0,\"park_ttl_ms\":0,"
        "\"plugins\":[{"
        "\"name\":\"p\",\"version\":\"2.0.0\",\"build_id\":\"b\",\"sha256\":"
        "\"0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
        "\"file\":\"/opt/jobs/x.so\",\"generation\":1,\"pinned\":\"\","
        "\"serves\":[{\"job\":\"j\",\"min\":1,\"max\":1}]}],\"draining\":[],"
        "\"running\":[],\"done\":0,\"retried\":0,\"dead\":0,"
        "\"rate\":0.00,\"jobs\":[],\"jobs_omitted\":0}");
    buf_free(&b);
    free_plugin(p);
}

Test(registry, counters_and_jobs_in_flight_round_trip)
{
    registry_job_t jobs[2] = {
        {.id = "inv-7", .stream_id = "17-0", .job = "email", .version = 2,
         .attempt = 3, .deliveries = 1, .started_ms = 1700000000999LL},
        {.id = "18-0", .stream_id = "18-0", .job = "resize", .version = 1,
         .attempt = 1, .deliveries = 2, .started_ms = 5}};
    registry_self_t self = {.consumer = "c", .host = "h", .queue = "q",
                            .state = "running", .pid = 7, .done = 12000,
                            .retried = 3, .dead = 2, .rate = 41.256,
                            .jobs = jobs, .n_jobs = 2};
    buf_t b = {0};
    cr_assert_eq(registry_build_record(&b, &self, NULL, NULL), 0);
    registry_record_t r;
    char why[256] = "";
    cr_assert_eq(registry_parse_record(b.data, b.len, &r, why, sizeof why),
                 0, "%s: %.*s", why, (int)b.len, b.data);
    cr_assert(r.has_counters);
    cr_assert_eq(r.done, 12000);
    cr_assert_eq(r.retried, 3);
    cr_assert_eq(r.dead, 2);
    cr_assert_float_eq(r.rate, 41.26, 1e-9);
    cr_assert_eq(r.n_jobs, 2);
    cr_assert_eq(r.jobs_omitted, 0);
    cr_assert_str_eq(r.jobs[0].id, "inv-7");
    cr_assert_str_eq(r.jobs[0].stream_id, "17-0");
    cr_assert_str_eq(r.jobs[0].job, "email");
    cr_assert_eq(r.jobs[0].version, 2);
    cr_assert_eq(r.jobs[0].attempt, 3);
    cr_assert_eq(r.jobs[0].started_ms, 1700000000999LL);
    cr_assert_eq(r.jobs[1].deliveries, 2);
    registry_record_free(&r);

    /* more than the list holds: the rest are counted */
    static registry_job_t many[REGISTRY_MAX_JOBS + 5];
    for (size_t i = 0; i < REGISTRY_MAX_JOBS + 5; i++)
        many[i] = jobs[0];
    self.jobs = many;
    self.n_jobs = REGISTRY_MAX_JOBS + 5;
    cr_assert_eq(registry_build_record(&b, &self, NULL, NULL), 0);
    cr_assert_eq(registry_parse_record(b.data, b.len, &r, why, sizeof why),
                 0, "%s", why);
    cr_assert_eq(r.n_jobs, REGISTRY_MAX_JOBS);
    cr_assert_eq(r.jobs_omitted, 5);
    registry_record_free(&r);
    cr_assert_leq(REGISTRY_MAX_JOBS, 64, "a record every second stays small");

    /* the worker lists the first ones only: jobs_omitted counts the rest
     * of what it has in flight */
    self.n_jobs = REGISTRY_MAX_JOBS;
    self.inflight = 256;
    cr_assert_eq(registry_build_record(&b, &self, NULL, NULL), 0);
    cr_assert_eq(registry_parse_record(b.data, b.len, &r, why, sizeof why),
                 0, "%s", why);
    cr_assert_eq(r.n_jobs, REGISTRY_MAX_JOBS);
    cr_assert_eq(r.jobs_omitted, 256 - REGISTRY_MAX_JOBS);
    cr_assert_lt(b.len, 20 * 1024, "%zu bytes", b.len);
    registry_record_free(&r);
    buf_free(&b);

    /* an older worker's record, without any of them */
    const char older[] = "{\"v\":1,\"consumer\":\"c\",\"host\":\"h\","
                       "\"pid\":1,\"queue\":\"q\",\"state\":\"running\","
                       "\"plugins\":[]}";
    cr_assert_eq(registry_parse_record(older, sizeof older - 1, &r, why,
                                       sizeof why), 0, "%s", why);
    cr_assert(!r.has_counters);
    cr_assert_eq(r.done + r.retried + r.dead + r.n_jobs, 0);
    cr_assert_eq(r.rate, 0);
    registry_record_free(&r);

    const char *bad[] = {"\"rate\":-1", "\"rate\":\"x\"", "\"done\":-2",
                         "\"jobs\":[{\"job\":\"a\"}]",
                         "\"jobs\":[{\"id\":\"a\",\"job\":\"b\",\"v\":-1}]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char doc[512];
        int n = snprintf(doc, sizeof doc, "{\"v\":1,\"consumer\":\"c\","
                         "\"host\":\"h\",\"pid\":1,\"queue\":\"q\","
                         "\"state\":\"running\",\"plugins\":[],%s}", bad[i]);
        cr_assert_eq(registry_parse_record(doc, (size_t)n, &r, why,
                                           sizeof why), -1, "%s", bad[i]);
    }
}

Test(registry, serves_at_range_edges)
{
    buf_t b = {0};
    build(&b, "h");
    registry_record_t r;
    char why[256];
    cr_assert_eq(registry_parse_record(b.data, b.len, &r, why, sizeof why),
                 0, "%s", why);
    cr_assert(!registry_serves(&r, "invoice_email", 0));
    cr_assert(registry_serves(&r, "invoice_email", 1));
    cr_assert(registry_serves(&r, "invoice_email", 2));
    cr_assert(!registry_serves(&r, "invoice_email", 3));
    cr_assert(!registry_serves(&r, "receipt", 6));
    cr_assert(registry_serves(&r, "receipt", 7));
    cr_assert(!registry_serves(&r, "receipt", 8));
    cr_assert(registry_serves(&r, "a", 0));
    cr_assert(registry_serves(&r, "a", 4294967295u));
    cr_assert(!registry_serves(&r, "invoice", 1)); /* a prefix is not it */
    cr_assert(!registry_serves(&r, "invoice_emai", 1));
    /* a draining generation serves nothing new */
    cr_assert_eq(registry_server_of(&r, "invoice_email", 2), &r.plugins[0]);
    cr_assert_eq(registry_server_of(&r, "a", 9), &r.plugins[1]);
    cr_assert_null(registry_server_of(&r, "nope", 1));
    registry_record_free(&r);
    buf_free(&b);
    unbuild();
}

/* refused(JSON, REASON): parsing fails with exactly REASON. */
static void refused(const char *json, const char *reason)
{
    registry_record_t r;
    char why[256] = "";
    cr_assert_eq(registry_parse_record(json, strlen(json), &r, why,
                                       sizeof why), -1, "accepted: %s", json);
    cr_assert_str_eq(why, reason, "for %s", json);
}

#define HEAD "{\"v\":1,\"consumer\":\"c\",\"host\":\"h\",\"pid\":1,"       \
             "\"queue\":\"q\",\"state\":\"running\","

Test(registry, malformed_records_refused)
{
    refused("", "the record is not a JSON object");
    refused("[1]", "the record is not a JSON object");
    refused("{\"v\":1", "the record is not a JSON object");
    refused("{}", "v is missing");
    refused("{\"v\":2}", "the record has \"v\":2; this jobrt reads "
            "version 1");
    refused("{\"v\":\"1\"}", "v is not an integer 0-1000000000");
    refused("{\"v\":1}", "consumer is missing");
    refused("{\"v\":1,\"consumer\":5}", "consumer is not a string");
    refused("{\"v\":1,\"consumer\":\"c\",\"host\":\"h\"}", "pid is missing");
    refused("{\"v\":1,\"consumer\":\"c\",\"host\":\"h\",\"pid\":1.5}",
            "pid is not an integer 0-2147483647");
    refused(HEAD "\"plugins\":{}}", "plugins is not a list");
    refused(HEAD "\"plugins\":[3]}", "plugins[0] is not an object");
    refused(HEAD "\"plugins\":[{}]}", "plugins[0].name is missing");
    refused(HEAD "\"plugins\":[{\"name\":\"p\"}]}",
            "plugins[0].serves is missing");
    refused(HEAD "\"plugins\":[{\"name\":\"p\",\"serves\":[{\"job\":\"j\","
            "\"min\":2,\"max\":1}]}]}",
            "plugins[0].serves[0].min 2 is above max 1");
    refused(HEAD "\"plugins\":[{\"name\":\"p\",\"serves\":[{\"job\":\"j\","
            "\"min\":0,\"max\":4294967296}]}]}",
            "plugins[0].serves[0].max is not an integer 0-4294967295");
    refused(HEAD "\"plugins\":[],\"running\":[{\"job\":\"j\","
            "\"version\":1}]}", "running[0].count is missing");
    refused(HEAD "\"plugins\":[],\"draining\":[{\"name\":7}]}",
            "draining[0].name is not a string");
    /* unknown members are ignored; null is a member left out */
    registry_record_t r;
    char why[256] = "";
    const char *ok = HEAD "\"plugins\":[],\"future\":{\"x\":1},"
                          "\"draining\":null}";
    cr_assert_eq(registry_parse_record(ok, strlen(ok), &r, why, sizeof why),
                 0, "%s", why);
    cr_assert_eq(r.n_plugins, 0);
    cr_assert_str_eq(r.ns, "");
    cr_assert(!registry_serves(&r, "j", 1));
    registry_record_free(&r);
}

Test(registry, oversized_records_refused)
{
    /* over the byte limit, even when valid JSON */
    size_t n = REGISTRY_MAX_RECORD + 1;
    char *big = malloc(n + 1);
    cr_assert_not_null(big);
    memset(big, ' ', n);
    memcpy(big, HEAD "\"plugins\":[]}", strlen(HEAD "\"plugins\":[]}"));
    big[n] = '\0';
    refused(big, "the record is larger than 262144 bytes");
    /* a string over REGISTRY_MAX_STR */
    buf_t b = {0};
    buf_appendf(&b, "{\"v\":1,\"consumer\":\"");
    for (int i = 0; i <= REGISTRY_MAX_STR; i++)
        buf_append(&b, "x", 1);
    buf_appendf(&b, "\"}");
    buf_append(&b, "", 1);
    refused(b.data, "consumer is longer than 4096 bytes");
    /* a list over REGISTRY_MAX_ITEMS */
    buf_reset(&b);
    buf_appendf(&b, HEAD "\"plugins\":[], \"running\":[");
    for (int i = 0; i <= REGISTRY_MAX_ITEMS; i++)
        buf_appendf(&b, "%s{}", i ? "," : "");
    buf_appendf(&b, "]}");
    buf_append(&b, "", 1);
    refused(b.data, "running has more than 4096 entries");
    /* serves of all plugins together over the limit */
    buf_reset(&b);
    buf_appendf(&b, HEAD "\"plugins\":[");
    for (int p = 0; p < 2; p++) {
        buf_appendf(&b, "%s{\"name\":\"p\",\"serves\":[", p ? "," : "");
        for (int i = 0; i < REGISTRY_MAX_ITEMS / 2 + 1; i++)
            buf_appendf(&b, "%s{\"job\":\"j\",\"min\":1,\"max\":1}",
                        i ? "," : "");
        buf_appendf(&b, "]}");
    }
    buf_appendf(&b, "]}");
    cr_assert_lt(b.len, REGISTRY_MAX_RECORD);
    buf_append(&b, "", 1);
    refused(b.data, "the plugins serve more than 4096 (job, range) pairs");
    buf_free(&b);
    free(big);
}

Test(registry, outcome_round_trip)
{
    const registry_change_t ch[] = {
        {.file = "/opt/jobs/ie.so", .plugin = "invoice-email",
         .action = "reloaded", .from_build = "src-a", .to_build = "src-b",
         .generation = 2},
        {.file = "/opt/jobs/x.so", .action = "rejected",
         .reason = "undefined symbol: \"foo\"\n"},
        {.plugin = "greeter", .action = "unchanged"},
    };
    buf_t b = {0};
    cr_assert_eq(registry_build_reload_outcome(&b, "w1", "h", 42, "partial",
                                               ch, 3), 0);
    buf_append(&b, "", 1);
    cr_assert_str_eq(
        b.data,
        "{\"v\":1,\"consumer\":\"w1\",\"host\":\"h\",\"pid\":42,\"status\":"
        "\"partial\",\"changes\":[{\"file\":\"/opt/jobs/ie.so\",\"plugin\":"
        "\"invoice-email\",\"action\":\"reloaded\",\"from_build\":\"src-a\","
        "\"to_build\":\"src-b\",\"generation\":2},{\"file\":"
        "\"/opt/jobs/x.so\",\"action\":\"rejected\",\"reason\":"
        "\"undefined symbol: \\\"foo\\\"\\u000a\"},{\"plugin\":\"greeter\","
        "\"action\":\"unchanged\"}]}");
    registry_outcome_t o;
    char why[256] = "";
    cr_assert_eq(registry_parse_reload_outcome(b.data, b.len - 1, &o, why,
                                               sizeof why), 0, "%s", why);
    cr_assert_str_eq(o.consumer, "w1");
    cr_assert_str_eq(o.host, "h");
    cr_assert_eq(o.pid, 42);
    cr_assert_str_eq(o.status, "partial");
    cr_assert_eq(o.n_changes, 3);
    cr_assert_str_eq(o.changes[0].to_build, "src-b");
    cr_assert_eq(o.changes[0].generation, 2);
    cr_assert(!registry_change_failed(&o.changes[0]));
    cr_assert_null(o.changes[1].plugin);
    cr_assert_str_eq(o.changes[1].reason, "undefined symbol: \"foo\"\n");
    cr_assert(registry_change_failed(&o.changes[1]));
    cr_assert_null(o.changes[2].file);
    cr_assert_eq(o.changes[2].generation, 0);
    registry_outcome_free(&o);

    static const struct {
        const char *json, *why;
    } bad[] = {
        {"{\"v\":1,\"consumer\":\"w\",\"status\":\"fine\",\"changes\":[]}",
         "status is not reloaded, unchanged, rejected or partial"},
        {"{\"v\":1,\"consumer\":\"w\",\"status\":\"unchanged\"}",
         "changes is missing"},
        {"{\"v\":1,\"consumer\":\"w\",\"status\":\"unchanged\",\"changes\":"
         "[{\"file\":\"f\"}]}", "changes[0].action is missing"},
        {"{\"v\":1,\"status\":\"unchanged\",\"changes\":[]}",
         "consumer is missing"},
        {"nope", "the outcome is not a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(registry_parse_reload_outcome(bad[i].json,
                                                   strlen(bad[i].json), &o,
                                                   why, sizeof why), -1,
                     "accepted %s", bad[i].json);
        cr_assert_str_eq(why, bad[i].why);
    }
    buf_free(&b);
}

/* ---- against a private redis-server -------------------------------------- */

static long long server_ms(redisContext *c)
{
    int64_t now;
    char err[256];
    cr_assert_eq(fleet_server_time(c, &now, err, sizeof err), 0, "%s", err);
    return (long long)now;
}

static void cmd(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    cr_assert(r && r->type != REDIS_REPLY_ERROR, "%s: %s", fmt,
              r ? r->str : c->errstr);
    freeReplyObject(r);
}

#define REC(consumer, serves)                                               \
    "{\"v\":1,\"consumer\":\"" consumer "\",\"host\":\"h\",\"pid\":1,"      \
    "\"queue\":\"q\",\"state\":\"running\",\"plugins\":[{\"name\":\"p\","   \
    "\"serves\":[" serves "]}]}"

Test(registry, fleet_read_live_workers_only)
{
    test_redis_t srv = {0};
    redisContext *c = test_redis_start(&srv, "registry");
    queue_keys_t k;
    char err[512];
    cr_assert_eq(queue_keys_init(&k, "jobrt", "q", err, sizeof err), 0);
    long long now = server_ms(c);
    /* live, serving j v1..2 */
    cmd(c, "SET %sw-b %s", k.worker_prefix,
        REC("w-b", "{\"job\":\"j\",\"min\":1,\"max\":2}"));
    cmd(c, "ZADD %s %lld w-b", k.workers, now);
    /* live, serving j v4 */
    cmd(c, "SET %sw-a %s", k.worker_prefix,
        REC("w-a", "{\"job\":\"j\",\"min\":4,\"max\":4}"));
    cmd(c, "ZADD %s %lld w-a", k.workers, now - 4000);
    /* stale heartbeat, record still there: not live */
    cmd(c, "SET %sw-old %s", k.worker_prefix, REC("w-old", ""));
    cmd(c, "ZADD %s %lld w-old", k.workers, now - 6000);
    /* recent heartbeat, record expired: not live */
    cmd(c, "ZADD %s %lld w-gone", k.workers, now);
    /* live but unreadable: not JSON, and oversized */
    cmd(c, "SET %sw-bad nope", k.worker_prefix);
    cmd(c, "ZADD %s %lld w-bad", k.workers, now);
    char *big = malloc(REGISTRY_MAX_RECORD * 2);
    cr_assert_not_null(big);
    memset(big, 'x', REGISTRY_MAX_RECORD * 2);
    redisReply *r = redisCommand(c, "SET %sw-big %b", k.worker_prefix, big,
                                 (size_t)REGISTRY_MAX_RECORD * 2);
    freeReplyObject(r);
    free(big);
    cmd(c, "ZADD %s %lld w-big", k.workers, now);
    cmd(c, "HSET %sw-hash a b", k.worker_prefix);
    cmd(c, "ZADD %s %lld w-hash", k.workers, now);

    fleet_t f;
    cr_assert_eq(fleet_read(c, &k, now, FLEET_MAX_WORKERS, &f, err,
                            sizeof err), 0, "%s", err);
    cr_assert_eq(f.n, 5);
    cr_assert(!f.truncated);
    const char *names[] = {"w-a", "w-b", "w-bad", "w-big", "w-hash"};
    for (size_t i = 0; i < 5; i++)
        cr_assert_str_eq(f.w[i].consumer, names[i]);
    cr_assert(f.w[0].ok && f.w[1].ok);
    cr_assert_eq(f.w[0].heartbeat_ms, now - 4000);
    cr_assert(!f.w[2].ok);
    cr_assert_str_eq(f.w[2].why, "the record is not a JSON object");
    cr_assert(!f.w[3].ok);
    cr_assert_str_eq(f.w[3].why, "the record is larger than 262144 bytes");
    cr_assert(!f.w[4].ok);
    cr_assert_str_eq(f.w[4].why, "the record is not a string (WRONGTYPE "
                     "Operation against a key holding the wrong kind of "
                     "value)");
    cr_assert_eq(fleet_count_serving(&f, "j", 1), 1);
    cr_assert_eq(fleet_count_serving(&f, "j", 3), 0);
    cr_assert_eq(fleet_count_serving(&f, "j", 4), 1);
    buf_t b = {0};
    cr_assert_eq(fleet_served_versions(&f, "j", &b), 0);
    cr_assert_str_eq(b.data, "v1..2, v4");
    cr_assert_eq(fleet_served_versions(&f, "other", &b), 0);
    cr_assert_eq(b.len, 0);
    fleet_free(&f);

    /* the limit: at most max read, the cut is said */
    cr_assert_eq(fleet_read(c, &k, now, 2, &f, err, sizeof err), 0);
    cr_assert(f.truncated);
    cr_assert_leq(f.n, 2);
    fleet_free(&f);

    /* the queue index */
    cmd(c, "ZADD %s %lld q %lld old %lld r", k.queues, now, now - 9000,
        now - 1000);
    fleet_names_t qs;
    int cut;
    cr_assert_eq(fleet_live_queues(c, &k, now, &qs, &cut, err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(qs.n, 2);
    cr_assert_str_eq(qs.v[0], "q");
    cr_assert_str_eq(qs.v[1], "r");
    cr_assert(!cut);
    fleet_names_free(&qs);
    buf_free(&b);
    redisFree(c);
    test_redis_stop(&srv);
}

Test(registry, served_versions_merge)
{
    /* overlapping and adjacent ranges of several workers merge */
    registry_record_t recs[2];
    const char *j0 = REC("a", "{\"job\":\"j\",\"min\":3,\"max\":5},"
                              "{\"job\":\"j\",\"min\":1,\"max\":1}");
    const char *j1 = REC("b", "{\"job\":\"j\",\"min\":2,\"max\":2},"
                              "{\"job\":\"j\",\"min\":9,\"max\":9},"
                              "{\"job\":\"k\",\"min\":6,\"max\":6}");
    char why[256];
    cr_assert_eq(registry_parse_record(j0, strlen(j0), &recs[0], why,
                                       sizeof why), 0, "%s", why);
    cr_assert_eq(registry_parse_record(j1, strlen(j1), &recs[1], why,
                                       sizeof why), 0, "%s", why);
    fleet_worker_t w[2] = {{.consumer = "a", .ok = 1, .rec = recs[0]},
                           {.consumer = "b", .ok = 1, .rec = recs[1]}};
    fleet_t f = {w, 2, 0};
    buf_t b = {0};
    cr_assert_eq(fleet_served_versions(&f, "j", &b), 0);
    cr_assert_str_eq(b.data, "v1..5, v9");
    buf_free(&b);
    registry_record_free(&recs[0]);
    registry_record_free(&recs[1]);
}
