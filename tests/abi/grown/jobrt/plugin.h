/*
 * tests/abi/grown/jobrt/plugin.h - NOT a published header: include/jobrt/
 * plugin.h with one field appended to each struct and JOBRT_ABI_MINOR 3,
 * the shape a real ABI 1.3 would have. tests/abi builds the runtime's
 * descriptor checks against it to show that plugins built against 1.0,
 * 1.1 and 1.2 still load into a runtime whose structs have grown, with the
 * new fields reading 0. Keep it the current header plus these "added in
 * 1.3" fields.
 *
 * jobrt/plugin.h - the whole binary contract between the jobrt runtime and a
 * job-handler plugin (.so). ABI 1.x.
 *
 * A plugin exports exactly one data symbol, `jobrt_plugin`, of type
 * jobrt_plugin_desc. The plugin calls the runtime only through the
 * jobrt_host_api table handed to init() and to every handler: plugins link
 * against no runtime symbol.
 *
 * What runs when. Before any plugin code runs, the runtime checks the file
 * (owner and mode, ELF structure) and the descriptor's integers as they
 * are in the file (magic, struct_size, abi_major/abi_minor, handler_size,
 * n_handlers). Then dlopen() runs the plugin's ELF constructors (keep them
 * trivial: they run before anything else is validated); then the runtime
 * checks the rest of the descriptor (names, handler table, conflicts with
 * other plugins) and calls init(). Handlers run only once init() (if any)
 * returned 0. At unload, fini() runs, then dlclose() runs the ELF
 * destructors.
 *
 * Rules that keep 1.x plugins loading on later 1.y runtimes (growth at the
 * end, for the descriptor, the handler entry and the host API table alike):
 *   - JOBRT_ABI_MAJOR changes on any removal, reorder or change of meaning;
 *     the runtime refuses a plugin whose major differs.
 *   - JOBRT_ABI_MINOR grows on every addition, and an addition is always a
 *     new field after the last one of the struct. Fields never move, and
 *     the layout of every published minor is frozen in the runtime. The
 *     runtime refuses a plugin built against a newer minor than its own.
 *   - Every struct that crosses the boundary starts with, or is described by,
 *     its size as compiled. From a plugin's descriptor and handler entries
 *     the runtime reads only the fields the plugin's own abi_minor defines
 *     (never padding after them, which a later minor may turn into a
 *     field); fields the plugin's minor lacks read as 0. A plugin reads a
 *     host API member added after 1.0 only if JOBRT_HOST_HAS says so.
 *   - No struct has spare fields for later use: jobrt_plugin_desc.reserved
 *     is part of the frozen 1.0 layout, must be NULL and will never be
 *     given a meaning.
 *
 * Only fixed-width integers, const char pointers with lengths, opaque
 * handles and function pointers appear here. No libuv, hiredis or cJSON type.
 */
#ifndef JOBRT_PLUGIN_H
#define JOBRT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define JOBRT_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define JOBRT_PRINTF(fmt, args)
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define JOBRT_ABI_MAJOR 1
#define JOBRT_ABI_MINOR 3
#define JOBRT_PLUGIN_MAGIC 0x4a525450u /* "JRTP" */
#define JOBRT_PLUGIN_SYMBOL "jobrt_plugin"

/* The SDK's version, semantic: major.minor are the ABI this header
 * declares, the patch grows with changes to the header that leave the ABI
 * as it is (comments, the C++ form). `find_package(jobrt 1.2)` and
 * `pkg-config --atleast-version=1.2 jobrt-plugin` check it. */
#define JOBRT_SDK_VERSION "1.3.0"

/* What a handler returns. */
typedef enum jobrt_outcome {
    JOBRT_OK = 0,    /* done; the result (if any) is recorded */
    JOBRT_RETRY = 1, /* transient failure: run again, up to max attempts */
    JOBRT_FAIL = 2   /* permanent failure: dead-letter now, with the error */
} jobrt_outcome;

/* Log levels for jobrt_host_api.log / job_log. */
typedef enum jobrt_log_level {
    JOBRT_LOG_ERROR = 0,
    JOBRT_LOG_WARN = 1,
    JOBRT_LOG_INFO = 2,
    JOBRT_LOG_DEBUG = 3
} jobrt_log_level;

/* Opaque handles owned by the runtime. */
typedef struct jobrt_job jobrt_job;       /* one job, valid during run() */
typedef struct jobrt_plugin jobrt_plugin_ref; /* one loaded plugin */

/*
 * The host API table. Grows only at the end: new members go after the last
 * one and bump JOBRT_ABI_MINOR. Check JOBRT_HOST_HAS(host, member) before
 * using a member added after 1.0. Every function is safe to call from the
 * thread that runs the handler; strings returned are borrowed until run()
 * returns.
 */
