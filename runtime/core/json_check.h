/*
 * json_check.h - validates untrusted JSON text without allocating: one value
 * per RFC 8259, strict UTF-8, bounded nesting. Used on every payload before a
 * handler sees it, and on results handlers set.
 */
#ifndef JOBRT_JSON_CHECK_H
#define JOBRT_JSON_CHECK_H

#include <stddef.h>

#define JSON_CHECK_DEFAULT_DEPTH 64

/* Returns 0 if s[0..len) is exactly one JSON value (surrounding whitespace
 * allowed). Otherwise -1, and *why (if not NULL) points at a static phrase
 * such as "invalid UTF-8" or "nesting too deep". */
int json_check(const char *s, size_t len, int max_depth, const char **why);

#endif

#ifndef JOBRT_JSON_SPAN_DECL
#define JOBRT_JSON_SPAN_DECL
/* In an already-validated JSON object, finds the top-level member `key`
 * (matched byte for byte against the raw key text) and returns its value's
 * raw text span. Returns 0, or -1 if s is not an object or has no such
 * member. Lets callers keep a value's exact bytes (no re-printing). */
int json_member_span(const char *s, size_t len, const char *key,
                     const char **val, size_t *val_len);
#endif
