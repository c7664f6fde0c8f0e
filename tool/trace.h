/* SPDX-License-Identifier: GPL-2.0 */
/*
 * quietsync-check: counting the sync IPIs in a trace instance of its own
 * (instances/quietsync-check-PID, as rtla does), never in the top-level
 * one that other tools read.
 */
#ifndef QS_TRACE_H
#define QS_TRACE_H

#include <stdbool.h>
#include <stddef.h>

#define QS_TRACEFS "/sys/kernel/tracing"
#define QS_CALLBACK "tlb_remove_table_smp_sync"
#define QS_INSTANCE_PREFIX "quietsync-check-"

struct trace {
	char instance[96];	/* the instance's directory */
	const char *method;	/* "csd event" or "kprobe event" */
	bool mounted;		/* tracefs mounted by this run */
	bool created_instance;
	bool created_kprobe;	/* QS_KPROBE_GROUP/sync_ipi made by this run */
};

/*
 * Mount tracefs if it is not, make the instance with the smallest buffer,
 * enable the csd event filtered on the callback (or, before 6.4, a kprobe
 * event on the callback's address) in it and start it. 0, or -1 with the
 * reason in @why.
 */
int trace_start(struct trace *t, char *why, size_t len);
/* Stop the instance's recording (its counts stay). */
void trace_stop(struct trace *t);
/*
 * Sync IPIs counted on @cpu: the events the instance's buffer of that CPU
 * took (entries + overrun + read, from per_cpu/cpuN/stats), exact however
 * small the buffer. -1 with the reason in @why.
 */
long trace_count(struct trace *t, int cpu, char *why, size_t len);
/*
 * Remove the instance and the kprobe event made; unmount what was mounted.
 * -1 if something stayed (the state file must then stay too).
 */
int trace_end(struct trace *t);
/*
 * Remove what a run killed before its end left: instances of dead
 * quietsync-check processes and this tool's kprobe event. The number of
 * instances removed.
 */
int trace_remove_stale(void);
/*
 * The kernel's (not a module's) callback in /proc/kallsyms: 0 with its
 * address in @addr (0 where kptr_restrict hides it); -1 unreadable (the
 * reason in @why); -2 absent.
 */
int callback_address(unsigned long long *addr, char *why, size_t len);

#endif
