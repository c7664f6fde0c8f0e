// SPDX-License-Identifier: GPL-2.0
/*
 * The race stress's CPU0 rounds (race_stress.c has the walkers and the
 * run): anon (collapse, split, unmap), hugetlb (share, unshare), storm
 * (tables through tlb_remove_table_one()) and zap (a collapse's deposited
 * table freed at once).
 */
#include "race.h"
#include "ipicount.h"
#include "ktap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* One anon round: collapse, split, unmap. Returns 0 or -errno. */
/* Map 2 MiB of small pages at @where, stamp them, aim the walkers at them. */
static char *map_stamped(char *where, _Atomic(char *) *range)
{
	unsigned long off;
	char *map;

	map = mmap(where, PMD_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (map == MAP_FAILED)
		return NULL;
	for (off = 0; off < PMD_SIZE; off += PAGE_4K)
		*(unsigned long *)(map + off) = stamp(off);
	atomic_store(range, map);
	return map;
}

/*
 * MADV_COLLAPSE, tried up to 20 times: EAGAIN means a walker held a pin at
 * that moment (the kernel's own check). Returns 0 or -errno.
 */
static int collapse(char *map)
{
	int ret = 0, tries;

	for (tries = 0; tries < 20; tries++) {
		ret = madvise(map, PMD_SIZE, MADV_COLLAPSE) ? -errno : 0;
		if (ret != -EAGAIN)
			break;
	}
	return ret;
}

int anon_round(char *where)
{
	char *map, *r;
	int ret;

	map = map_stamped(where, &anon_range);
	if (!map)
		return -errno;
	ret = collapse(map);
	/* Split the huge PMD again: one page read-only, then back. */
	r = map + PMD_SIZE / 2;
	if (mprotect(r, PAGE_4K, PROT_READ) || mprotect(r, PAGE_4K, PROT_READ | PROT_WRITE))
		ret = ret ? ret : -errno;
	atomic_store(&anon_range, NULL);
	munmap(map, PMD_SIZE);
	return ret;
}

/*
 * The second process: map the file, fault in every huge page (stamping
 * them the first time), keep it a while, unmap; again until killed.
 */
static void run_sharer(int ready_fd)
{
	bool first = true;
	char ok = 1;

	for (;;) {
		void *res;
		char *map = hugetlb_map_shared(hugetlb_fd, &res);
		unsigned long off;

		if (!map)
			_exit(1);
		for (off = 0; off < PUD_SIZE; off += PMD_SIZE) {
			if (first)
				*(volatile unsigned long *)(map + off) = stamp(off);
			else
				(void)*(volatile unsigned long *)(map + off);
		}
		if (first && write(ready_fd, &ok, 1) != 1)
			_exit(1);
		first = false;
		usleep(20000);
		hugetlb_unmap(res);
	}
}

/* fail_page_alloc's knobs: what the storm sets, and the kernel's defaults. */
static const char *const fail_knobs[][3] = {
	{ "task-filter", "Y", "N" },
	{ "min-order", "0", "1" },
	{ "verbose", "0", "2" },
	{ "interval", "1", "1" },
	{ "times", "-1", "1" },
	{ "probability", "100", "0" },
};

int make_it_fail_fd = -1;

/* Fail every page allocation of a task that asks (make-it-fail), or undo. */
int fail_page_alloc_arm(bool arm)
{
	char path[128];
	unsigned long i;
	int ret = 0;

	for (i = 0; i < sizeof(fail_knobs) / sizeof(fail_knobs[0]); i++) {
		snprintf(path, sizeof(path), FAIL_PAGE_ALLOC "%s", fail_knobs[i][0]);
		if (write_file(path, fail_knobs[i][arm ? 1 : 2]))
			ret = -1;
	}
	return ret;
}

void fail_page_alloc_disarm(void)
{
	if (make_it_fail_fd >= 0 && pwrite(make_it_fail_fd, "0", 1, 0) != 1)
		ktap_diag("cannot clear make-it-fail");
	fail_page_alloc_arm(false);
}

/*
 * One storm round: map, touch, unmap with this thread's page allocations
 * failing, so that every PTE table goes through tlb_remove_table_one().
 * The freed tables stay free a while (no new table is allocated in the
 * next millisecond), so a walker reading one reads poisoned memory.
 */
int storm_round(char *where)
{
	unsigned long table, off;
	char *map;
	int ret = 0;

	map = mmap(where, STORM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (map == MAP_FAILED)
		return -errno;
	for (table = 0; table < STORM_SIZE; table += PMD_SIZE)
		for (off = 0; off < STORM_TOUCHED; off += PAGE_4K)
			*(unsigned long *)(map + table + off) = stamp(table + off);
	atomic_store(&storm_range, map);
	if (pwrite(make_it_fail_fd, "1", 1, 0) != 1)
		ret = -errno;
	munmap(map, STORM_SIZE);
	if (pwrite(make_it_fail_fd, "0", 1, 0) != 1 && !ret)
		ret = -errno;
	atomic_store(&storm_range, NULL);
	usleep(1000);
	return ret;
}

/*
 * One zap round: a collapse, then the huge PMD zapped at once, which frees
 * the PTE table the collapse deposited (zap_deposited_table()). Returns 1
 * if the collapse happened, 0 if a walker's pin made it give up, or -errno.
 */
int zap_round(char *where)
{
	char *map;
	int ret;

	map = map_stamped(where, &zap_range);
	if (!map)
		return -errno;
	ret = collapse(map);
	if (ret == 0)
		ret = 1;
	else if (ret == -EAGAIN)
		ret = 0;
	if (madvise(map, PMD_SIZE, MADV_DONTNEED) && ret >= 0)
		ret = -errno;
	atomic_store(&zap_range, NULL);
	munmap(map, PMD_SIZE);
	usleep(1000);
	return ret;
}

pid_t start_sharer(void)
{
	char ok = 0;
	int pipefd[2];
	pid_t pid;

	hugetlb_fd = hugetlb_file_create("quietsync-stress");
	if (hugetlb_fd < 0 || pipe(pipefd))
		return -1;
	pid = fork();
	if (pid == 0)
		run_sharer(pipefd[1]);
	close(pipefd[1]);
	if (pid < 0 || read(pipefd[0], &ok, 1) != 1 || !ok) {
		close(pipefd[0]);
		return -1;
	}
	close(pipefd[0]);
	return pid;
}

/* One hugetlb round: share the table, touch, unshare by unmapping. */
int hugetlb_round(void)
{
	void *res;
	char *map = hugetlb_map_shared(hugetlb_fd, &res);

	if (!map)
		return -errno;
	(void)*(volatile unsigned long *)map;
	atomic_store(&huge_range, map);
	usleep(2000);
	atomic_store(&huge_range, NULL);
	hugetlb_unmap(res);
	return 0;
}