typedef struct jobrt_host_api {
    uint32_t struct_size; /* sizeof as compiled into the runtime */
    uint16_t abi_major;
    uint16_t abi_minor;

    /* Plugin-level log line, tagged with the plugin name. */
    void (*log)(jobrt_plugin_ref *plugin, int level, const char *fmt, ...)
        JOBRT_PRINTF(3, 4);
    /* Job-level log line, tagged with plugin name, job name and job id. */
    void (*job_log)(const jobrt_job *job, int level, const char *fmt, ...)
        JOBRT_PRINTF(3, 4);

    /* Job accessors. */
    const char *(*job_id)(const jobrt_job *job);
    const char *(*job_name)(const jobrt_job *job);
    uint32_t (*job_version)(const jobrt_job *job);  /* payload schema version */
    uint32_t (*job_attempt)(const jobrt_job *job);  /* 1 on the first run */
    const char *(*job_correlation_id)(const jobrt_job *job); /* NULL if none */
    /* The payload's JSON text, exactly as enqueued and already validated
     * as JSON. It is NUL-terminated for convenience; len may be NULL. */
    const char *(*job_payload)(const jobrt_job *job, size_t *len);
    /* Wall-clock deadline in ms since the Unix epoch (0 = none). */
    int64_t (*job_deadline_ms)(const jobrt_job *job);
    /* Non-zero once the job should stop: deadline passed or shutdown. */
    int (*job_cancel_requested)(const jobrt_job *job);

    /* Record the job's result as JSON text (copied). Returns 0, or -1 if the
     * text is not valid JSON (nothing is recorded then). */
    int (*job_set_result)(jobrt_job *job, const char *json, size_t len);
    /* Record the error that goes with JOBRT_RETRY / JOBRT_FAIL (copied,
     * truncated to 1 KiB). */
    void (*job_set_error)(jobrt_job *job, const char *fmt, ...)
        JOBRT_PRINTF(2, 3);

    /* ---- added in ABI 1.1 ---- */
    /* With JOBRT_RETRY: run again no sooner than ms from now (e.g. a
     * provider's rate-limit window), instead of the backoff policy. */
    void (*job_retry_after)(jobrt_job *job, uint32_t ms);
    /* How many times this entry has been delivered to a worker: 1 normally,
     * more after a worker died or hung holding it. */
    uint32_t (*job_delivery_count)(const jobrt_job *job);
    /* The idempotency key the job was enqueued with, or NULL. Use it to
     * make side effects idempotent (at-least-once delivery). */
    const char *(*job_idempotency_key)(const jobrt_job *job);

    /* ---- added in ABI 1.2 ---- */
    /* How far the job has come, for `jobrt status`: percent in 0..100 and
     * an optional one-line message (NULL: none; copied, cut at 200 bytes,
     * never inside a UTF-8 character). Cheap enough to call often: only
     * the latest report counts, and the runtime publishes it at most every
     * 250 ms. Returns 0, or -1 for a percent outside 0..100 (nothing is
     * recorded then). */
    int (*job_progress)(jobrt_job *job, int percent, const char *message);

    /* ---- added in ABI 1.3 (tests only) ---- */
    uint32_t (*added_in_1_3)(const jobrt_job *job);

    /* APPEND ONLY below this line. */
} jobrt_host_api;

#define JOBRT_HOST_HAS(host, member)                                        \
    (offsetof(jobrt_host_api, member) + sizeof((host)->member) <=           \
         (host)->struct_size &&                                             \
     (host)->member != NULL)

/* A handler. Called concurrently from several worker threads: it must be
 * thread-safe. `ctx` is what init() stored. */
typedef int (*jobrt_handler_fn)(const jobrt_host_api *host, void *ctx,
                                jobrt_job *job);

/* One handler: a job name and the inclusive range of payload schema
 * versions it serves. */
typedef struct jobrt_handler_desc {
    const char *job_name;
    uint32_t schema_min;
    uint32_t schema_max;
    jobrt_handler_fn run;
    uint32_t timeout_ms;   /* 0 = runtime default (--job-timeout) */
    uint32_t max_attempts; /* 0 = runtime default (--max-attempts) */
    uint32_t flags;        /* reserved: must be 0 */
    /* A 1.0 entry ends here (36 bytes of fields, then padding the runtime
     * never reads). */
    /* ---- added in ABI 1.1 (0 = runtime default) ---- */
    uint32_t backoff_base_ms; /* first retry waits up to this long */
    uint32_t backoff_cap_ms;  /* no retry waits longer than this */

    /* ---- added in ABI 1.3 (tests only): it sits where a 1.1 or 1.2 entry
     * has padding ---- */
    uint32_t added_in_1_3;
} jobrt_handler_desc;

