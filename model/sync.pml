/*
 * The page-table sync protocol of tlb_remove_table_sync_one(), with explicit
 * store buffers. One freeing CPU (0) and one walking CPU (1).
 *
 * Compile-time switches (spin -D...), set by model/run.sh per variant:
 *   POLICY   P_BROADCAST, P_QUIET, P_SEED (the 2023 patch as posted: never
 *            IPIs) or P_KSTATE (state bits == KERNEL, precedence fixed)
 *   MB       1: smp_mb() between the PMD store and the state read
 *   WEAK     0: TSO (x86): stores wait in a FIFO; every locked RMW is a
 *               full fence.
 *            1: weaker (LKMM, arm64): buffered stores drain in any order;
 *               only value-returning atomics (atomic_add_return()) fence,
 *               non-returning ones (raw_atomic_add()) are buffered stores.
 *   CT_ACTIVE 1: nohz_full CPU: user entry/exit are ordered EQS transitions
 *            0: context tracking not active: user entry/exit change the
 *               state bits with non-returning atomics; RCU keeps watching
 *   NMI      1: the walker also takes NMIs from user mode and walks there
 *   FLUSH    what the caller's TLB flush did between its PMD store and the
 *            sync: 0 none (the sync alone), 1 x86's native flush (IPI to
 *            CPU 1, which runs the mm, and wait), 2 a paravirt flush that
 *            skipped CPU 1 (a preempted vCPU: no IPI, no wait)
 *   WAITS    what the arch says of that flush (tlb_flush_covers_cpu(),
 *            tlb_table_flush_implies_ipi_broadcast()): 1 "it waited for
 *            CPU 1", 0 "it did not" (arm64, paravirt)
 *
 * Policies P_FLUSH_IPI (Lance Yang's: no sync at all when the arch says
 * its flush waits, else the broadcast) and P_QUIET_FLUSH (this series:
 * skip CPU 1 when the arch says the flush waited for it, else quiet).
 *
 * Property: no walker dereferences a freed table (assertion).
 */

#define P_BROADCAST	0
#define P_QUIET		1
#define P_SEED		2
#define P_KSTATE	3
#define P_FLUSH_IPI	4
#define P_QUIET_FLUSH	5

#ifndef FLUSH
#define FLUSH	0
#endif
#ifndef WAITS
#define WAITS	0
#endif

/* Memory locations */
#define PMD	0
#define STATE	1
#define NLOC	2

/* ct->state: state bits plus the watching bit */
#define KERNEL	0
#define IDLE	1
#define USER	2
#define WATCHING 4

#define BUF	3	/* store buffer entries per CPU */

int mem[NLOC];
byte buf_loc[2 * BUF];	/* CPU c's entries at [c * BUF, c * BUF + blen[c]) */
int buf_val[2 * BUF];
byte blen[2];

bool freed;		/* ghost: the table has been freed */
bool ipi_pending;	/* the freer's IPI, not yet taken by CPU 1 */

/* A load by CPU c: its own latest buffered store to loc, else memory. */
inline load(c, loc, v) {
	atomic {
		v = mem[loc];
		i = 0;
		do
		:: i < blen[c] ->
			if
			:: buf_loc[c * BUF + i] == loc -> v = buf_val[c * BUF + i]
			:: else -> skip
			fi;
			i++
		:: else -> break
		od
	}
}

/* A plain store by CPU c: into its buffer. */
inline store(c, loc, v) {
	atomic {
		blen[c] < BUF;
		buf_loc[c * BUF + blen[c]] = loc;
		buf_val[c * BUF + blen[c]] = v;
		blen[c]++
	}
}

/* Write buffer entry k of CPU c to memory and remove it. */
inline drain_entry(c, k) {
	mem[buf_loc[c * BUF + k]] = buf_val[c * BUF + k];
	j = k;
	do
	:: j + 1 < blen[c] ->
		buf_loc[c * BUF + j] = buf_loc[c * BUF + j + 1];
		buf_val[c * BUF + j] = buf_val[c * BUF + j + 1];
		j++
	:: else -> break
	od;
	blen[c]--
}

/* A full fence: every buffered store of CPU c reaches memory, in order. */
inline fence(c) {
	atomic {
		do
		:: blen[c] > 0 -> drain_entry(c, 0)
		:: else -> break
		od
	}
}

/* Value-returning atomic RMW (atomic_add_return()): fully ordered. */
inline rmw_ordered(c, loc, v) {
	atomic {
		fence(c);
		mem[loc] = v
	}
}

/*
 * Non-returning atomic RMW (raw_atomic_add()): a locked instruction on x86
 * (a full fence there), a buffered store under the weaker model. CPU 1 is
 * the only writer of its state word, so the RMW's read is its own view.
 */
