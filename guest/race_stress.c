// SPDX-License-Identifier: GPL-2.0
/*
 * The race stress (docs/safety.md): page tables freed while GUP-fast walks
 * them, for a bounded time, under one policy.
 *
 * Walkers: one thread of this process on each isolated CPU (1..N-1), over
 * and over: pin the current range with the kernel's gup_test
 * (PIN_FAST_BENCHMARK: pin_user_pages_fast()), pin one page with vmsplice()
 * into a pipe and read it back, checking its stamp, then spin in user space
 * and make a syscall, so that they cross the extended-quiescent-state
 * boundary all the time.
 *
 * CPU0, the same process, until the time is up:
 *   anon:    map 2 MiB of small pages, stamp them, MADV_COLLAPSE (the
 *            collapse sync), mprotect one page read-only and back (splits
 *            the huge PMD), unmap (frees the tables);
 *   hugetlb: map a 1 GiB MAP_SHARED hugetlb file whose PMD table a second
 *            process shares, touch it, unmap (the unshare sync in
 *            tlb_flush_unshared_tables()); the second process maps,
 *            faults and unmaps the file on its own, so that the table it
 *            kept is freed too.
 *
 *   storm:   (-f) map 8 MiB (four PTE tables), touch it, and unmap it
 *            with the page allocator failing every allocation of this
 *            thread (fail_page_alloc, task-filtered): tlb_remove_table()
 *            gets no batch page, so each table is freed at once through
 *            tlb_remove_table_one() after its sync. Reachable where the
 *            arch frees page tables with tlb_remove_table() (arm64); x86
 *            frees them after its TLB-flush IPIs instead.
 *
 * A stamp is the page's offset in its range XOR a magic: a page read back
 * that holds neither its stamp nor zeros (a range remapped and not yet
 * stamped) is a corruption. Splats (KASAN, lockdep, DEBUG_VM) are the
 * host's to find in the console log; this program also watches /dev/kmsg
 * for a KASAN report, to time a negative control's detection.
 *
 *   zap:     (-z) map 2 MiB of small pages, stamp them, MADV_COLLAPSE,
 *            then MADV_DONTNEED at once: the collapse deposited the old
 *            PTE table for the huge PMD, and the zap frees it with
 *            pte_free() (zap_deposited_table()). On 7.3, where the
 *            storm's path no longer syncs, this is how a table that a
 *            walker may still be reading gets freed right after a sync.
 *
 * -x: the negative control. CPU0 runs the storm (or with -z the zap
 * rounds) alone, the run ends at the first KASAN report, and a
 * KASAN report of GUP-fast's read is the expected outcome (with policy "none" and a
 * walk delay, a table is freed under a walker).
 *
 * -F: every caller's TLB flush counts as one that did not wait (the debug
 * kernel's flush_did_not_wait): quiet-flush falls back to the quiet rule,
 * as under a paravirt flush; the lab's x86 guests otherwise never do.
 *
 * Usage: race_stress -p POLICY [-d seconds] [-w walk_delay_us] [-f | -z] [-F] [-x]
 */
#include "race.h"
#include "ipicount.h"
#include "ktap.h"
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The ranges the walkers aim at; NULL while unmapped. */
_Atomic(char *) anon_range;
_Atomic(char *) huge_range;
_Atomic(char *) storm_range;
_Atomic(char *) zap_range;
bool storm_on, zap_on;
atomic_int stop;
int gup_fd = -1;
int hugetlb_fd = -1;

struct walker {
	pthread_t thread;
	int cpu;
	long pins, vmsplices, checked, corruptions;
};


/*
 * Most of a walker's time: a pinned page makes MADV_COLLAPSE give up
 * (EAGAIN), so the walkers pin in short bursts between longer spins.
 */
static void spin_a_little(unsigned int *seed)
{
	volatile unsigned long n = 0;
	unsigned long i, len = (unsigned long)(rand_r(seed) % 200000);

	for (i = 0; i < len; i++)
		n++;
}

