// SPDX-License-Identifier: GPL-2.0
/* quietsync-check: reading and writing the kernel's text files. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

char *read_all(const char *path)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *bigger;
	int fd = open(path, O_RDONLY | O_CLOEXEC), saved;
	ssize_t n;

	if (fd < 0 || !buf) {
		saved = errno;
		free(buf);
		if (fd >= 0)
			close(fd);
		errno = saved;
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			bigger = realloc(buf, cap * 2);
			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
	}
	saved = errno;
	close(fd);
	if (n < 0) {
		free(buf);
		errno = saved;
		return NULL;
	}
	buf[len] = '\0';
	while (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	return buf;
}

long read_long(const char *path)
{
	char buf[32], *end;
	long v;

	if (read_text(path, buf, sizeof(buf)))
		return -1;
	errno = 0;
	v = strtol(buf, &end, 10);
	return end == buf || errno ? -1 : v;
}

static int write_flags(const char *path, const char *text, int flags)
{
	int fd = open(path, O_WRONLY | flags | O_CLOEXEC);
	ssize_t n;
	int saved;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	saved = errno;
	if (close(fd) || n != (ssize_t)strlen(text)) {
		if (n < 0)
			errno = saved;
		return -1;
	}
	return 0;
}

int write_text(const char *path, const char *text)
{
	return write_flags(path, text, O_TRUNC);
}

int create_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	if (close(fd) || n != (ssize_t)strlen(text))
		return -1;
	return 0;
}

int append_text(const char *path, const char *text)
{
	return write_flags(path, text, O_APPEND);
}

bool pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

int path_printf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static bool state_on;

int state_begin(void)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "pid %d\n", (int)getpid());
	state_on = !create_text(QS_STATE_FILE, buf);
	return state_on ? 0 : -1;
}

int state_note(const char *line)
{
	return state_on ? append_text(QS_STATE_FILE, line) : -1;
}

void state_end(void)
{
	if (state_on)
		unlink(QS_STATE_FILE);
	state_on = false;
}
