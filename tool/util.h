/* SPDX-License-Identifier: GPL-2.0 */
/* quietsync-check: reading and writing the kernel's text files. */
#ifndef QS_UTIL_H
#define QS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The first line of @path into @buf, without its newline; -1 on error. */
int read_text(const char *path, char *buf, size_t size);
/* All of @path, trailing newline dropped, malloc'd; NULL on error (errno). */
char *read_all(const char *path);
/* The number @path holds, or -1. */
long read_long(const char *path);
/* Write @text to @path, truncating it (kernel files: one write). */
int write_text(const char *path, const char *text);
/* Create or replace the file @path (mode 0600) holding @text. */
int create_text(const char *path, const char *text);
/* Append @text to @path (kprobe_events, set_event: never truncate). */
int append_text(const char *path, const char *text);
bool pid_alive(pid_t pid);

/*
 * The run's state file: what it changed that a SIGKILL would leave behind
 * (tracefs mounted, nr_overcommit_hugepages raised), one "key value" line
 * each, for the next run or --cleanup to put back. state_begin() makes it
 * with this run's pid; state_end() removes it after a clean end.
 */
#define QS_STATE_FILE "/run/quietsync-check.state"
/* Two runs do not count at once. */
#define QS_LOCK_FILE "/run/quietsync-check.lock"
int state_begin(void);
int state_note(const char *line);
void state_end(void);
/* snprintf that reports truncation as -1. */
int path_printf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
