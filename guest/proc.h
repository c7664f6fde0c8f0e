/* SPDX-License-Identifier: GPL-2.0 */
/* Processes the guest programs start. */
#ifndef QS_PROC_H
#define QS_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Run @argv (argv[0] a path) and collect its stdout, and its stderr too if
 * @with_stderr, into @out (NUL-terminated, truncated to @size). Returns its
 * exit status, or -1 if it could not run or was killed.
 */
int run_capture(char *const argv[], bool with_stderr, char *out, size_t size);

/*
 * run_capture(), sending @sig to it @after_ms milliseconds after it
 * started (if it still runs), or, with @after_ms negative, as soon as it
 * has forked a child. Returns its exit status, or -1 if it could not run
 * or was killed by a signal.
 */
int run_capture_signal(char *const argv[], bool with_stderr, char *out, size_t size,
		       int sig, int after_ms);

/*
 * Start "sync_ipi --storm SCENARIO" pinned to CPU0: the scenario's
 * operation over and over until killed. Returns its pid, or -1.
 */
pid_t start_storm(const char *scenario);

/*
 * "quietsync: progress ..." on the console, which lab/vm.sh echoes live:
 * for steps that take minutes (one line per policy).
 */
__attribute__((format(printf, 1, 2)))
void console_progress(const char *fmt, ...);

#endif /* QS_PROC_H */
