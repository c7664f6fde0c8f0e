// SPDX-License-Identifier: GPL-2.0
/*
 * quietsync-check --load: make the running kernel sync.
 *
 * Both loads run in children that die with the tool (PR_SET_PDEATHSIG),
 * whatever kills it. The hugetlb load needs 512 huge pages; it raises
 * nr_overcommit_hugepages by that many for the run (written first to
 * QS_STATE_FILE, so that the next run or --cleanup puts it back after a
 * SIGKILL), so that its pages are surplus pages where the kernel allows:
 * whatever it takes from the free pool, an application of the machine can
 * get as surplus meanwhile. The kernel takes free pages no mapping has
 * reserved (free_hugepages - resv_hugepages) before it allocates surplus
 * ones; reserved pages it never hands out. It never changes nr_hugepages.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "load.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21U << 26)
#endif

#define THP_SYSFS "/sys/kernel/mm/transparent_hugepage/enabled"
/*
 * A file of 1 GiB (one PUD) in 2 MiB pages, mapped at a PUD-aligned
 * address, so that the processes mapping it share one PMD table
 * (want_pmd_share()).
 */
#define SHARED_SIZE (1UL << 30)
#define HUGE_PAGE_SIZE (2UL << 20)
#define PAGES_NEEDED ((long)(SHARED_SIZE / HUGE_PAGE_SIZE))

const char *const load_text[] = {
	[LOAD_NONE] = "",
	[LOAD_COLLAPSE] = "collapse",
	[LOAD_HUGETLB_UNSHARE] = "hugetlb-unshare",
};

void load_init(struct load *l)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->overcommit_saved = -1;
	l->cpu = -1;
	l->died = -1;
}

enum load_kind load_choose(void)
{
	if (!access(THP_SYSFS, F_OK))
		return LOAD_COLLAPSE;
	if (!access(QS_HUGEPAGES_2M, F_OK))
		return LOAD_HUGETLB_UNSHARE;
	return LOAD_NONE;
}

/* In a child: die with the tool, on its CPU. */
static void child_setup(pid_t parent, int cpu)
{
	cpu_set_t set;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* Unpinned, the load could run on an isolated CPU: not at all. */
	if (cpu < 0 || cpu >= CPU_SETSIZE || sched_setaffinity(0, sizeof(set), &set))
		_exit(LOAD_EXIT_UNPINNED);
}

