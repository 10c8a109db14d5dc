/*
 * options.h - a small table-driven option parser shared by every subcommand.
 * Each option may also come from a JOBRT_* environment variable; the
 * command line wins. An option may be given once on the command line (a
 * repeat is refused, never silently "the last one wins"). --help text is
 * generated from the same table, so it cannot drift from what is parsed.
 */
#ifndef JOBRT_CLI_H
#define JOBRT_CLI_H

#include <stdint.h>
#include <stdio.h>

/* The most options one command may have. */
#define CLI_MAX_OPTS 64

/* What a flag takes as --flag=VALUE or from its environment variable. */
#define CLI_FLAG_VALUES "1, 0, true, false, yes or no"

typedef enum {
    OPT_FLAG,     /* int: 1, or the value (CLI_FLAG_VALUES) */
    OPT_STRING,   /* const char * */
    OPT_INT,      /* long, within [min, max] */
    OPT_DURATION, /* int64_t ms: 250ms, 30s, 5m, 2h, 7d */
    OPT_SIZE,     /* long bytes: 512, 64k, 1m, 2g */
    OPT_LIST      /* cli_list_t: may be repeated, up to max values; its
                     environment variable holds them comma-separated */
} opt_kind_t;

/* The values of an OPT_LIST option, in the order given. */
#define CLI_LIST_MAX 16
typedef struct {
    const char *v[CLI_LIST_MAX];
    int n;
    char env[1024]; /* the environment's copy, split at commas */
} cli_list_t;

typedef struct {
    const char *name;   /* long name without "--" */
    char short_name;    /* 0 if none */
    const char *env;    /* JOBRT_* variable, or NULL */
    opt_kind_t kind;
    void *target;
    const char *metavar;
    const char *help;   /* includes the default */
    long min, max;
} cli_opt_t;

typedef struct {
    const char *name;     /* "run" */
    const char *usage;    /* "jobrt run [options]" */
    const char *summary;  /* one paragraph */
    const cli_opt_t *opts;
    int n_opts;
} cli_cmd_t;

/* Parses argv (argv[0] is the subcommand), then applies the environment
 * for the options argv does not give, then argv's values. Positional
 * arguments are collected in order into pos (up to max_pos). Returns 0; 1
 * if --help was printed (it wins over any bad value); 2 after printing one
 * error line to stderr (an unknown or repeated option, a missing or bad
 * value, too many positionals). */
int cli_parse(const cli_cmd_t *cmd, int argc, char **argv, char **pos,
              int max_pos, int *n_pos);

void cli_print_help(const cli_cmd_t *cmd, FILE *out);

/* ms as the largest unit that divides it exactly: "2h", "90s", "1500ms". */
void cli_format_duration(int64_t ms, char *out, size_t out_len);

/* One error line "jobrt <cmd>: ..." on stderr; returns 2. */
int cli_usage_error(const cli_cmd_t *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Applies a --log-level value: error, warn, info or debug. Returns 0,
 * or 2 after one usage line naming where the value came from (the
 * option or the environment variable JOBRT_LOG_LEVEL). */
int cli_set_log_level(const cli_cmd_t *cmd, const char *value);

#endif