/* The plugin descriptor, exported as `const jobrt_plugin_desc jobrt_plugin`.
 * Use JOBRT_PLUGIN_DESC_INIT to fill the header fields. */
typedef struct jobrt_plugin_desc {
    uint32_t magic;        /* JOBRT_PLUGIN_MAGIC */
    uint32_t struct_size;  /* sizeof(jobrt_plugin_desc) as compiled */
    uint16_t abi_major;    /* JOBRT_ABI_MAJOR the plugin was built against */
    uint16_t abi_minor;    /* JOBRT_ABI_MINOR the plugin was built against */
    uint32_t handler_size; /* sizeof(jobrt_handler_desc) as compiled */

    const char *name;     /* unique plugin name, e.g. "invoice-email" */
    const char *version;  /* the plugin's own version, e.g. "2.1.0" */
    const char *build_id; /* anything that tells builds apart (git sha) */

    /* Optional. Return 0 to go live; non-zero rejects the plugin. May store
     * a context pointer that is passed to handlers and fini(). An init()
     * that fails must undo its own partial work before it returns: the
     * runtime does not call fini() after a failed init(), it dlclose()s
     * the plugin (its ELF destructors run). */
    int (*init)(const jobrt_host_api *host, jobrt_plugin_ref *self,
                void **ctx);
    /* Optional. Called once after a successful init(), when the plugin is
     * unloaded and no job of it is running; frees what init() made. After
     * it only the plugin's ELF destructors run, at dlclose().
     *
     * A worker unloads a plugin at every hot reload that replaces it, not
     * only at exit, and then checks that its code left the address space.
     * So: join every thread the plugin started and cancel its timers here
     * (code still running after dlclose() crashes the worker); do not use
     * pthread_key_create() destructors or atexit() (glibc runs them after
     * the code is gone, or at dlclose()); and build C++ with
     * -fno-gnu-unique and without thread_local objects that have
     * destructors (they keep the library mapped: the runtime then serves
     * it but refuses to reload it; docs/rollout.md). init() and fini()
     * may run on a runtime thread other than the one that runs handlers. */
    void (*fini)(void *ctx);

    uint32_t n_handlers;
    const jobrt_handler_desc *handlers;

    void *reserved[4]; /* frozen 1.0 layout: must be NULL, never used */

    /* ---- added in ABI 1.3 (tests only) ---- */
    uint64_t added_in_1_3;
} jobrt_plugin_desc;

#define JOBRT_PLUGIN_DESC_INIT                                              \
    .magic = JOBRT_PLUGIN_MAGIC, .struct_size = sizeof(jobrt_plugin_desc),  \
    .abi_major = JOBRT_ABI_MAJOR, .abi_minor = JOBRT_ABI_MINOR,             \
    .handler_size = sizeof(jobrt_handler_desc)

/* For `.build_id = JOBRT_BUILD_ID`. jobrt_add_plugin() (sdk/
 * jobrt-plugin.cmake) defines it for each plugin as "src-<12 hex>", a hash
 * of the plugin's sources and compile definitions, so that logs, records
 * and `jobrt workers` tell builds apart; a definition of your own (-D, e.g.
 * a git sha) wins. Built any other way, a plugin says "unstamped". */
#ifndef JOBRT_BUILD_ID
#define JOBRT_BUILD_ID "unstamped"
#endif

#if defined(__GNUC__)
#define JOBRT_EXPORT __attribute__((visibility("default")))
#else
#define JOBRT_EXPORT
#endif

/* Declare the descriptor:  JOBRT_PLUGIN { JOBRT_PLUGIN_DESC_INIT, ... };
 * In C++ it is `extern "C"` and constexpr (see below) and takes the C++
 * form:  JOBRT_PLUGIN jobrt::plugin(...);  */
#ifndef __cplusplus
#define JOBRT_PLUGIN JOBRT_EXPORT const jobrt_plugin_desc jobrt_plugin =
#else
#define JOBRT_PLUGIN                                                        \
    extern "C" JOBRT_EXPORT constexpr const jobrt_plugin_desc jobrt_plugin =
#endif

#ifdef __cplusplus
}
#endif

