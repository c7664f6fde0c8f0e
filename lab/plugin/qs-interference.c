// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * qs-interference: a QEMU TCG plugin that counts, per vCPU, the kernel's
 * instructions inside windows the guest marks (guest/window_mark.h).
 *
 * A vCPU that runs a loop in user space, or sits idle, should execute no
 * kernel instruction. Each stretch of kernel execution it does start (from
 * user mode, or after it halted: HLT, WFI, or QEMU's idle callback) is an
 * interruption: counted, measured in instructions (longest, log2
 * histogram) and attributed to the most telling handler it ran (the sync's
 * IPI callback, the TLB flush, the tick, other), from address ranges the
 * lab takes from the kernel's symbols (booted with nokaslr). Calls into the
 * sync callback are counted at its first instruction. The counts are per
 * instruction executed, so they do not depend on the host's speed; whether
 * a timing-dependent event happens at all still does.
 *
 * Counting is per translation block, in a callback keyed by the vCPU
 * (QEMU 7.2 has no inline per-vCPU counters), run as the block starts: a
 * block a synchronous exception (a page fault) cuts short counts whole, and
 * its tail again when it is re-executed, so a stretch may read a few
 * instructions long. Kernel instructions and sync calls count in the window
 * open when they run; a stretch (its interruption, length, class) in the
 * window it began in, so a stretch already running when a window opens adds
 * instructions but no interruption. Each stretch's length is kept (up to
 * 200,000 per window and vCPU) for exact percentiles. Two more markers
 * bracket a window with the guest's reads of /proc/interrupts: IPI
 * entries between them and outside the window count apart, as the
 * window's edges (an IPI sent before the window and taken late, which the
 * reads count and the window does not).
 *
 * The caller's side: with the call, ret, wait, irq, iret and switch lines
 * of lab/plugin-caller.sh (from the lab kernel's vmlinux), each call of the
 * sync on a vCPU, from a block beginning at the entry of
 * tlb_remove_table_sync_one() or of a sync after a flush to one beginning
 * at a return site, is measured in kernel instructions, leaving out the
 * blocks of the spin-wait loops, whose iterations count the host's
 * scheduling, not the work, and the interrupts the vCPU took meanwhile
 * (from an interrupt or exception entry to an interrupt return's IRETQ),
 * which are not the call's. A call during which the vCPU halted, switched
 * context or ran user space (it slept: the rcu policies) is counted, not
 * measured.
 *
 * Arguments: out=FILE (the results, written at exit), syms=FILE (lines
 * "KIND START END NAME", START and END hex, KIND: sync|flush|tick, a
 * handler class; ipi, where a function-call IPI's handler enters the
 * generic code, just after it counted the IPI in /proc/interrupts (x86's
 * CAL), whose executions are counted; call, a sync function
 * (entered at START); ret, a return site of a call to one (at START);
 * wait, a spin-wait loop; irq, an interrupt or exception entry (a block
 * beginning in the range enters one); iret, an interrupt return's IRETQ;
 * switch, the context switch).
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu-plugin-7.2.h"
#include "stats.h"
#include "window_mark.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

enum cls { CLS_OTHER, CLS_TICK, CLS_FLUSH, CLS_SYNC, NCLS };
/*
 * The kinds of range: the classes, then what is not a class (a function-
 * call IPI's entry point, counted, not attributed; the caller's ranges).
 * Their names, the classes' first, are the syms file's and the output's.
 */
enum { R_IPI = NCLS, R_CALL, R_RET, R_WAIT, R_IRQ, R_IRET, R_SWITCH, NKINDS };
static const char *const kind_name[NKINDS] = { "other", "tick", "flush", "sync", "ipi", "call",
					       "ret", "wait", "irq", "iret", "switch" };

#define MAX_WINDOWS 128
#define MAX_RANGES 1024
/* Sync calls measured per window and vCPU. */
#define MAX_CALLS 65536
/* Stretches kept per window and vCPU for the percentiles (raw, not binned). */
#define MAX_SAMPLES 200000
#define S_LEN ((1u << 30) - 1)
#define S_CLS_SHIFT 30

struct counts {
	uint64_t kernel_insns, user_insns, entries, longest, sync_calls, ipi_entries;
	/* Function-call IPI entries in the window's edges (edge markers). */
	uint64_t edge_ipi_entries;
	uint64_t entries_by[NCLS], insns_by[NCLS], hist[QS_HIST];
	uint32_t *samples;	/* each stretch: its length, its class in the top bits */
	size_t nsamples, cap;
	/* The sync calls this vCPU made: ended, slept in, never ended. */
	uint64_t calls, calls_slept, calls_unended, call_wait_insns, call_irq_insns;
	uint32_t *call_insns;	/* each measured call's instructions */
	size_t ncalls, call_cap;
};

enum mode { M_NONE, M_USER, M_KERNEL, M_IDLE };

struct vcpu {
	enum mode mode;
	int window;		/* the window the current stretch started in, or -1 */
	uint64_t len;		/* instructions in the current stretch */
	enum cls cls;		/* its most telling handler so far */
	/* The sync call in progress on this vCPU, if any. */
	bool in_call;
	int call_window, call_irq;	/* ... and interrupts nested in it */
	uint64_t call_insns, call_wait, call_irq_insns;
};

struct range {
	uint64_t start, end;
	int kind;		/* an enum cls, or R_* */
};

static struct range ranges[MAX_RANGES];
static int nranges;
static int nvcpus;
static struct vcpu *vcpus;
static struct counts *counts;	/* [MAX_WINDOWS][nvcpus] */
static atomic_int open_window = -1;
/*
 * The window the edge markers bracket, or -1: from an edge-open marker
 * (the next window's number) to the edge-close marker. Inside it, an event
 * outside the window itself counts in the window's edges. Neither the
 * window's start nor its stop touches it, so that an event on another vCPU
 * counts in the window or in its edges whatever it races with.
 */
static atomic_int edge_window = -1;
static atomic_int nwindows;
static atomic_int dropped_windows;
static bool arm64;
static bool callers;	/* the syms file has the caller's ranges */
static char *out_path;

/* A block's facts, packed into its callback's user data. */
#define U_INSNS 0xffffu
#define U_KERNEL (1u << 16)
#define U_CLS_SHIFT 17
#define U_WAIT (1u << 19)	/* a spin-wait loop's block */
#define U_CALL (1u << 20)	/* begins at a sync function's entry */
#define U_RET (1u << 21)	/* begins at a return site of one */
#define U_IRQ (1u << 22)	/* begins at an interrupt or exception entry */
#define U_SWITCH (1u << 23)	/* begins at the context switch */

static struct counts *at(int window, unsigned int vcpu)
{
	return &counts[(size_t)window * (size_t)nvcpus + vcpu];
}

static void end_stretch(struct vcpu *v, unsigned int vcpu)
{
	struct counts *c;

	if (v->window < 0)
		return;
	c = at(v->window, vcpu);
	if (v->len > c->longest)
		c->longest = v->len;
	c->hist[qs_log2_bucket(v->len)]++;
	c->entries_by[v->cls]++;
	c->insns_by[v->cls] += v->len;
	qs_append(&c->samples, &c->nsamples, &c->cap, MAX_SAMPLES,
		  (uint32_t)(v->len > S_LEN ? S_LEN : v->len) | ((uint32_t)v->cls << S_CLS_SHIFT));
	v->window = -1;
}

/* A return site ran: the sync call in progress, if any, ended. */
static void end_call(struct vcpu *v, unsigned int vcpu)
{
	struct counts *c;

	if (!v->in_call)
		return;
	v->in_call = false;
	if (v->call_window < 0)
		return;
	c = at(v->call_window, vcpu);
	c->calls++;
	c->call_wait_insns += v->call_wait;
	c->call_irq_insns += v->call_irq_insns;
	qs_append(&c->call_insns, &c->ncalls, &c->call_cap, MAX_CALLS,
		  (uint32_t)(v->call_insns > S_LEN ? S_LEN : v->call_insns));
}

/*
 * The vCPU halted, switched context or ran user space in a call: the
 * caller slept. The call is counted, not measured, and closed here: what
 * the vCPU runs meanwhile is not the call's, and its return, perhaps on
 * another vCPU, finds no call open.
 */
static void sleep_call(struct vcpu *v, unsigned int vcpu)
{
	v->in_call = false;
	if (v->call_window >= 0) {
		at(v->call_window, vcpu)->calls++;
		at(v->call_window, vcpu)->calls_slept++;
	}
}

/* A sync function's entry ran. A call still open had no return site. */
static void start_call(struct vcpu *v, unsigned int vcpu, int w)
{
	if (v->in_call && v->call_window >= 0)
		at(v->call_window, vcpu)->calls_unended++;
	v->in_call = true;
	v->call_window = w;
	v->call_insns = 0;
	v->call_wait = 0;
	v->call_irq = 0;
	v->call_irq_insns = 0;
}

static void tb_exec(unsigned int vcpu, void *udata)
{
	uintptr_t u = (uintptr_t)udata;
	uint64_t n = u & U_INSNS;
	enum cls cls = (enum cls)((u >> U_CLS_SHIFT) & 3);
	int w = atomic_load_explicit(&open_window, memory_order_relaxed);
	struct vcpu *v;

	if ((int)vcpu >= nvcpus)
		return;
	v = &vcpus[vcpu];
	if (u & U_RET)
		end_call(v, vcpu);
	if (u & U_CALL)
		start_call(v, vcpu, w);
	if (v->in_call && (!(u & U_KERNEL) || (u & U_SWITCH)))
		sleep_call(v, vcpu);
	if (v->in_call) {
		if (u & U_IRQ)
			v->call_irq++;
		if (v->call_irq)
			v->call_irq_insns += n;
		else if (u & U_WAIT)
			v->call_wait += n;
		else
			v->call_insns += n;
	}
	if (u & U_KERNEL) {
		if (v->mode != M_KERNEL) {
			v->mode = M_KERNEL;
			v->window = w;
			v->len = 0;
			v->cls = CLS_OTHER;
			if (w >= 0)
				at(w, vcpu)->entries++;
		}
		v->len += n;
		if (cls > v->cls)
			v->cls = cls;
		if (w >= 0)
			at(w, vcpu)->kernel_insns += n;
		return;
	}
	if (v->mode == M_KERNEL)
		end_stretch(v, vcpu);
	v->mode = M_USER;
	if (w >= 0)
		at(w, vcpu)->user_insns += n;
}

/*
 * The vCPU is about to halt (HLT, WFI in a kernel block) or QEMU put it to
 * sleep: its stretch ends. The instruction is the reliable end: with an
 * interrupt already pending the vCPU does not sleep and QEMU calls no idle
 * callback, yet the interrupt that follows is a new wake-up.
 */
static void going_idle(unsigned int vcpu)
{
	if ((int)vcpu >= nvcpus)
		return;
	if (vcpus[vcpu].in_call)
		sleep_call(&vcpus[vcpu], vcpu);
	if (vcpus[vcpu].mode == M_KERNEL)
		end_stretch(&vcpus[vcpu], vcpu);
	vcpus[vcpu].mode = M_IDLE;
}

static void vcpu_idle(qemu_plugin_id_t id, unsigned int vcpu)
{
	(void)id;
	going_idle(vcpu);
}

static void halt_insn(unsigned int vcpu, void *udata)
{
	(void)udata;
	going_idle(vcpu);
}

/* The sync callback's first instruction ran: one call. */
static void sync_call(unsigned int vcpu, void *udata)
{
	int w = atomic_load_explicit(&open_window, memory_order_relaxed);

	(void)udata;
	if ((int)vcpu < nvcpus && w >= 0)
		at(w, vcpu)->sync_calls++;
}

/* A function-call IPI's entry point ran (what /proc/interrupts counts). */
static void ipi_entry(unsigned int vcpu, void *udata)
{
	int w = atomic_load_explicit(&open_window, memory_order_acquire);
	int e;

	(void)udata;
	if ((int)vcpu >= nvcpus)
		return;
	if (w >= 0) {
		at(w, vcpu)->ipi_entries++;
		return;
	}
	e = atomic_load_explicit(&edge_window, memory_order_acquire);
	if (e >= 0)
		at(e, vcpu)->edge_ipi_entries++;
}

/*
 * An interrupt return's IRETQ ran (not any IRETQ: sync_core() and others
 * IRET to themselves): an interrupt of the caller's sync call returned.
 */
static void irq_return(unsigned int vcpu, void *udata)
{
	(void)udata;
	if ((int)vcpu < nvcpus && vcpus[vcpu].in_call && vcpus[vcpu].call_irq)
		vcpus[vcpu].call_irq--;
}

/* Whether @insn halts the vCPU until an interrupt: x86 HLT, arm64 WFI. */
static bool halts(const struct qemu_plugin_insn *insn)
{
	size_t size = qemu_plugin_insn_size(insn);
	const uint8_t *data = qemu_plugin_insn_data(insn);

	if (arm64)
		return size == 4 && data[0] == 0x7f && data[1] == 0x20 && data[2] == 0x03 &&
		       data[3] == 0xd5;
	return size == 1 && data[0] == 0xf4;
}

/*
 * A marker ran (@udata: which, as marker() returns it). Windows are numbered
 * by their start markers; the edge markers bracket a window with the guest's
 * reads of its counters, so that what those reads saw and the window did not
 * can be told from what neither saw.
 */
static void mark(unsigned int vcpu, void *udata)
{
	int m = (int)(uintptr_t)udata, w;

	(void)vcpu;
	switch (m) {
	case QS_MARK_START:
		w = atomic_fetch_add(&nwindows, 1);
		if (w < MAX_WINDOWS) {
			atomic_store(&open_window, w);
		} else {
			atomic_fetch_add(&dropped_windows, 1);
			atomic_store(&open_window, -1);
		}
		break;
	case QS_MARK_STOP:
		atomic_store(&open_window, -1);
		break;
	case QS_MARK_EDGE_OPEN:
		w = atomic_load(&nwindows);
		atomic_store(&edge_window, w < MAX_WINDOWS ? w : -1);
		break;
	default:
		atomic_store(&edge_window, -1);
	}
}

/* Which marker @insn is: a QS_MARK_* value, or 0. */
static int marker(const struct qemu_plugin_insn *insn)
{
	static const uint8_t x86[][QS_MARK_X86_LEN] = {
		[QS_MARK_START] = QS_MARK_X86_START, [QS_MARK_STOP] = QS_MARK_X86_STOP,
		[QS_MARK_EDGE_OPEN] = QS_MARK_X86_EDGE_OPEN,
		[QS_MARK_EDGE_CLOSE] = QS_MARK_X86_EDGE_CLOSE,
	};
	static const uint32_t a64[] = {
		[QS_MARK_START] = QS_MARK_ARM64_START, [QS_MARK_STOP] = QS_MARK_ARM64_STOP,
		[QS_MARK_EDGE_OPEN] = QS_MARK_ARM64_EDGE_OPEN,
		[QS_MARK_EDGE_CLOSE] = QS_MARK_ARM64_EDGE_CLOSE,
	};
	size_t size = qemu_plugin_insn_size(insn);
	const uint8_t *data = qemu_plugin_insn_data(insn);
	uint32_t word = 0;
	int m;

	if (size != (arm64 ? 4 : QS_MARK_X86_LEN))
		return 0;
	if (arm64)
		memcpy(&word, data, 4);
	for (m = QS_MARK_START; m <= QS_MARK_EDGE_CLOSE; m++)
		if (arm64 ? word == a64[m] : !memcmp(data, x86[m], size))
			return m;
	return 0;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
	size_t n = qemu_plugin_tb_n_insns(tb), i;
	uintptr_t u = n > U_INSNS ? U_INSNS : n;
	enum cls cls = CLS_OTHER;
	int r;

	(void)id;
	if (vaddr >> 63) {
		u |= U_KERNEL;
		for (r = 0; r < nranges; r++) {
			if (vaddr < ranges[r].start || vaddr >= ranges[r].end)
				continue;
			if (ranges[r].kind == R_WAIT)
				u |= U_WAIT;
			else if (ranges[r].kind == R_CALL && vaddr == ranges[r].start)
				u |= U_CALL;
			else if (ranges[r].kind == R_RET && vaddr == ranges[r].start)
				u |= U_RET;
			else if (ranges[r].kind == R_IRQ)
				u |= U_IRQ;	/* an entry, or a block of a stub table */
			else if (ranges[r].kind == R_SWITCH && vaddr == ranges[r].start)
				u |= U_SWITCH;
			else if (ranges[r].kind < NCLS && ranges[r].kind > (int)cls)
				cls = (enum cls)ranges[r].kind;
		}
		u |= (uintptr_t)cls << U_CLS_SHIFT;
		for (i = 0; i < n; i++) {
			struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
			uint64_t at_insn = qemu_plugin_insn_vaddr(insn);

			if (halts(insn))
				qemu_plugin_register_vcpu_insn_exec_cb(insn, halt_insn,
								       QEMU_PLUGIN_CB_NO_REGS, NULL);
			for (r = 0; r < nranges; r++) {
				if (at_insn != ranges[r].start)
					continue;
				if (ranges[r].kind == CLS_SYNC)
					qemu_plugin_register_vcpu_insn_exec_cb(insn, sync_call,
									       QEMU_PLUGIN_CB_NO_REGS, NULL);
				else if (ranges[r].kind == R_IPI)
					qemu_plugin_register_vcpu_insn_exec_cb(insn, ipi_entry,
									       QEMU_PLUGIN_CB_NO_REGS, NULL);
				else if (ranges[r].kind == R_IRET)
					qemu_plugin_register_vcpu_insn_exec_cb(insn, irq_return,
									       QEMU_PLUGIN_CB_NO_REGS, NULL);
			}
		}
	} else {
		for (i = 0; i < n; i++) {
			struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
			int m = marker(insn);

			if (m)
				qemu_plugin_register_vcpu_insn_exec_cb(insn, mark, QEMU_PLUGIN_CB_NO_REGS,
								       (void *)(uintptr_t)m);
		}
	}
	qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, (void *)u);
}

/* write_stats() over the kept stretches of class @cls (NCLS: all). */
static void write_percentiles(FILE *f, const struct counts *k, int cls, uint32_t *buf)
{
	size_t n = 0, i;

	for (i = 0; i < k->nsamples; i++)
		if (cls == NCLS || (int)(k->samples[i] >> S_CLS_SHIFT) == cls)
			buf[n++] = k->samples[i] & S_LEN;
	qs_write_stats(f, cls == NCLS ? "all" : kind_name[cls], buf, n);
}

static void write_results(qemu_plugin_id_t id, void *udata)
{
	int windows = atomic_load(&nwindows), w, v, c, b;
	uint32_t *buf = malloc(MAX_SAMPLES * sizeof(*buf));
	FILE *f;

	(void)id;
	(void)udata;
	if (windows > MAX_WINDOWS)
		windows = MAX_WINDOWS;
	f = buf ? fopen(out_path, "w") : NULL;
	if (!f) {
		qemu_plugin_outs("qs-interference: cannot write the results\n");
		free(buf);
		return;
	}
	fprintf(f, "plugin=qs-interference version=3 vcpus=%d windows=%d dropped_windows=%d\n",
		nvcpus, windows, atomic_load(&dropped_windows));
	for (w = 0; w < windows; w++) {
		for (v = 0; v < nvcpus; v++) {
			const struct counts *k = at(w, (unsigned int)v);

			fprintf(f, "window=%d vcpu=%d kernel_insns=%" PRIu64 " user_insns=%" PRIu64
				" entries=%" PRIu64 " longest=%" PRIu64 " sync_calls=%" PRIu64
				" ipi_entries=%" PRIu64 " edge_ipi_entries=%" PRIu64,
				w, v, k->kernel_insns, k->user_insns, k->entries, k->longest,
				k->sync_calls, k->ipi_entries, k->edge_ipi_entries);
			for (c = 0; c < NCLS; c++)
				fprintf(f, " entries_%s=%" PRIu64 " insns_%s=%" PRIu64, kind_name[c],
					k->entries_by[c], kind_name[c], k->insns_by[c]);
			for (c = 0; c <= NCLS; c++)
				write_percentiles(f, k, c, buf);
			if (callers) {
				fprintf(f, " calls=%" PRIu64 " calls_slept=%" PRIu64
					" calls_unended=%" PRIu64 " call_wait_insns=%" PRIu64
					" call_irq_insns=%" PRIu64,
					k->calls, k->calls_slept, k->calls_unended,
					k->call_wait_insns, k->call_irq_insns);
				if (k->ncalls)
					memcpy(buf, k->call_insns, k->ncalls * sizeof(*buf));
				qs_write_stats(f, "call", buf, k->ncalls);
			}
			fprintf(f, " hist=");
			for (b = 0; b < QS_HIST; b++)
				fprintf(f, "%s%" PRIu64, b ? "," : "", k->hist[b]);
			fputc('\n', f);
		}
	}
	fclose(f);
	free(buf);
}

/*
 * The ranges: every line "KIND START END NAME" with a known kind and
 * START < END, at most MAX_RANGES, a sync range among them, and return
 * sites if and only if entries; anything else is refused (a silent gap
 * would attribute nothing, or measure calls that never end).
 */
static int load_ranges(const char *path)
{
	char line[256], kind[16], name[128];
	unsigned long long start, end;
	FILE *f = fopen(path, "r");
	int c, seen[NKINDS] = { 0 };

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%15s %llx %llx %127s", kind, &start, &end, name) != 4 ||
		    start >= end || nranges == MAX_RANGES)
			break;
		for (c = CLS_TICK; c < NKINDS && strcmp(kind, kind_name[c]); c++)
			;
		if (c == NKINDS)
			break;
		ranges[nranges].start = start;
		ranges[nranges].end = end;
		ranges[nranges].kind = c;
		nranges++;
		seen[c]++;
	}
	c = feof(f) && seen[CLS_SYNC] && !seen[R_CALL] == !seen[R_RET] ? 0 : -1;
	callers = seen[R_CALL];
	fclose(f);
	return c;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	int i;

	if (!info->system_emulation) {
		qemu_plugin_outs("qs-interference: system emulation only\n");
		return -1;
	}
	arm64 = !strcmp(info->target_name, "aarch64");
	if (!arm64 && strcmp(info->target_name, "x86_64")) {
		qemu_plugin_outs("qs-interference: x86_64 and aarch64 only\n");
		return -1;
	}
	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4)) {
			out_path = argv[i] + 4;
		} else if (!strncmp(argv[i], "syms=", 5)) {
			if (load_ranges(argv[i] + 5)) {
				qemu_plugin_outs("qs-interference: syms=: unreadable, a malformed line or no sync range\n");
				return -1;
			}
		} else {
			qemu_plugin_outs("qs-interference: unknown argument\n");
			return -1;
		}
	}
	if (!out_path) {
		qemu_plugin_outs("qs-interference: out=FILE is required\n");
		return -1;
	}
	nvcpus = info->system.max_vcpus;
	vcpus = calloc((size_t)nvcpus, sizeof(*vcpus));
	counts = calloc((size_t)MAX_WINDOWS * (size_t)nvcpus, sizeof(*counts));
	if (!vcpus || !counts)
		return -1;
	for (i = 0; i < nvcpus; i++)
		vcpus[i].window = -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_vcpu_idle_cb(id, vcpu_idle);
	qemu_plugin_register_atexit_cb(id, write_results, NULL);
	return 0;
}
