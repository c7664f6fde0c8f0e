// SPDX-License-Identifier: GPL-2.0
/*
 * The lab's IPI scenario (design.md section 5): N MADV_COLLAPSE operations
 * on CPU0 while
 *   CPU1 is isolated and idle,
 *   CPU2 runs another process spinning in user space,
 *   CPU3 runs a thread of this process spinning in user space,
 * counting per CPU the page-table sync IPIs (csd:csd_function_entry on
 * tlb_remove_table_smp_sync) and all function-call IPIs (/proc/interrupts
 * CAL), both inside the measured window only.
 *
 * Must be started already pinned to CPU0 (taskset before exec), so that this
 * mm never ran anywhere but CPU0 and CPU3.
 *
 * Usage: collapse_ipi [-n collapses]     (as init runs it)
 *        collapse_ipi --spin             (the CPU2 process; internal)
 */
#include "ipicount.h"
#include "ktap.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define PMD_SIZE (2UL << 20)
#define PAGE_SIZE_4K 4096UL
#define THP_ENABLED "/sys/kernel/mm/transparent_hugepage/enabled"
#define POLICY_FILE "/sys/kernel/debug/quietsync/policy"

enum role { ROLE_HOUSEKEEPING, ROLE_IDLE, ROLE_OTHER, ROLE_SAME_MM };

static const char *const role_name[] = {
	[ROLE_HOUSEKEEPING] = "housekeeping",
	[ROLE_IDLE] = "idle",
	[ROLE_OTHER] = "other-process",
	[ROLE_SAME_MM] = "same-mm",
};

/* CPU n has role cpu_role[n]. */
static const enum role cpu_role[] = {
	ROLE_HOUSEKEEPING, ROLE_IDLE, ROLE_OTHER, ROLE_SAME_MM,
};

#define NCPUS 4
#define CPU_OTHER 2
#define CPU_SAME_MM 3

static atomic_int stop_spinning;
static atomic_int spinner_cpu = -1;
static char thp_saved[64];

static void restore_thp(void)
{
	char *end;

	if (!thp_saved[0])
		return;
	/* "always [madvise] never" -> "madvise" */
	end = strchr(thp_saved, ']');
	if (end && strchr(thp_saved, '[')) {
		*end = '\0';
		write_file(THP_ENABLED, strchr(thp_saved, '[') + 1);
	}
	thp_saved[0] = '\0';
}

static void spin_forever(void)
{
	volatile unsigned long n = 0;

	for (;;)
		n++;
}

static void *spin_thread(void *arg)
{
	(void)arg;
	atomic_store(&spinner_cpu, sched_getcpu());
	while (!atomic_load_explicit(&stop_spinning, memory_order_relaxed))
		;
	return NULL;
}

static int pin_set(cpu_set_t *set, int cpu)
{
	CPU_ZERO(set);
	CPU_SET(cpu, set);
	return 0;
}

static bool started_on_cpu0_only(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return false;
	return CPU_COUNT(&set) == 1 && CPU_ISSET(0, &set);
}

/* The thread is placed on CPU3 by glibc before it runs user code. */
static int start_same_mm_spinner(pthread_t *thread)
{
	pthread_attr_t attr;
	cpu_set_t set;
	int err;

	pin_set(&set, CPU_SAME_MM);
	pthread_attr_init(&attr);
	pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	err = pthread_create(thread, &attr, spin_thread, NULL);
	pthread_attr_destroy(&attr);
	return err;
}

/* Fork, move the child to CPU2, exec: the new mm only ever runs there. */
static pid_t start_other_process_spinner(void)
{
	cpu_set_t set;
	pid_t pid = fork();

	if (pid)
		return pid;
	pin_set(&set, CPU_OTHER);
	if (sched_setaffinity(0, sizeof(set), &set))
		_exit(127);
	execl("/proc/self/exe", "collapse_ipi", "--spin", (char *)NULL);
	_exit(127);
}

/* Field 39 of /proc/PID/stat: the CPU the task last ran on. */
static int task_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* p points at the end of field 2; field 3 follows. */
	for (field = 2; field < 39 && p; field++)
		p = strchr(p + 1, ' ');
	return p ? atoi(p + 1) : -1;
}

static const char *current_policy(char *buf, unsigned long size)
{
	char *nl;

	/* An unpatched kernel has no policy switch: it broadcasts. */
	if (read_file(POLICY_FILE, buf, size) < 0)
		return "broadcast";
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	return buf;
}

