/* SPDX-License-Identifier: GPL-2.0 */
/* quietsync-check: CPU sets, the isolated CPUs and their interrupt counts. */
#ifndef QS_CPUS_H
#define QS_CPUS_H

#include <stdbool.h>
#include <stddef.h>

/* Above any NR_CPUS Linux builds with (8192 on x86). */
#define QS_MAX_CPU_ID 65535

struct cpuset {
	int size;		/* ids 0 .. size-1 may be set */
	unsigned char *bit;	/* one byte per id */
};

/*
 * Parse a CPU list ("1-3,8"; "" and "(null)" are empty) into @s, of any
 * length; 0, or -1 with the reason in @err.
 */
int cpuset_parse(const char *list, struct cpuset *s, char *err, size_t errlen);
/*
 * The list in the file @path: 0; 1 if the file does not exist (an empty
 * set: the kernel has no such list); -1 with the reason in @err.
 */
int cpuset_read(const char *path, struct cpuset *s, char *err, size_t errlen);
bool cpuset_has(const struct cpuset *s, int cpu);
int cpuset_count(const struct cpuset *s);
/* The highest id set, or -1. */
int cpuset_last(const struct cpuset *s);
/* "1-3,8", malloc'd ("" for an empty set); NULL without memory. */
char *cpuset_format(const struct cpuset *s);
void cpuset_free(struct cpuset *s);

/*
 * The "Function call interrupts" row of /proc/interrupts (x86 CAL, arm64
 * IPI1), each column matched to its CPU by the header's "CPUn" names, so
 * that an offline CPU in the middle shifts nothing: @counts[cpu] for cpu <
 * @size, -1 for a CPU the file does not show. 0, or -1.
 */
int read_function_call_ipis(const char *path, long *counts, int size);
/*
 * Interrupts between two readings of a /proc/interrupts counter (32-bit in
 * the kernel: one wrap in a window at most); -1 if either is unknown.
 */
long irq_counter_delta(long before, long after);

#endif