inline rmw_unordered(c, loc, v) {
#if WEAK
	store(c, loc, v)
#else
	rmw_ordered(c, loc, v)
#endif
}

/* The store buffers drain in the background, at any time. */
proctype drainer(byte c)
{
	byte j, k;
end:	do
	:: atomic {
		blen[c] > 0 ->
#if WEAK
		/* any entry, unless an older one is to the same location */
		k = 0;
		do
		:: k + 1 < blen[c] -> k++
		:: true -> break
		od;
		j = 0;
		do
		:: j < k && buf_loc[c * BUF + j] == buf_loc[c * BUF + k] -> k = j; break
		:: j < k && buf_loc[c * BUF + j] != buf_loc[c * BUF + k] -> j++
		:: j >= k -> break
		od;
#else
		k = 0;
#endif
		drain_entry(c, k)
	   }
	od
}

proctype freer()
{
	byte i, j;
	int st;
	bool send;

	store(0, PMD, 0);		/* pmdp_collapse_flush() cleared it */
#if FLUSH == 1
	/* native_flush_tlb_multi(): inc_mm_tlb_gen() fences, IPI, wait */
	fence(0);
	ipi_pending = true;
	!ipi_pending;
#endif
	/* FLUSH == 2: the hypervisor flushed; CPU 1 was not interrupted */
#if MB
	fence(0);			/* smp_mb() */
#endif
	load(0, STATE, st);		/* read CPU 1's ct->state */
#if POLICY == P_BROADCAST
	send = true;
#elif POLICY == P_QUIET
	send = (st & WATCHING) != 0;
#elif POLICY == P_SEED
	send = (st & (3 == KERNEL)) != 0;	/* as posted: always 0 */
#elif POLICY == P_FLUSH_IPI
	send = !WAITS;			/* the flush was the sync, or broadcast */
#elif POLICY == P_QUIET_FLUSH
	/* CPU 1 runs the mm: the arch's word for it, else the quiet rule */
	send = !WAITS && (st & WATCHING) != 0;
#else
	send = (st & 3) == KERNEL;
#endif
	if
	:: send ->
		fence(0);		/* queuing the IPI is fully ordered */
		ipi_pending = true;
		!ipi_pending		/* wait until CPU 1 took it */
	:: else -> skip
	fi;
	freed = true			/* the table may be reused from here */
}

/* A lockless walk: read the PMD, then dereference the table it points to. */
inline walk() {
	load(1, PMD, pmd);
	if
	:: pmd == 1 -> assert(!freed)
	:: else -> skip
	fi
}

/* Enter the kernel from user mode (syscall, fault) or leave it. */
inline kernel_entry() {
#if CT_ACTIVE
	rmw_ordered(1, STATE, KERNEL | WATCHING)	/* ct_kernel_enter_state() */
#else
	rmw_unordered(1, STATE, KERNEL | WATCHING)	/* __ct_user_exit() */
#endif
}

inline user_entry() {
#if CT_ACTIVE
	rmw_ordered(1, STATE, USER)			/* ct_kernel_exit_state() */
#else
	rmw_unordered(1, STATE, USER | WATCHING)	/* __ct_user_enter() */
#endif
}

proctype walker()
{
	byte i, j;
	int pmd, st;

	/* CPU 1 starts in user mode */
end:	do
	:: /* IPIs are taken with IRQs on and no NMI running */
	   atomic { ipi_pending -> ipi_pending = false }
	:: true ->	/* enter the kernel, walk with IRQs off, return to user */
	   kernel_entry();
	   walk();
	   user_entry()
	:: true ->	/* go idle through the kernel, wake up again */
	   kernel_entry();
	   rmw_ordered(1, STATE, IDLE);			/* ct_idle_enter() */
	   rmw_ordered(1, STATE, KERNEL | WATCHING);	/* ct_idle_exit() */
	   user_entry()
#if NMI
	:: true ->	/* NMI from user mode: RCU watches, state bits unchanged */
	   load(1, STATE, st);
	   rmw_ordered(1, STATE, st | WATCHING);	/* ct_nmi_enter() */
	   walk();					/* e.g. perf's page-size sampling */
	   rmw_ordered(1, STATE, st)			/* ct_nmi_exit() */
#endif
	od
}

init {
	byte i, j;

	mem[PMD] = 1;		/* the PMD points to the table */
#if CT_ACTIVE
	mem[STATE] = USER;	/* nohz_full CPU in user space: EQS */
#else
	mem[STATE] = USER | WATCHING;
#endif
	atomic {
		run drainer(0);
		run drainer(1);
		run walker();
		run freer()
	}
}