/* Collapse 2 MiB of anonymous memory over and over. */
static void collapse_forever(long *ops)
{
	const size_t pmd = HUGE_PAGE_SIZE;
	char *map, *al;
	size_t off;

	for (;;) {
		map = mmap(NULL, 2 * pmd, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (map == MAP_FAILED)
			_exit(1);
		al = (char *)(((uintptr_t)map + pmd - 1) & ~(pmd - 1));
		/* Small pages first, whatever the THP setting, then collapse. */
		madvise(al, pmd, MADV_NOHUGEPAGE);
		for (off = 0; off < pmd; off += 4096)
			al[off] = 1;
		madvise(al, pmd, MADV_HUGEPAGE);
		if (madvise(al, pmd, MADV_COLLAPSE) == 0)
			__atomic_add_fetch(ops, 1, __ATOMIC_RELAXED);
		munmap(map, 2 * pmd);
	}
}

/* Map the file's 1 GiB at a PUD-aligned address inside a 2 GiB reservation. */
static char *map_shared_pud(int fd, char **reservation)
{
	char *res, *aligned;

	res = mmap(NULL, 2 * SHARED_SIZE, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return NULL;
	aligned = (char *)(((uintptr_t)res + SHARED_SIZE - 1) & ~(SHARED_SIZE - 1));
	if (mmap(aligned, SHARED_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 fd, 0) == MAP_FAILED) {
		munmap(res, 2 * SHARED_SIZE);
		return NULL;
	}
	*reservation = res;
	return aligned;
}

/* The sharer: fault in every huge page (the PMD table the load shares). */
static void share_forever(int fd, int ready_fd)
{
	char *map, *res, ok = 1;
	size_t off;

	map = map_shared_pud(fd, &res);
	if (!map)
		ok = 0;
	for (off = 0; ok && off < SHARED_SIZE; off += HUGE_PAGE_SIZE)
		map[off] = 1;
	if (write(ready_fd, &ok, 1) != 1 || !ok)
		_exit(1);
	for (;;)
		pause();
}

/* Map (the first fault shares the table), unmap (the unshare syncs). */
static void unshare_forever(int fd, long *ops)
{
	char *map, *res;

	for (;;) {
		map = map_shared_pud(fd, &res);
		if (!map)
			_exit(1);
		*(volatile char *)map;
		munmap(res, 2 * SHARED_SIZE);
		__atomic_add_fetch(ops, 1, __ATOMIC_RELAXED);
	}
}

void load_put_back_overcommit(long value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", value);
	write_text(QS_HUGEPAGES_2M "/nr_overcommit_hugepages", buf);
}

long load_overcommit_for(long over, long surplus)
{
	if (over < 0 || surplus < 0)
		return -2;
	return over >= surplus + PAGES_NEEDED ? -1 : surplus + PAGES_NEEDED;
}

/* Room for the load's pages as surplus, whatever the free pool holds. */
static int make_pages_available(struct load *l, char *why, size_t len)
{
	long over = read_long(QS_HUGEPAGES_2M "/nr_overcommit_hugepages");
	long surplus = read_long(QS_HUGEPAGES_2M "/surplus_hugepages");
	long want = load_overcommit_for(over, surplus);
	char buf[64];

	if (want == -2) {
		snprintf(why, len, "cannot read the pool of 2 MiB huge pages in %s", QS_HUGEPAGES_2M);
		return -1;
	}
	if (want == -1)
		return 0;
	snprintf(buf, sizeof(buf), "nr_overcommit_hugepages %ld\n", over);
	if (state_note(buf)) {
		snprintf(why, len, "cannot write %s (%s): not changing the huge-page pool", QS_STATE_FILE, strerror(errno));
		return -1;
	}
	l->overcommit_saved = over;
	snprintf(buf, sizeof(buf), "%ld", want);
	if (write_text(QS_HUGEPAGES_2M "/nr_overcommit_hugepages", buf)) {
		snprintf(why, len, "cannot raise nr_overcommit_hugepages (%s)", strerror(errno));
		return -1;
	}
	return 0;
}

static int prepare_unshare(struct load *l, volatile sig_atomic_t *interrupted, char *why, size_t len)
{
	pid_t parent = getpid();
	int pipefd[2], n;
	char ok = 0;

	if (make_pages_available(l, why, len))
		return -1;
	l->fd = memfd_create("quietsync-check", MFD_HUGETLB | MFD_HUGE_2MB | MFD_CLOEXEC);
	if (l->fd < 0 || ftruncate(l->fd, SHARED_SIZE)) {
		snprintf(why, len, "cannot create a 1 GiB hugetlb file (%s)", strerror(errno));
		return -1;
	}
	if (pipe2(pipefd, O_CLOEXEC)) {
		snprintf(why, len, "pipe: %s", strerror(errno));
		return -1;
	}
	l->sharer = fork();
	if (l->sharer == 0) {
		child_setup(parent, l->cpu);
		close(pipefd[0]);
		share_forever(l->fd, pipefd[1]);
	}
	close(pipefd[1]);
	do
		n = (int)read(pipefd[0], &ok, 1);
	while (n < 0 && errno == EINTR && !*interrupted);
	close(pipefd[0]);
	if (*interrupted) {
		snprintf(why, len, "interrupted while the hugetlb load was being set up");
		return -1;
	}
	if (l->sharer < 0 || n != 1 || !ok) {
		snprintf(why, len, "the hugetlb load could not get 512 huge pages of 2 MiB: %ld free, %ld of them reserved, and the kernel could not allocate the rest as surplus pages (free memory, or reserve them at boot: hugepages=)",
			 read_long(QS_HUGEPAGES_2M "/free_hugepages"),
			 read_long(QS_HUGEPAGES_2M "/resv_hugepages"));
		return -1;
	}
	return 0;
}

int load_prepare(struct load *l, volatile sig_atomic_t *interrupted, char *why, size_t len)
{
	l->ops = mmap(NULL, sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (l->ops == MAP_FAILED) {
		l->ops = NULL;
		snprintf(why, len, "mmap: %s", strerror(errno));
		return -1;
	}
	l->kind = load_choose();
	switch (l->kind) {
	case LOAD_COLLAPSE:
		return 0;
	case LOAD_HUGETLB_UNSHARE:
		return prepare_unshare(l, interrupted, why, len);
	default:
		snprintf(why, len, "--load needs THP or 2 MiB hugetlb pages, and this kernel has neither");
		return -1;
	}
}

int load_start(struct load *l, char *why, size_t len)
{
	pid_t parent = getpid();

	l->pid = fork();
	if (l->pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		return -1;
	}
	if (l->pid == 0) {
		child_setup(parent, l->cpu);
		if (l->kind == LOAD_COLLAPSE)
			collapse_forever(l->ops);
		unshare_forever(l->fd, l->ops);
	}
	return 0;
}

static void stop_process(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}

void load_end(struct load *l)
{
	int status;

	/* A load that ended by itself (it could not be pinned, or map). */
	if (l->pid > 0 && waitpid(l->pid, &status, WNOHANG) == l->pid) {
		l->died = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		l->pid = 0;
	}
	stop_process(&l->pid);
	stop_process(&l->sharer);
	if (l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
	}
	/* The surplus pages went back with the file; now the limit. */
	if (l->overcommit_saved >= 0) {
		load_put_back_overcommit(l->overcommit_saved);
		l->overcommit_saved = -1;
	}
}
