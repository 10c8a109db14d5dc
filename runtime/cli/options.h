/*
 * options.h - a small table-driven option parser shared by every subcommand.
 * Each option may also come from a JOBRT_* environment variable; the
 * command line wins. --help text is generated from the same table, so it
 * cannot drift from what is parsed.
 */
#ifndef JOBRT_CLI_H
#define JOBRT_CLI_H

#include <stdint.h>
#include <stdio.h>

typedef enum {
    OPT_FLAG,     /* int, set to 1 */
    OPT_STRING,   /* const char * */
    OPT_INT,      /* long, within [min, max] */
    OPT_DURATION, /* int64_t ms: 250ms, 30s, 5m, 2h, 7d */
    OPT_SIZE      /* long bytes: 512, 64k, 1m */
} opt_kind_t;

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

/* Parses env then argv (argv[0] is the subcommand). Positional arguments
 * are collected in order into pos (up to max_pos). Returns 0; 1 if --help
 * was printed; 2 after printing one error line to stderr. */
int cli_parse(const cli_cmd_t *cmd, int argc, char **argv, char **pos,
              int max_pos, int *n_pos);

void cli_print_help(const cli_cmd_t *cmd, FILE *out);

/* One error line "jobrt <cmd>: ..." on stderr; returns 2. */
int cli_usage_error(const cli_cmd_t *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
