// SPDX-License-Identifier: GPL-2.0
#include "proc.h"
#include "ipicount.h"

#include <poll.h>
#include <signal.h>
#include <time.h>

#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int run_capture(char *const argv[], bool with_stderr, char *out, size_t size)
{
	return run_capture_signal(argv, with_stderr, out, size, 0, 0);
}

/*
 * Whether PID has forked a child (CONFIG_PROC_CHILDREN, set in Debian's
 * kernels). quietsync-check's first fork is its load's (the hugetlb
 * load's sharer, in its set-up); a signal that came later than meant
 * makes check_verdict's set-up case fail, not pass.
 */
static bool has_child(pid_t pid)
{
	char path[64], buf[32];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	return read_file(path, buf, sizeof(buf)) > 0 && buf[0] >= '1' && buf[0] <= '9';
}

int run_capture_signal(char *const argv[], bool with_stderr, char *out, size_t size,
		       int sig, int after_ms)
{
	struct timespec start, now;
	struct pollfd pfd;
	int waited_ms, timeout;
	int fds[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fds[1], 1);
		if (with_stderr)
			dup2(fds[1], 2);
		close(fds[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	clock_gettime(CLOCK_MONOTONIC, &start);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited_ms = (int)((now.tv_sec - start.tv_sec) * 1000 +
				  (now.tv_nsec - start.tv_nsec) / 1000000);
		if (sig && (after_ms >= 0 ? waited_ms >= after_ms : has_child(pid))) {
			kill(pid, sig);
			sig = 0;
		}
		timeout = !sig ? -1 : after_ms >= 0 ? after_ms - waited_ms : 5;
		if (poll(&pfd, 1, timeout) <= 0)
			continue;
		if (len + 1 >= size)
			break;
		n = read(fds[0], out + len, size - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

void console_progress(const char *fmt, ...)
{
	FILE *console = fopen("/dev/console", "w");
	va_list ap;

	if (!console)
		return;
	fputs("quietsync: progress ", console);
	va_start(ap, fmt);
	vfprintf(console, fmt, ap);
	va_end(ap);
	fputc('\n', console);
	fclose(console);
}

pid_t start_storm(const char *scenario)
{
	cpu_set_t set;
	pid_t pid = fork();

	if (pid)
		return pid;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	execl("/bin/sync_ipi", "sync_ipi", "--storm", scenario, (char *)NULL);
	_exit(127);
}
