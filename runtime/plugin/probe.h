/*
 * probe.h - a trial load of a plugin file in a short-lived child process,
 * before the loading process ever dlopen()s it.
 *
 * A plugin is third-party code: an ELF constructor that segfaults or calls
 * exit(), or an init() that never returns, would kill or wedge the process
 * that loads it. The probe runs `EXE __probe ... FILE` (the hidden command
 * of cmd_probe.c, in a fresh jobrt process) with a time limit: the child
 * checks and dlopen()s FILE as the loader does, calls init() and then
 * fini(), and writes its progress to a pipe. Only a child that wrote the
 * final OK token and exited 0 passes. A crash, an exit or a hang is one
 * line naming what happened and at which step (the constructors at
 * dlopen, init() or fini()); an ordinary loader refusal in the child (a
 * bad handler table, init() returning non-zero) comes back as the
 * loader's own reason, word for word.
 *
 * Threads: no global state, no signal handlers; it may run on any thread
 * (the loop at start, a libuv pool thread during a reload), several at
 * once. The child is started with posix_spawn (no fork of a threaded
 * process), with default signal dispositions and an empty mask, stdin
 * from /dev/null, stdout onto stderr (a plugin cannot write into a
 * command's output), and no descriptor but the verdict pipe; it dies with
 * the thread that started it (PR_SET_PDEATHSIG). Waiting polls the pipe
 * and waitpid(WNOHANG) on its pid only: SIGCHLD is not used.
 */
#ifndef JOBRT_PROBE_H
#define JOBRT_PROBE_H

#include <stddef.h>
#include <stdint.h>

/* The descriptor the child writes its verdict to. */
#define PROBE_VERDICT_FD 3

/* The child's tokens, one a line, in this order: started (the command
 * line was understood), dlopen() returned (the constructors ran), the
 * live descriptor passed its checks, init() returned 0, fini() returned.
 * "ERR <reason>" instead says the loader's checks refused the file (or
 * init() failed); nothing follows it. */
#define PROBE_TOKEN_START "START"
#define PROBE_TOKEN_DLOPEN "DLOPEN"
#define PROBE_TOKEN_DESC "DESC"
#define PROBE_TOKEN_INIT "INIT"
#define PROBE_TOKEN_OK "OK"
#define PROBE_TOKEN_ERR "ERR "

/* The most the parent reads from the pipe; the rest is ignored. */
#define PROBE_MAX_VERDICT 2048

/* The default time limit of the one-shot commands (--probe-timeout). */
#define PROBE_DEFAULT_TIMEOUT_MS 10000

/* Runs `exe __probe` on path (a private copy the loader wrote) and waits
 * at most timeout_ms (> 0) for it; at the deadline the child is killed
 * with SIGKILL and reaped. Returns 0 if the trial load succeeded, or -1
 * with one line in why: "rejected by the probe: ..." (what happened), or
 * the child's loader refusal as it stands (it names path where it names
 * the file). A probe that cannot be started rejects the file too. */
int probe_plugin(const char *exe, const char *path, int64_t timeout_ms,
                 char *why, size_t why_len);

/* The running executable (readlink /proc/self/exe; "/proc/self/exe"
 * itself if the file was replaced since, which still runs this binary),
 * what the commands pass to loader_set_probe(). Returns 0, or -1 with err
 * set. */
int probe_self_exe(char *out, size_t out_len, char *err, size_t err_len);

#endif