static int collapse_one(void)
{
	size_t len = 2 * PMD_SIZE;
	char *map, *aligned;
	unsigned long off;
	int ret;

	map = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return -errno;
	aligned = (char *)(((uintptr_t)map + PMD_SIZE - 1) & ~(PMD_SIZE - 1));
	/* Fault in all 512 small pages so there is a PTE table to replace. */
	for (off = 0; off < PMD_SIZE; off += PAGE_SIZE_4K)
		aligned[off] = (char)off | 1;
	ret = madvise(aligned, PMD_SIZE, MADV_COLLAPSE) ? -errno : 0;
	munmap(map, len);
	return ret;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * What the policy guarantees, as the minimum and maximum sync IPIs per 1,000
 * collapses on each role. Only policies listed here are asserted.
 */
struct expectation {
	const char *policy;
	long min_per_1k[NCPUS];
	long max_per_1k[NCPUS];
};

static const struct expectation expectations[] = {
	/* Every other online CPU takes every sync (design.md section 5). */
	{ "broadcast", { 0, 900, 900, 900 }, { 0, 1000, 1000, 1000 } },
};

static const struct expectation *find_expectation(const char *policy)
{
	unsigned long i;

	for (i = 0; i < sizeof(expectations) / sizeof(expectations[0]); i++)
		if (!strcmp(expectations[i].policy, policy))
			return &expectations[i];
	return NULL;
}

static int run_scenario(long n)
{
	long cal_before[NCPUS], cal_after[NCPUS], sync[NCPUS];
	const struct expectation *expect;
	int cpu, cpu_other = -1, err;
	long i, ok = 0, first_error = 0;
	char policy_buf[64], name[64];
	const char *policy;
	double t0, t1;
	pthread_t thread;
	struct ktap k;
	pid_t child;

	ktap_header(&k, 5 + (NCPUS - 1));
	if (sysconf(_SC_NPROCESSORS_ONLN) < NCPUS) {
		ktap_diag("needs %d online CPUs, has %ld", NCPUS,
			  sysconf(_SC_NPROCESSORS_ONLN));
		ktap_bail(&k, "too few CPUs");
	}
	policy = current_policy(policy_buf, sizeof(policy_buf));
	ktap_diag("policy %s, %ld collapses on CPU0", policy, n);

	if (!ktap_result(&k, started_on_cpu0_only(), "started_pinned_to_cpu0"))
		ktap_bail(&k, "not started with taskset -c 0");

	if (read_file(THP_ENABLED, thp_saved, sizeof(thp_saved)) < 0 ||
	    write_file(THP_ENABLED, "never")) {
		ktap_diag("cannot set %s: %s", THP_ENABLED, strerror(errno));
		ktap_bail(&k, "no THP sysfs");
	}
	atexit(restore_thp);
	if (!ktap_result(&k, ipitrace_start(QS_SYNC_CALLBACK) == 0,
			 "sync_ipi_tracing_ready"))
		ktap_bail(&k, "tracing unavailable");

	err = start_same_mm_spinner(&thread);
	if (err) {
		ktap_diag("pthread_create: %s", strerror(err));
		ktap_bail(&k, "no spinner thread");
	}
	child = start_other_process_spinner();
	if (child < 0)
		ktap_bail(&k, "fork failed");
	/* Let both spinners reach user space and the ticks stop. */
	sleep(2);
	cpu_other = task_cpu(child);
	ktap_diag("same-mm thread on cpu%d, other process on cpu%d",
		  atomic_load(&spinner_cpu), cpu_other);
	ktap_result(&k, atomic_load(&spinner_cpu) == CPU_SAME_MM &&
		    cpu_other == CPU_OTHER, "spinners_on_their_cpus");

	/* The measured window: nothing but the collapses. */
	read_cal_counts(cal_before, NCPUS);
	t0 = now_seconds();
	for (i = 0; i < n; i++) {
		int ret = collapse_one();

		if (ret == 0)
			ok++;
		else if (!first_error)
			first_error = ret;
	}
	t1 = now_seconds();
	read_cal_counts(cal_after, NCPUS);
	ipitrace_stop();

	atomic_store(&stop_spinning, 1);
	pthread_join(thread, NULL);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);

	if (first_error)
		ktap_diag("first MADV_COLLAPSE error: %s", strerror((int)-first_error));
	ktap_result(&k, ok == n, "all_collapses_succeeded");
	ktap_diag("metric policy=%s collapses=%ld seconds=%.3f per_second=%.1f",
		  policy, ok, t1 - t0, (double)ok / (t1 - t0));

	err = 0;
	for (cpu = 0; cpu < NCPUS; cpu++) {
		sync[cpu] = ipitrace_count(cpu);
		if (sync[cpu] < 0)
			err = 1;
		ktap_diag("metric policy=%s cpu=%d role=%s sync_ipis=%ld all_ipis=%ld",
			  policy, cpu, role_name[cpu_role[cpu]], sync[cpu],
			  cal_after[cpu] - cal_before[cpu]);
	}
	ktap_result(&k, !err, "sync_ipi_counts_complete");

	expect = find_expectation(policy);
	for (cpu = 1; cpu < NCPUS; cpu++) {
		long per_1k = ok ? sync[cpu] * 1000 / ok : -1;

		snprintf(name, sizeof(name), "cpu%d_%s_sync_ipis_per_1k",
			 cpu, role_name[cpu_role[cpu]]);
		if (!expect) {
			ktap_skip(&k, name, "no expectation for this policy");
			continue;
		}
		ktap_diag("cpu%d: %ld per 1000 collapses, expected %ld..%ld",
			  cpu, per_1k, expect->min_per_1k[cpu],
			  expect->max_per_1k[cpu]);
		ktap_result(&k, sync[cpu] >= 0 && ok > 0 &&
			    per_1k >= expect->min_per_1k[cpu] &&
			    per_1k <= expect->max_per_1k[cpu], name);
	}
	return ktap_finish(&k);
}

int main(int argc, char **argv)
{
	long n = 1000;
	int opt;

	if (argc == 2 && !strcmp(argv[1], "--spin"))
		spin_forever();
	while ((opt = getopt(argc, argv, "n:")) != -1) {
		switch (opt) {
		case 'n':
			n = strtol(optarg, NULL, 10);
			if (n <= 0) {
				fprintf(stderr, "collapse_ipi: -n needs a positive count\n");
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: collapse_ipi [-n collapses]\n");
			return 2;
		}
	}
	return run_scenario(n);
}
