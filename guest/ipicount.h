/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counting IPIs inside the guest, the two independent ways design.md names:
 * the csd:csd_function_entry trace event filtered on one callback (exact,
 * per target CPU) and the "CAL" row of /proc/interrupts (all function-call
 * IPIs per CPU). Kernels before 6.4 have no csd events: there the sync
 * IPIs are counted with the kprobe event quietsync/sync_ipi on the
 * callback, which lab/vm.sh creates and enables from the kernel command
 * line (kprobe_event=), so that no kernel text is patched at run time.
 */
#ifndef QS_IPICOUNT_H
#define QS_IPICOUNT_H

#include <stdbool.h>

#define QS_MAX_CPUS 64
#define QS_TRACEFS "/sys/kernel/tracing"
#define QS_SYNC_CALLBACK "tlb_remove_table_smp_sync"
/* The kprobe event on QS_SYNC_CALLBACK where csd events are missing. */
#define QS_SYNC_KPROBE_EVENT "quietsync/sync_ipi"
/*
 * Its name in set_event, which lists the enabled events. 6.1 creates no
 * events/ directory for a kprobe event made by kprobe_event= at boot,
 * although it registers and enables it: set_event is what shows that.
 */
#define QS_SYNC_KPROBE_SET_EVENT "quietsync:sync_ipi"

/* Whether set_event lists @event (group:name) as enabled. */
bool event_enabled(const char *event);

/*
 * Enable csd:csd_function_entry filtered on @callback and clear the buffers.
 * Enabling an event patches kernel text (which IPIs every CPU): call this
 * before the measured window, never inside it. The previous settings are
 * restored by ipitrace_restore(), also registered with atexit().
 * Returns 0, or -1 with a diagnostic printed.
 */
int ipitrace_start(const char *callback);

/* Stop recording (tracing_on = 0), keeping what was recorded. */
void ipitrace_stop(void);

/* Drop what was recorded and record again (the event stays enabled). */
int ipitrace_restart(void);

/*
 * Events recorded on @cpu (the CPU that ran the callback). Returns -1 if the
 * per-CPU buffer lost events (the count would be wrong) or cannot be read.
 */
long ipitrace_count(int cpu);

void ipitrace_restore(void);

/*
 * Fill @counts[0..ncpus) with the "Function call interrupts" row of
 * /proc/interrupts (x86: CAL, arm64: IPI1). Returns the number of CPU
 * columns read, or -1.
 */
int read_cal_counts(long *counts, int ncpus);

/* Small file helpers shared by the guest programs. */
int write_file(const char *path, const char *text);
int read_file(const char *path, char *buf, unsigned long size);
/* A one-line file's value without its newline; "" if it cannot be read. */
void read_value(const char *path, char *out, unsigned long size);

/*
 * The selected word of a "one [two] three" file (THP's enabled, the series'
 * policy) into @out. Returns 0, or -1 (and "" in @out) if there is none.
 */
int read_selected(const char *path, char *out, unsigned long size);

/* /dev/kmsg opened at its end (records printed from now on), or -1. */
int kmsg_open_end(void);

/*
 * Read the records printed since the last read of @fd (kmsg_open_end())
 * and copy the first line of the message of the first one that contains
 * @needle into @found. Returns whether one did; the records after it are
 * left for the next call.
 */
bool kmsg_find(int fd, const char *needle, char *found, unsigned long size);

#endif /* QS_IPICOUNT_H */
