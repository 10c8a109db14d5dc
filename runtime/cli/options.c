/*
 * options.c - option parsing and help output; see options.h.
 */
#include "cli/options.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

int cli_usage_error(const cli_cmd_t *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "jobrt %s: %s (see 'jobrt %s --help')\n", cmd->name, msg,
            cmd->name);
    return 2;
}

static int parse_size(const char *s, long *out)
{
    size_t n = strlen(s), digits = 0;
    while (digits < n && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    uint64_t v;
    if (util_parse_u64(s, digits, (uint64_t)1 << 40, &v) != 0)
        return -1;
    const char *u = s + digits;
    uint64_t mult = 1;
    if (*u == 'k' || *u == 'K')
        mult = 1024;
    else if (*u == 'm' || *u == 'M')
        mult = 1024 * 1024;
    else if (*u == 'g' || *u == 'G')
        mult = 1024 * 1024 * 1024;
    else if (*u != '\0')
        return -1;
    if (*u && u[1] != '\0' && strcmp(u + 1, "iB") != 0 && strcmp(u + 1, "B"))
        return -1;
    if (v > ((uint64_t)1 << 50) / mult)
        return -1;
    *out = (long)(v * mult);
    return 0;
}

/* Applies one value; `from` names its source for the error line. */
static int set_value(const cli_cmd_t *cmd, const cli_opt_t *o,
                     const char *value, const char *from)
{
    switch (o->kind) {
    case OPT_FLAG: {
        static const char *const on[] = {"1", "true", "yes"};
        static const char *const off[] = {"0", "false", "no"};
        for (int i = 0; i < 3; i++) {
            if (value == NULL || strcmp(value, on[i]) == 0) {
                *(int *)o->target = 1;
                return 0;
            }
            if (strcmp(value, off[i]) == 0) {
                *(int *)o->target = 0;
                return 0;
            }
        }
        return cli_usage_error(cmd, "%s: expected " CLI_FLAG_VALUES
                               ", got '%s'", from, value);
    }
    case OPT_STRING:
        if (*value == '\0')
            return cli_usage_error(cmd, "%s: must not be empty", from);
        *(const char **)o->target = value;
        return 0;
    case OPT_INT: {
        int neg = value[0] == '-';
        uint64_t v;
        if (util_parse_u64(value + neg, strlen(value + neg), (uint64_t)1 << 62,
                           &v) != 0 ||
            (neg ? -(long)v : (long)v) < o->min ||
            (neg ? -(long)v : (long)v) > o->max)
            return cli_usage_error(cmd, "%s: expected an integer %ld-%ld, "
                                   "got '%s'", from, o->min, o->max, value);
        *(long *)o->target = neg ? -(long)v : (long)v;
        return 0;
    }
    case OPT_DURATION: {
        int64_t ms;
        if (util_parse_duration_ms(value, &ms) != 0 || ms < o->min ||
            ms > o->max) {
            char lo[32], hi[32];
            cli_format_duration(o->min, lo, sizeof lo);
            cli_format_duration(o->max, hi, sizeof hi);
            return cli_usage_error(cmd, "%s: expected a duration like 500ms, "
                                   "30s, 5m, 2h or 7d, %s to %s, got '%s'",
                                   from, lo, hi, value);
        }
        *(int64_t *)o->target = ms;
        return 0;
    }
    case OPT_SIZE: {
        long bytes;
        if (parse_size(value, &bytes) != 0 || bytes < o->min ||
            bytes > o->max)
            return cli_usage_error(cmd, "%s: expected a size like 512 (bytes), "
                                   "64k, 1m or 2g within %ld-%ld bytes, got "
                                   "'%s'",
                                   from, o->min, o->max, value);
        *(long *)o->target = bytes;
        return 0;
    }
    case OPT_LIST: {
        cli_list_t *l = o->target;
        if (*value == '\0')
            return cli_usage_error(cmd, "%s: must not be empty", from);
        if (l->n >= o->max || l->n >= CLI_LIST_MAX)
            return cli_usage_error(cmd, "%s: at most %ld values", from,
                                   o->max < CLI_LIST_MAX ? o->max
                                                         : (long)CLI_LIST_MAX);
        l->v[l->n++] = value;
        return 0;
    }
    }
    return 2;
}

/* An OPT_LIST's environment variable: comma-separated values. */
static int set_list_env(const cli_cmd_t *cmd, const cli_opt_t *o,
                        const char *value, const char *from)
{
    cli_list_t *l = o->target;
    if (strlen(value) >= sizeof l->env)
        return cli_usage_error(cmd, "%s: longer than %zu bytes", from,
                               sizeof l->env - 1);
    snprintf(l->env, sizeof l->env, "%s", value);
    char *save = NULL;
    for (char *t = strtok_r(l->env, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        int rc = set_value(cmd, o, t, from);
        if (rc)
            return rc;
    }
    return 0;
}

void cli_format_duration(int64_t ms, char *out, size_t out_len)
{
    util_format_duration(ms, out, out_len);
}

static int find_long(const cli_cmd_t *cmd, const char *name, size_t len)
{
    for (int i = 0; i < cmd->n_opts; i++)
        if (strlen(cmd->opts[i].name) == len &&
            strncmp(cmd->opts[i].name, name, len) == 0)
            return i;
    return -1;
}

static int find_short(const cli_cmd_t *cmd, char c)
{
    for (int i = 0; i < cmd->n_opts; i++)
        if (cmd->opts[i].short_name == c)
            return i;
    return -1;
}

/* How an option was written on the command line, for error lines. */
static void spelled(const cli_opt_t *o, int is_short, char *out, size_t n)
{
    if (is_short)
        snprintf(out, n, "-%c", o->short_name);
    else
        snprintf(out, n, "--%s", o->name);
}

/* One option given on the command line. */
typedef struct {
    int opt, is_short;
    const char *value; /* NULL: a flag without =VALUE */
} given_t;

/* Options one command line may give, counting each value of a repeated
 * OPT_LIST. */
#define CLI_MAX_GIVEN (CLI_MAX_OPTS + 4 * CLI_LIST_MAX)

int cli_parse(const cli_cmd_t *cmd, int argc, char **argv, char **pos,
              int max_pos, int *n_pos)
{
    given_t given[CLI_MAX_GIVEN];
    int n_given = 0, at_opt[CLI_MAX_OPTS];
    *n_pos = 0;
    if (cmd->n_opts > CLI_MAX_OPTS)
        return cli_usage_error(cmd, "internal error: more than %d options",
                               CLI_MAX_OPTS);
    for (int i = 0; i < cmd->n_opts; i++)
        at_opt[i] = -1;

    /* The command line first: --help wins over any bad value, from the
     * command line or the environment. */
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
            if (*n_pos >= max_pos)
                return cli_usage_error(cmd, "unexpected argument '%s'", a);
            pos[(*n_pos)++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_print_help(cmd, stdout);
            return 1;
        }
        given_t g = {-1, a[1] != '-', NULL};
        if (!g.is_short) {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            g.opt = find_long(cmd, a + 2, len);
            if (g.opt < 0)
                return cli_usage_error(cmd, "unknown option '%.*s'",
                                       (int)(len + 2), a);
            if (eq)
                g.value = eq + 1;
        } else {
            g.opt = a[2] == '\0' ? find_short(cmd, a[1]) : -1;
            if (g.opt < 0)
                return cli_usage_error(cmd, "unknown option '%s'", a);
        }
        const cli_opt_t *o = &cmd->opts[g.opt];
        char from[160];
        spelled(o, g.is_short, from, sizeof from);
        if (o->kind != OPT_FLAG && g.value == NULL) {
            if (i + 1 >= argc)
                return cli_usage_error(cmd, "%s needs a value", from);
            g.value = argv[++i];
        }
        if (n_given == CLI_MAX_GIVEN)
            return cli_usage_error(cmd, "more than %d options",
                                   CLI_MAX_GIVEN);
        if (at_opt[g.opt] >= 0 && o->kind == OPT_LIST) {
            given[n_given++] = g; /* one more value */
            continue;
        }
        if (at_opt[g.opt] >= 0) {
            char first[160];
            spelled(o, given[at_opt[g.opt]].is_short, first, sizeof first);
            /* The values are not repeated: one may hold a password. */
            return cli_usage_error(cmd, "%s given twice (first as %s); give "
                                   "it once", from, first);
        }
        at_opt[g.opt] = n_given;
        given[n_given++] = g;
    }

    /* The environment, for what the command line does not give. */
    for (int i = 0; i < cmd->n_opts; i++) {
        const cli_opt_t *o = &cmd->opts[i];
        const char *v = o->env ? getenv(o->env) : NULL;
        if (v && *v && at_opt[i] < 0) {
            char from[128];
            snprintf(from, sizeof from, "environment %s", o->env);
            int rc = o->kind == OPT_LIST ? set_list_env(cmd, o, v, from)
                                         : set_value(cmd, o, v, from);
            if (rc)
                return rc;
        }
    }
    for (int i = 0; i < n_given; i++) {
        const cli_opt_t *o = &cmd->opts[given[i].opt];
        char from[160];
        spelled(o, given[i].is_short, from, sizeof from);
        int rc = set_value(cmd, o, given[i].value, from);
        if (rc)
            return rc;
    }
    return 0;
}

void cli_print_help(const cli_cmd_t *cmd, FILE *out)
{
    fprintf(out, "Usage: %s\n\n%s\n", cmd->usage, cmd->summary);
    fprintf(out, "\nOptions:\n");
    for (int i = 0; i < cmd->n_opts; i++) {
        const cli_opt_t *o = &cmd->opts[i];
        char left[96];
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name,
                     o->name, o->metavar ? " " : "",
                     o->metavar ? o->metavar : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name,
                     o->metavar ? " " : "", o->metavar ? o->metavar : "");
        fprintf(out, "  %-30s %s", left, o->help);
        if (o->env && o->kind == OPT_FLAG)
            fprintf(out, " [env %s: %s]", o->env, CLI_FLAG_VALUES);
        else if (o->env && o->kind == OPT_LIST)
            fprintf(out, " [env %s: comma-separated]", o->env);
        else if (o->env)
            fprintf(out, " [env %s]", o->env);
        fprintf(out, "\n");
    }
    fprintf(out, "  %-30s %s\n", "-h, --help", "Show this help and exit.");
}

int cli_set_log_level(const cli_cmd_t *cmd, const char *value)
{
    if (log_set_level_name(value) == 0)
        return 0;
    /* cli_parse keeps the environment's own string for a value from it */
    return cli_usage_error(cmd, "%s: expected error, warn, info or debug, "
                           "got '%s'",
                           value == getenv("JOBRT_LOG_LEVEL")
                               ? "environment JOBRT_LOG_LEVEL"
                               : "--log-level",
                           value);
}