/* Pin the page at @addr through a pipe and check what comes back. */
static void vmsplice_check(struct walker *w, int pipefd[2], char *base,
			   unsigned long offset, unsigned long unit)
{
	struct iovec iov = { .iov_base = base + offset, .iov_len = PAGE_4K };
	unsigned long word;
	char buf[PAGE_4K];

	if (vmsplice(pipefd[1], &iov, 1, 0) != (ssize_t)PAGE_4K)
		return;		/* unmapped under us: fine */
	w->vmsplices++;
	if (read(pipefd[0], buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return;
	memcpy(&word, buf, sizeof(word));
	w->checked++;
	if (word != 0 && word != stamp(offset / unit * unit)) {
		w->corruptions++;
		if (w->corruptions <= 3)
			ktap_diag("cpu%d: page at +%#lx holds %#lx, not its stamp %#lx",
				  w->cpu, offset, word, stamp(offset / unit * unit));
	}
}

static void *walk(void *arg)
{
	struct walker *w = arg;
	unsigned int seed = (unsigned int)w->cpu * 2654435761U;
	int pipefd[2];

	if (pipe(pipefd))
		return NULL;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		int which = rand_r(&seed) % (storm_on || zap_on ? 3 : 2);
		bool huge = which == 1;
		char *base = atomic_load(which == 0 ? &anon_range :
					 which == 1 ? &huge_range :
					 storm_on ? &storm_range : &zap_range);
		unsigned long len = which == 0 ? PMD_SIZE :
				    which == 1 ? PUD_SIZE :
				    storm_on ? STORM_SIZE : PMD_SIZE;
		unsigned long unit = huge ? PMD_SIZE : PAGE_4K;
		struct gup_test gup = {
			.nr_pages_per_call = 64,
		};

		if (base) {
			unsigned long off = (unsigned long)rand_r(&seed) % (len / unit) * unit;

			/* One huge page, or up to 64 small ones. */
			gup.addr = (uintptr_t)base + off;
			gup.size = huge ? PMD_SIZE : len - off;
			if (!huge && gup.size > 64 * PAGE_4K)
				gup.size = 64 * PAGE_4K;
			/*
			 * The zap range is unmapped for a while after each zap:
			 * a read pin would fault in the shared zero page, which
			 * pinning does not count (gup_test then warns that the
			 * page is not pinned). A write pin faults in a page.
			 */
			if (which == 2 && zap_on)
				gup.gup_flags = FOLL_WRITE_ABI;
			/* The storm: the touched pages at the start of a table. */
			if (which == 2 && storm_on) {
				off = off / PMD_SIZE * PMD_SIZE +
				      off % STORM_TOUCHED;
				gup.addr = (uintptr_t)base + off;
				gup.size = STORM_TOUCHED - off % PMD_SIZE;
			}
			if (ioctl(gup_fd, PIN_FAST_BENCHMARK, &gup) == 0)
				w->pins++;
			vmsplice_check(w, pipefd, base, off, unit);
		}
		spin_a_little(&seed);
		getppid();
	}
	close(pipefd[0]);
	close(pipefd[1]);
	return NULL;
}

static int start_walker(struct walker *w)
{
	pthread_attr_t attr;
	cpu_set_t set;
	int err;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	pthread_attr_init(&attr);
	pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	err = pthread_create(&w->thread, &attr, walk, w);
	pthread_attr_destroy(&attr);
	return err;
}

/* The first KASAN report printed since kmsg_open(), if any. */
static int kmsg_fd = -1;
static char kasan_report[256];

static void kmsg_open(void)
{
	kmsg_fd = kmsg_open_end();
}

static bool kasan_reported(void)
{
	if (!kasan_report[0])
		kmsg_find(kmsg_fd, "BUG: KASAN: ", kasan_report, sizeof(kasan_report));
	return kasan_report[0];
}

static char thp_saved[32];

/* Also on a bail-out: THP as it was before the run. */
static void restore_thp(void)
{
	if (thp_saved[0])
		write_file(THP_ENABLED, thp_saved);
	thp_saved[0] = '\0';
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct walker walkers[MAX_CPUS];
	long cal_before[MAX_CPUS], cal_after[MAX_CPUS], rounds = 0, failures = 0;
	long refused = 0;
	long corruptions = 0, pins = 0, vmsplices = 0, walker_sync = 0, walker_cal = 0;
	int opt, seconds = 30, delay_us = -1, ncpus, cpu, first_error = 0;
	char *policy = NULL, name[96], stats[8192], *anon, *storm = NULL, *zap = NULL;
	long collapse, unshare, one, syncs, zaps = 0;
	bool control = false, flush_check, no_flush_wait = false;
	double start, end, detected_after = -1;
	struct ktap k;
	pid_t sharer;

	while ((opt = getopt(argc, argv, "p:d:w:fzFx")) != -1) {
		switch (opt) {
		case 'p':
			policy = optarg;
			break;
		case 'd':
			seconds = atoi(optarg);
			break;
		case 'w':
			delay_us = atoi(optarg);
			break;
		case 'f':
			storm_on = true;
			break;
		case 'z':
			zap_on = true;
			break;
		case 'F':
			no_flush_wait = true;
			break;
		case 'x':
			control = true;
			break;
		default:
			policy = NULL;
			break;
		}
	}
	if (!policy || seconds < 1 || (storm_on && zap_on)) {
		fprintf(stderr, "usage: race_stress -p POLICY [-d seconds] [-w walk_delay_us] [-f | -z] [-F] [-x]\n");
		return 2;
	}
	/* The control frees tables with the storm unless told to zap. */
	if (control && !zap_on)
		storm_on = true;
	ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	/* x86's "none" adds the check of its explanation (docs/safety.md). */
	flush_check = !strcmp(policy, "none") && !control;
	ktap_header(&k, 9 + flush_check);
	if (ncpus < 2 || ncpus > MAX_CPUS)
		ktap_bail(&k, "needs 2 to 16 CPUs");
	snprintf(name, sizeof(name), "%s_policy_selected", policy);
	if (!ktap_result(&k, select_policy(policy) && !write_file(QS_STATS_FILE, "reset"),
			 name))
		ktap_bail(&k, "cannot select the policy");
	if (delay_us >= 0) {
		char v[16];

		snprintf(v, sizeof(v), "%d", delay_us);
		if (write_file(WALK_DELAY_FILE, v))
			ktap_bail(&k, "no walk delay (CONFIG_TLB_REMOVE_TABLE_SYNC_DEBUG off?)");
	}
	if (no_flush_wait && write_file(FLUSH_DID_NOT_WAIT_FILE, "1"))
		ktap_bail(&k, "no flush_did_not_wait (CONFIG_TLB_REMOVE_TABLE_SYNC_DEBUG off?)");
	gup_fd = open(GUP_TEST_FILE, O_RDWR);
	atexit(restore_thp);
	if (gup_fd < 0 || read_selected(THP_ENABLED, thp_saved, sizeof(thp_saved)) ||
	    write_file(THP_ENABLED, "never"))
		ktap_bail(&k, "needs CONFIG_GUP_TEST and THP");
	sharer = start_sharer();
	if (!ktap_result(&k, sharer > 0, "hugetlb_sharer_started"))
		ktap_bail(&k, "no hugetlb sharer (huge pages reserved?)");
	/* A fixed 2 MiB-aligned place for the anon range, reserved. */
	anon = mmap(NULL, 2 * PMD_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		ktap_bail(&k, "cannot reserve the anon range");
	anon = (char *)(((uintptr_t)anon + PMD_SIZE - 1) & ~(PMD_SIZE - 1));
	if (zap_on) {
		zap = mmap(NULL, 2 * PMD_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (zap == MAP_FAILED)
			ktap_bail(&k, "cannot reserve the zap range");
		zap = (char *)(((uintptr_t)zap + PMD_SIZE - 1) & ~(PMD_SIZE - 1));
	}
	if (storm_on) {
		/* Its own 1 GiB, so its tables are the only ones in their PMD table. */
		storm = mmap(NULL, 2 * PUD_SIZE, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		make_it_fail_fd = open("/proc/thread-self/make-it-fail", O_WRONLY | O_CLOEXEC);
		atexit(fail_page_alloc_disarm);
		if (storm == MAP_FAILED || make_it_fail_fd < 0 || fail_page_alloc_arm(true))
			ktap_bail(&k, "no fault injection (CONFIG_FAIL_PAGE_ALLOC, FAULT_INJECTION_DEBUG_FS off?)");
		storm = (char *)(((uintptr_t)storm + PUD_SIZE - 1) & ~(PUD_SIZE - 1));
	}

	kmsg_open();
	read_cal_counts(cal_before, ncpus);
	for (cpu = 1; cpu < ncpus; cpu++) {
		walkers[cpu].cpu = cpu;
		if (start_walker(&walkers[cpu]))
			ktap_bail(&k, "cannot start a walker");
	}
	start = now();
	end = start + seconds;
	while (now() < end) {
		int ret = control ? 0 : anon_round(anon);

		if (!control && rounds % 4 == 0) {
			int huge = hugetlb_round();

			ret = ret ? ret : huge;
		}
		if (storm_on) {
			int table_one = storm_round(storm);

			ret = ret ? ret : table_one;
		}
		if (zap_on) {
			int zapped = zap_round(zap);

			if (zapped > 0)
				zaps++;
			ret = ret ? ret : (zapped < 0 ? zapped : 0);
		}
		rounds++;
		if (detected_after < 0 && kasan_reported()) {
			detected_after = now() - start;
			if (control)
				break;
		}
		/*
		 * EAGAIN: MADV_COLLAPSE gave up 20 times because a walker held
		 * a pin on a page (the kernel's own check, as intended).
		 */
		if (ret == -EAGAIN)
			refused++;
		else if (ret) {
			failures++;
			if (!first_error)
				first_error = -ret;
		}
	}
	atomic_store(&stop, 1);
	for (cpu = 1; cpu < ncpus; cpu++) {
		pthread_join(walkers[cpu].thread, NULL);
		pins += walkers[cpu].pins;
		vmsplices += walkers[cpu].vmsplices;
		corruptions += walkers[cpu].corruptions;
	}
	read_cal_counts(cal_after, ncpus);
	if (storm_on)
		fail_page_alloc_disarm();
	/* A report printed as the walkers finished. */
	if (detected_after < 0 && kasan_reported())
		detected_after = now() - start;
	kill(sharer, SIGKILL);
	waitpid(sharer, NULL, 0);
	if (delay_us >= 0)
		write_file(WALK_DELAY_FILE, "0");
	if (no_flush_wait)
		write_file(FLUSH_DID_NOT_WAIT_FILE, "0");
	restore_thp();

	if (read_file(QS_STATS_FILE, stats, sizeof(stats)) < 0)
		stats[0] = '\0';
	collapse = stats_caller_syncs(stats, QS_CALLERS_COLLAPSE);
	unshare = stats_caller_syncs(stats, QS_CALLERS_UNSHARE);
	one = stats_caller_syncs(stats, QS_CALLERS_TABLE_ONE);
	syncs = stats_value(stats, "\nsyncs: ");
	for (cpu = 1; cpu < ncpus; cpu++) {
		char key[32];

		snprintf(key, sizeof(key), "cpu%d ipis: ", cpu);
		walker_sync += stats_value(stats, key);
		walker_cal += cal_after[cpu] - cal_before[cpu];
	}
	if (first_error)
		ktap_diag("first CPU0 error: %s", strerror(first_error));
	if (kasan_report[0])
		ktap_diag("%.3f s after the start: %s", detected_after, kasan_report);
	ktap_diag("metric stress=race policy=%s flush_did_not_wait=%d seconds=%d walk_delay_us=%d storm=%d zap=%d zap_collapses=%ld control=%d rounds=%ld failed_rounds=%ld collapse_refused_pinned=%ld pins=%ld vmsplices=%ld corruptions=%ld syncs=%ld collapse_syncs=%ld unshare_syncs=%ld table_one_syncs=%ld walker_sync_ipis=%ld walker_all_ipis=%ld kasan_detected=%d seconds_to_detect=%.3f",
		  policy, no_flush_wait, seconds, delay_us, storm_on, zap_on, zaps, control, rounds, failures, refused,
		  pins, vmsplices, corruptions, syncs, collapse, unshare, one,
		  walker_sync, walker_cal, detected_after >= 0, detected_after);
	ktap_result(&k, rounds > 0 && failures == 0, "cpu0_rounds_failed_only_on_pinned_pages");
	ktap_result(&k, pins > 0 && vmsplices > 0, "walkers_pinned_pages");
	if (control)
		ktap_skip(&k, "no_pinned_page_corrupted",
			  "negative control: what a freed table yields is not asserted");
	else
		ktap_result(&k, corruptions == 0, "no_pinned_page_corrupted");
	/* A path not hit fails the run rather than passing silently. */
	if (control && zap_on) {
		ktap_result(&k, zaps > 0, "collapse_path_hit");
		ktap_skip(&k, "hugetlb_unshare_path_hit", "negative control: the zap rounds alone");
	} else if (control) {
		ktap_skip(&k, "collapse_path_hit", "negative control: the storm alone");
		ktap_skip(&k, "hugetlb_unshare_path_hit", "negative control: the storm alone");
	} else {
		ktap_result(&k, collapse > 0, "collapse_path_hit");
		ktap_result(&k, unshare > 0, "hugetlb_unshare_path_hit");
	}
	/*
	 * tlb_remove_table_one() needs the storm's failed batch allocation and
	 * an arch that frees tables with tlb_remove_table(): not native or
	 * TCG x86 (design.md section 1).
	 */
	snprintf(name, sizeof(name), "table_alloc_failure_path_hit");
	if (storm_on)
		ktap_result(&k, one > 0, name);
	else if (zap_on)
		ktap_skip(&k, name, "-z: the collapse's deposited table is freed instead (7.3)");
	else
		ktap_skip(&k, name, "needs -f (arm64); unreachable on native/TCG x86");
	if (control)
		/*
		 * A read of the freed table by the walker: use-after-free
		 * while the page is free (6.12's storm leaves it free a
		 * while), slab-out-of-bounds once the slab allocator took it
		 * again (7.3's zapped table is reused at once), out-of-bounds
		 * when it was a page table again by the time KASAN classified
		 * the access (its shadow already valid; make check,
		 * 2026-12-07). The host's tests/arm64.sh and
		 * lab/safety-report.sh expect the same three.
		 */
		ktap_result(&k, strstr(kasan_report, " in gup_fast") &&
			    (strstr(kasan_report, "use-after-free") ||
			     strstr(kasan_report, "out-of-bounds")),
			    "negative_control_detected_by_kasan_in_gup_fast");
	else
		ktap_result(&k, !kasan_report[0], "no_kasan_report");
	/*
	 * Why "none" frees nothing under a walker on x86: the walkers' CPUs
	 * still take the TLB-flush IPIs of their mm, which wait for IRQs-off
	 * walks just as the sync would have.
	 */
	if (flush_check) {
		ktap_diag("walker CPUs: %ld sync IPIs, %ld function-call IPIs",
			  walker_sync, walker_cal);
		ktap_result(&k, walker_sync == 0 && walker_cal > 0,
			    "none_walkers_took_flush_ipis_not_sync_ipis");
	}
	return ktap_finish(&k);
}
