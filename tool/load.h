/* SPDX-License-Identifier: GPL-2.0 */
/*
 * quietsync-check --load: make the running kernel sync, on a housekeeping
 * CPU, with what it has: MADV_COLLAPSE where there is THP, else (PREEMPT_RT)
 * the unsharing of a hugetlb PMD table between two processes.
 */
#ifndef QS_LOAD_H
#define QS_LOAD_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#define QS_HUGEPAGES_2M "/sys/kernel/mm/hugepages/hugepages-2048kB"

enum load_kind { LOAD_NONE, LOAD_COLLAPSE, LOAD_HUGETLB_UNSHARE };

/* A load process's exit code when it cannot run pinned to its CPU. */
#define LOAD_EXIT_UNPINNED 3

extern const char *const load_text[];

struct load {
	enum load_kind kind;
	int cpu;
	pid_t pid, sharer;
	int fd;			/* the hugetlb file, or -1 */
	long *ops;		/* operations done, shared with the child */
	long overcommit_saved;	/* nr_overcommit_hugepages to put back, or -1 */
	int died;		/* the load's exit status if it ended by itself, else -1 */
};

void load_init(struct load *l);
enum load_kind load_choose(void);
/*
 * Set up the load (for hugetlb: the pages, the file, the sharing process).
 * 0, or -1 with the reason in @why; @interrupted set by a signal meanwhile
 * ends it early.
 */
int load_prepare(struct load *l, volatile sig_atomic_t *interrupted, char *why, size_t len);
int load_start(struct load *l, char *why, size_t len);
/* Stop the load's processes; put back what load_prepare() changed. */
void load_end(struct load *l);
/*
 * nr_overcommit_hugepages for the hugetlb load, from today's value @over
 * and surplus_hugepages @surplus: room for all its pages as surplus ones
 * (-1: already there, leave it; -2: unreadable).
 */
long load_overcommit_for(long over, long surplus);
/* Put back nr_overcommit_hugepages as a killed run found it. */
void load_put_back_overcommit(long value);

#endif