#if defined(__cplusplus) && __cplusplus >= 201402L
/*
 * C++ plugins (C++17; the helpers need C++14). A namespace-scope const
 * has internal linkage in C++, and designated initializers are C++20, so
 * C++ declares its tables with these constexpr helpers, and JOBRT_PLUGIN
 * gives the descriptor C language linkage, external linkage and default
 * visibility:
 *
 *   static constexpr jobrt_handler_desc handlers[] = {
 *       jobrt::handler("greet", 1, 1, greet).timeout_ms(10000),
 *   };
 *   JOBRT_PLUGIN jobrt::plugin("greeter", "1.0.0", JOBRT_BUILD_ID, handlers)
 *                    .init(greeter_init).fini(greeter_fini);
 *
 * jobrt::plugin fills magic, struct_size, the ABI version and handler_size
 * exactly as JOBRT_PLUGIN_DESC_INIT does, and counts n_handlers from the
 * array. Every field not set reads 0 (runtime default), as in C. The
 * descriptor is constexpr: the runtime reads its integers from the file
 * before dlopen(), so it must be constant-initialized data, and a
 * non-constant initializer is a compile error, never a dynamic
 * initializer. Setters return a modified copy, so they chain.
 *
 * (C++20 compiles the C form too, in declaration order, but g++ -Wextra
 * warns about each field it leaves out: use the helpers.) Handlers are
 * called from C:
 * no exception may leave one (nor init() or fini()); catch and return
 * JOBRT_RETRY or JOBRT_FAIL. The reload rules in fini()'s comment hold
 * for C++ too: no thread_local objects with destructors, and build with
 * -fno-gnu-unique. libstdc++ gives the std:: templates a plugin
 * instantiates default visibility, so link with a version script that
 * exports jobrt_plugin alone ({ global: jobrt_plugin; local: *; };).
 * jobrt_add_plugin() does both for C++ sources; with pkg-config, add
 * `--variable=cxxlibs` (the SDK's jobrt-plugin.map) to the link and, with
 * g++ (clang++ has no such flag), `--variable=cxxflags` to the compile. examples/cpp-report is a whole C++
 * plugin.
 */
namespace jobrt {

/* One handler entry; converts to jobrt_handler_desc. */
class handler {
public:
    constexpr handler(const char *job_name, uint32_t schema_min,
                      uint32_t schema_max, jobrt_handler_fn run) noexcept
        : desc_()
    {
        desc_.job_name = job_name;
        desc_.schema_min = schema_min;
        desc_.schema_max = schema_max;
        desc_.run = run;
    }
    /* 0 = runtime default (--job-timeout) */
    constexpr handler timeout_ms(uint32_t ms) const noexcept
    {
        handler h = *this;
        h.desc_.timeout_ms = ms;
        return h;
    }
    /* 0 = runtime default (--max-attempts) */
    constexpr handler max_attempts(uint32_t n) const noexcept
    {
        handler h = *this;
        h.desc_.max_attempts = n;
        return h;
    }
    /* ABI 1.1: retry backoff base and cap (0 = runtime default) */
    constexpr handler backoff(uint32_t base_ms, uint32_t cap_ms) const noexcept
    {
        handler h = *this;
        h.desc_.backoff_base_ms = base_ms;
        h.desc_.backoff_cap_ms = cap_ms;
        return h;
    }
    constexpr operator jobrt_handler_desc() const noexcept { return desc_; }

private:
    jobrt_handler_desc desc_;
};

/* The plugin descriptor; converts to jobrt_plugin_desc. */
class plugin {
public:
    using init_fn = decltype(jobrt_plugin_desc::init);
    using fini_fn = decltype(jobrt_plugin_desc::fini);

    /* (handlers_: a template's parameter must not shadow the caller's
     * `handlers` under -Wshadow) */
    template <size_t N>
    constexpr plugin(const char *name, const char *version,
                     const char *build_id,
                     const jobrt_handler_desc (&handlers_)[N]) noexcept
        : desc_()
    {
        static_assert(N <= 0xffffffffu, "too many handlers");
        desc_.magic = JOBRT_PLUGIN_MAGIC;
        desc_.struct_size = sizeof(jobrt_plugin_desc);
        desc_.abi_major = JOBRT_ABI_MAJOR;
        desc_.abi_minor = JOBRT_ABI_MINOR;
        desc_.handler_size = sizeof(jobrt_handler_desc);
        desc_.name = name;
        desc_.version = version;
        desc_.build_id = build_id;
        desc_.n_handlers = static_cast<uint32_t>(N);
        desc_.handlers = handlers_;
    }
    constexpr plugin init(init_fn fn) const noexcept
    {
        plugin p = *this;
        p.desc_.init = fn;
        return p;
    }
    constexpr plugin fini(fini_fn fn) const noexcept
    {
        plugin p = *this;
        p.desc_.fini = fn;
        return p;
    }
    constexpr operator jobrt_plugin_desc() const noexcept { return desc_; }

private:
    jobrt_plugin_desc desc_;
};

} /* namespace jobrt */
#endif /* C++14 or later */
#endif /* JOBRT_PLUGIN_H */
