// SPDX-License-Identifier: GPL-2.0
/*
 * quietsync-check: are this machine's isolated CPUs interrupted by the
 * page-table sync IPI (tlb_remove_table_sync_one()), and is a fix active?
 *
 * Watches the csd:csd_function_entry trace event filtered on the sync's
 * callback, per target CPU (kernels before 6.4, which have no csd events:
 * a kprobe event on the callback, quietsync/sync_ipi, used as found or
 * created for the run and removed after), and the function-call IPIs of
 * /proc/interrupts,
 * for --seconds; with --load it generates the syncs itself on a housekeeping
 * CPU, with what the running kernel has: MADV_COLLAPSE of anonymous memory
 * where there is THP, else (PREEMPT_RT kernels) a 1 GiB MAP_SHARED hugetlb
 * file mapped by two processes and unmapped over and over, which unshares
 * their PMD table (reserving the 2 MiB huge pages it needs and restoring
 * nr_hugepages after). Restores every tracefs setting it changed, also on
 * SIGINT/SIGTERM and errors. Needs only the C library and tracefs.
 *
 * Exit status: 0 not exposed or fix verified, 1 exposed, 2 cannot tell or
 * bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
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
#ifndef QS_VERSION
#define QS_VERSION "(built outside a package)"
#endif

#define MAX_CPUS 1024
#define TRACEFS "/sys/kernel/tracing"
#define EVENT TRACEFS "/events/csd/csd_function_entry"
#define CALLBACK "tlb_remove_table_smp_sync"
/* Before 6.4 (no csd events): a kprobe event on the callback. */
#define KPROBE_EVENTS TRACEFS "/kprobe_events"
#define KPROBE_NAME "quietsync/sync_ipi"
/* As set_event and available_events name it (6.1 may give it no events/ dir). */
#define KPROBE_SET_NAME "quietsync:sync_ipi"
#define LIVEPATCH "/sys/kernel/livepatch/quietsync_livepatch/enabled"
/* "verified" (a release the quietsync lab measured) or "checked". */
#define LIVEPATCH_STATUS "/sys/module/quietsync_livepatch/parameters/status"
#define SERIES_POLICY "/sys/kernel/debug/tlb_remove_table_sync/policy"
#define LOCK_FILE "/run/quietsync-check.lock"
#define THP_SYSFS "/sys/kernel/mm/transparent_hugepage/enabled"
#define HUGEPAGES_2M "/sys/kernel/mm/hugepages/hugepages-2048kB"
/*
 * The hugetlb load: a file of 1 GiB (one PUD) in 2 MiB pages, mapped at a
 * PUD-aligned address, so that the processes mapping it share one PMD table
 * (want_pmd_share()).
 */
#define SHARED_SIZE (1UL << 30)
#define HUGE_PAGE_SIZE (2UL << 20)
#define HUGE_PAGES_NEEDED (SHARED_SIZE / HUGE_PAGE_SIZE)
/*
 * An isolated CPU may take this share of the syncs: a sync that arrives
 * while other work has it in the kernel (its residual tick, another
 * interrupt) correctly waits for it, fix or no fix. The share depends on
 * how fast --load runs: on a TCG guest of the lab's Debian 13 image the
 * collapse load runs about 22 per second and CPU 1, woken about once a
 * second by other work, took 4 of 66 (6%) with the livepatch active. An
 * exposed kernel gives every isolated CPU every sync (100%).
 */
#define TOLERATED_PERCENT 10

enum verdict { NOT_EXPOSED, EXPOSED, FIXED, CANNOT_TELL };

/* What --load does to make the kernel sync: whatever the kernel has. */
enum load_kind { LOAD_NONE, LOAD_COLLAPSE, LOAD_HUGETLB_UNSHARE };

static const char *const load_text[] = {
	[LOAD_NONE] = "",
	[LOAD_COLLAPSE] = "collapse",
	[LOAD_HUGETLB_UNSHARE] = "hugetlb-unshare",
};

static const char *const verdict_text[] = {
	[NOT_EXPOSED] = "not exposed",
	[EXPOSED] = "exposed",
	[FIXED] = "fix active and verified",
	[CANNOT_TELL] = "cannot tell",
};

struct setting {
	const char *path;
	char value[256];
	bool saved;
};

static struct setting settings[] = {
	{ .path = TRACEFS "/tracing_on" },
	{ .path = EVENT "/filter" },
	{ .path = EVENT "/enable" },
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static bool mounted_tracefs;
/* The kprobe event: created by this run, enabled by this run. */
static bool created_kprobe, enabled_kprobe;
/* What a trace line of one sync IPI contains. */
static const char *count_match = "func=" CALLBACK;
static volatile sig_atomic_t interrupted;
/* --load's process and, for the hugetlb load, the process sharing its table. */
static pid_t load_pid, sharer_pid;
/* Operations --load completed (collapses or unshares), shared with its child. */
static long *ops_done;
/* The hugetlb load's file, and nr_hugepages to put back (-1: untouched). */
static int hugetlb_fd = -1;
static long saved_nr_hugepages = -1;

static int read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int write_text_flags(const char *path, const char *text, int flags)
{
	int fd = open(path, O_WRONLY | flags | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	if (close(fd) || n != (ssize_t)strlen(text))
		return -1;
	return 0;
}

static int write_text(const char *path, const char *text)
{
	return write_text_flags(path, text, O_TRUNC);
}

/* Parse a CPU list ("1-3,5") into @set; -1 if it does not parse. */
static int parse_cpu_list(const char *list, bool *set)
{
	const char *p = list;
	char *end;
	long a, b;

	memset(set, 0, MAX_CPUS * sizeof(*set));
	if (!*p || !strcmp(p, "(null)"))
		return 0;
	while (*p) {
		a = strtol(p, &end, 10);
		if (end == p || a < 0 || a >= MAX_CPUS)
			return -1;
		b = a;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p || b < a || b >= MAX_CPUS)
				return -1;
		}
		for (; a <= b; a++)
			set[a] = true;
		if (*end == ',')
			end++;
		else if (*end)
			return -1;
		p = end;
	}
	return 0;
}

static void restore_tracefs(void)
{
	size_t i;

	for (i = NSETTINGS; i-- > 0;)
		if (settings[i].saved) {
			write_text(settings[i].path, settings[i].value);
			settings[i].saved = false;
		}
	if (enabled_kprobe) {
		write_text_flags(TRACEFS "/set_event", "!" KPROBE_SET_NAME "\n", O_APPEND);
		enabled_kprobe = false;
	}
	if (created_kprobe) {
		/* Appending: truncating kprobe_events would remove every probe. */
		write_text_flags(KPROBE_EVENTS, "-:" KPROBE_NAME "\n", O_APPEND);
		created_kprobe = false;
	}
	if (mounted_tracefs) {
		umount(TRACEFS);
		mounted_tracefs = false;
	}
}

static void stop_process(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}

static void stop_load(void)
{
	stop_process(&load_pid);
	stop_process(&sharer_pid);
	if (hugetlb_fd >= 0) {
		close(hugetlb_fd);
		hugetlb_fd = -1;
	}
}

static long read_long(const char *path)
{
	char buf[32], *end;
	long v;

	if (read_text(path, buf, sizeof(buf)))
		return -1;
	v = strtol(buf, &end, 10);
	return end == buf ? -1 : v;
}

/* Put nr_hugepages back once the load's huge pages are free again. */
static void restore_hugepages(void)
{
	char buf[32];

	if (saved_nr_hugepages < 0)
		return;
	snprintf(buf, sizeof(buf), "%ld", saved_nr_hugepages);
	write_text(HUGEPAGES_2M "/nr_hugepages", buf);
	saved_nr_hugepages = -1;
}

static void cleanup(void)
{
	stop_load();
	restore_hugepages();
	restore_tracefs();
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static bool file_has_symbol(const char *path, const char *name)
{
	char line[512];
	size_t len = strlen(name);
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p = strrchr(line, ' ');

		found = p && !strncmp(p + 1, name, len) &&
			(p[len + 1] == '\n' || p[len + 1] == '\t');
	}
	fclose(f);
	return found;
}

static int read_cal(long *counts, int ncpus)
{
	char line[16384], *p, *end;
	int n = -1;
	FILE *f = fopen("/proc/interrupts", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* x86 "CAL:", arm64 "IPI1:": the row's text is the same. */
		if (!strstr(line, "Function call interrupts"))
			continue;
		p = strchr(line, ':');
		if (!p)
			break;
		p++;
		for (n = 0; n < ncpus; n++) {
			counts[n] = strtol(p, &end, 10);
			if (end == p)
				break;
			p = end;
		}
		break;
	}
	fclose(f);
	return n;
}

/*
 * Events the ring buffer of @cpu overwrote since the trace was cleared: a
 * count read from a buffer that overran is short by that many (a kprobe
 * event enabled on the command line leaves the buffer at its boot size
 * until something expands it).
 */
static long count_lost(int cpu)
{
	char path[128], line[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), TRACEFS "/per_cpu/cpu%d/stats", cpu);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "overrun: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

static long count_events(int cpu)
{
	char path[128], line[512];
	long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), TRACEFS "/per_cpu/cpu%d/trace", cpu);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && strstr(line, count_match))
			n++;
	fclose(f);
	return n;
}

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* --load with THP: collapse 2 MiB of anonymous memory over and over. */
static void collapse_forever(int cpu)
{
	const size_t pmd = HUGE_PAGE_SIZE;
	char *map, *al;
	size_t off;

	pin_to(cpu);
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
			__atomic_add_fetch(ops_done, 1, __ATOMIC_RELAXED);
		munmap(map, 2 * pmd);
	}
}

/*
 * Map the hugetlb file's 1 GiB read-write at a PUD-aligned address inside a
 * 2 GiB reservation; returns the mapping, @reservation what to unmap.
 */
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

/*
 * The sharer: map the file, fault in every huge page (building the PMD
 * table the load will share), say so on @ready_fd, wait to be killed.
 */
static void share_forever(int cpu, int ready_fd)
{
	char *map, *res, ok = 1;
	size_t off;

	pin_to(cpu);
	map = map_shared_pud(hugetlb_fd, &res);
	if (!map)
		ok = 0;
	for (off = 0; ok && off < SHARED_SIZE; off += HUGE_PAGE_SIZE)
		map[off] = 1;
	if (write(ready_fd, &ok, 1) != 1 || !ok)
		_exit(1);
	for (;;)
		pause();
}

/*
 * --load without THP: map the file (the first fault shares the sharer's
 * PMD table, huge_pmd_share()), unmap (the unshare syncs), over and over.
 */
static void unshare_forever(int cpu)
{
	char *map, *res;

	pin_to(cpu);
	for (;;) {
		map = map_shared_pud(hugetlb_fd, &res);
		if (!map)
			_exit(1);
		*(volatile char *)map;
		munmap(res, 2 * SHARED_SIZE);
		__atomic_add_fetch(ops_done, 1, __ATOMIC_RELAXED);
	}
}

struct cpu_result {
	bool isolated;
	long sync;
	long lost;
	long cal;
};

struct report {
	struct utsname uts;
	char nohz_full[256], isolated[256], policy[128], lp_status[16];
	bool sync_compiled, livepatch, series;
	int ncpus, seconds, load_cpu;
	enum load_kind load;
	long operations, observed;
	struct cpu_result cpu[MAX_CPUS];
	enum verdict verdict;
	char why[256];
};

static void usage(FILE *out)
{
	fputs("usage: quietsync-check [--seconds N] [--load] [--cpus LIST] [--json] [--version] [--help]\n", out);
}

static void help(void)
{
	usage(stdout);
	fputs(
"\n"
"Tell whether this machine's isolated CPUs (isolcpus=, nohz_full=) are\n"
"interrupted by the page-table sync IPI that Linux sends when it frees page\n"
"tables (tlb_remove_table_sync_one(): THP collapse, hugetlb unsharing), and\n"
"whether a fix (the quietsync livepatch or kernel series) is active.\n"
"\n"
"  --seconds N  watch for N seconds (default 10, at most 3600)\n"
"  --load       generate syncs on a housekeeping CPU (needed on a quiet\n"
"               machine, and to verify a fix): collapse huge pages where\n"
"               the kernel has THP, else unshare a 1 GiB hugetlb mapping\n"
"               of two processes (PREEMPT_RT), reserving 512 huge pages of\n"
"               2 MiB for it and restoring nr_hugepages after\n"
"  --cpus LIST  treat these CPUs (e.g. 2-5,8) as the isolated ones instead\n"
"               of the kernel's isolcpus= and nohz_full= lists\n"
"  --json       print the result as JSON\n"
"  --version    print the version\n"
"  --help       this text\n"
"\n"
"Needs root and tracefs (mounted at " TRACEFS " if it is not, and\n"
"unmounted after). Every tracefs setting changed is restored, also on\n"
"Ctrl-C. Two instances do not run at once (" LOCK_FILE ").\n"
"\n"
"Exit status: 0 not exposed, or fix active and verified; 1 exposed;\n"
"2 cannot tell (the reason is printed) or bad usage.\n", stdout);
}

static void cannot_tell(struct report *r, const char *fmt, ...)
{
	va_list ap;

	r->verdict = CANNOT_TELL;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

static void read_setup(struct report *r)
{
	char buf[16];

	uname(&r->uts);
	if (read_text("/sys/devices/system/cpu/nohz_full", r->nohz_full, sizeof(r->nohz_full)))
		r->nohz_full[0] = '\0';
	if (!strcmp(r->nohz_full, "(null)"))
		r->nohz_full[0] = '\0';
	if (read_text("/sys/devices/system/cpu/isolated", r->isolated, sizeof(r->isolated)))
		r->isolated[0] = '\0';
	r->sync_compiled = file_has_symbol("/proc/kallsyms", CALLBACK);
	r->livepatch = !read_text(LIVEPATCH, buf, sizeof(buf)) && buf[0] == '1';
	if (!r->livepatch || read_text(LIVEPATCH_STATUS, r->lp_status, sizeof(r->lp_status)))
		r->lp_status[0] = '\0';
	r->series = !read_text(SERIES_POLICY, r->policy, sizeof(r->policy));
	if (r->series) {
		/* "broadcast [quiet] ..." -> "quiet" */
		char *open_b = strchr(r->policy, '['), *close_b;

		close_b = open_b ? strchr(open_b, ']') : NULL;
		if (close_b) {
			*close_b = '\0';
			memmove(r->policy, open_b + 1, strlen(open_b + 1) + 1);
		}
	}
	r->ncpus = (int)sysconf(_SC_NPROCESSORS_CONF);
	if (r->ncpus > MAX_CPUS)
		r->ncpus = MAX_CPUS;
}

/* Isolated: in isolcpus= or nohz_full=. */
static int mark_isolated(struct report *r)
{
	bool a[MAX_CPUS], b[MAX_CPUS];
	int cpu, n = 0;

	if (parse_cpu_list(r->isolated, a) || parse_cpu_list(r->nohz_full, b))
		return -1;
	r->load_cpu = -1;
	for (cpu = 0; cpu < r->ncpus; cpu++) {
		r->cpu[cpu].isolated = a[cpu] || b[cpu];
		n += r->cpu[cpu].isolated;
		if (!r->cpu[cpu].isolated && r->load_cpu < 0)
			r->load_cpu = cpu;
	}
	return n;
}

static int save_setting(struct report *r, struct setting *s)
{
	if (read_text(s->path, s->value, sizeof(s->value))) {
		cannot_tell(r, "cannot read %s", s->path);
		return -1;
	}
	if (!strcmp(s->value, "none"))
		strcpy(s->value, "0");
	s->saved = true;
	return 0;
}

/*
 * No csd events (before 6.4): count with a kprobe event on the callback,
 * the one already there (the lab creates it at boot) or one made for this
 * run and removed after.
 */
/* Whether the tracefs list @file (set_event, available_events) has @name. */
static bool list_has(const char *file, const char *name)
{
	char line[256];
	bool found = false;
	FILE *f = fopen(file, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		found = !strcmp(line, name);
	}
	fclose(f);
	return found;
}

static int prepare_kprobe(struct report *r)
{
	if (save_setting(r, &settings[0]))
		return -1;
	if (!list_has(TRACEFS "/available_events", KPROBE_SET_NAME)) {
		if (write_text_flags(KPROBE_EVENTS, "p:" KPROBE_NAME " " CALLBACK "\n", O_APPEND)) {
			cannot_tell(r, "no csd trace events (kernel before 6.4) and no kprobe on %s (%s): CONFIG_KPROBE_EVENTS?",
				    CALLBACK, strerror(errno));
			return -1;
		}
		created_kprobe = true;
	}
	/*
	 * Writing set_event expands the ring buffer to its full size, also
	 * when the event is enabled already: one enabled on the command line
	 * may still have the boot-time buffer of a few KiB, which keeps only
	 * the last ~200 events. (6.1 gives a boot-time kprobe event no
	 * events/ directory, so set_event it is.)
	 */
	enabled_kprobe = !list_has(TRACEFS "/set_event", KPROBE_SET_NAME);
	if (write_text_flags(TRACEFS "/set_event", KPROBE_SET_NAME "\n", O_APPEND)) {
		cannot_tell(r, "cannot enable %s (%s)", KPROBE_SET_NAME, strerror(errno));
		enabled_kprobe = false;
		return -1;
	}
	count_match = " sync_ipi: (" CALLBACK "+";
	if (write_text(TRACEFS "/tracing_on", "0") || write_text(TRACEFS "/trace", "") ||
	    write_text(TRACEFS "/tracing_on", "1")) {
		cannot_tell(r, "cannot start tracing (%s); is tracing disabled?", strerror(errno));
		return -1;
	}
	return 0;
}

static int prepare_tracefs(struct report *r)
{
	char filter[128];
	size_t i;

	if (access(TRACEFS "/trace", F_OK)) {
		if (mount("tracefs", TRACEFS, "tracefs", 0, NULL)) {
			cannot_tell(r, "tracefs is not mounted and cannot be (%s)", strerror(errno));
			return -1;
		}
		mounted_tracefs = true;
	}
	if (access(EVENT, F_OK))
		return prepare_kprobe(r);
	if (access(EVENT "/enable", W_OK)) {
		cannot_tell(r, "csd:csd_function_entry trace event not writable (%s)", strerror(errno));
		return -1;
	}
	for (i = 0; i < NSETTINGS; i++)
		if (save_setting(r, &settings[i]))
			return -1;
	snprintf(filter, sizeof(filter), "func.function == %s", CALLBACK);
	if (write_text(EVENT "/filter", filter) || write_text(TRACEFS "/tracing_on", "0") ||
	    write_text(TRACEFS "/trace", "") || write_text(EVENT "/enable", "1") ||
	    write_text(TRACEFS "/tracing_on", "1")) {
		cannot_tell(r, "cannot set up the trace event (%s); is tracing disabled?", strerror(errno));
		return -1;
	}
	return 0;
}

/* The load that makes this kernel sync: collapse with THP, else unshare. */
static enum load_kind choose_load(void)
{
	if (!access(THP_SYSFS, F_OK))
		return LOAD_COLLAPSE;
	if (!access(HUGEPAGES_2M, F_OK))
		return LOAD_HUGETLB_UNSHARE;
	return LOAD_NONE;
}

/*
 * Make 512 free 2 MiB huge pages available, raising nr_hugepages by what
 * is missing (put back by cleanup()). -1 with the verdict's reason if the
 * machine cannot give them.
 */
static int reserve_hugepages(struct report *r)
{
	long nr = read_long(HUGEPAGES_2M "/nr_hugepages");
	long free_pages = read_long(HUGEPAGES_2M "/free_hugepages");
	long want = (long)HUGE_PAGES_NEEDED;
	char buf[32];

	if (nr < 0 || free_pages < 0) {
		cannot_tell(r, "cannot read %s", HUGEPAGES_2M);
		return -1;
	}
	if (free_pages >= want)
		return 0;
	saved_nr_hugepages = nr;
	snprintf(buf, sizeof(buf), "%ld", nr + want - free_pages);
	write_text(HUGEPAGES_2M "/nr_hugepages", buf);
	free_pages = read_long(HUGEPAGES_2M "/free_hugepages");
	if (free_pages < want) {
		restore_hugepages();
		cannot_tell(r, "the hugetlb load needs 1 GiB of 2 MiB huge pages and this machine gave %ld of %ld (free memory, or reserve them at boot: hugepages=%ld)",
			    free_pages < 0 ? 0 : free_pages, want, nr + want);
		return -1;
	}
	return 0;
}

/* Set up the hugetlb load: the pages, the file, the sharing process. */
static int prepare_unshare(struct report *r)
{
	char ok = 0;
	int pipefd[2];

	if (reserve_hugepages(r))
		return -1;
	hugetlb_fd = memfd_create("quietsync-check", MFD_HUGETLB | MFD_HUGE_2MB | MFD_CLOEXEC);
	if (hugetlb_fd < 0 || ftruncate(hugetlb_fd, SHARED_SIZE)) {
		cannot_tell(r, "cannot create a 1 GiB hugetlb file (%s)", strerror(errno));
		return -1;
	}
	if (pipe(pipefd)) {
		cannot_tell(r, "pipe: %s", strerror(errno));
		return -1;
	}
	sharer_pid = fork();
	if (sharer_pid == 0) {
		close(pipefd[0]);
		share_forever(r->load_cpu, pipefd[1]);
	}
	close(pipefd[1]);
	if (sharer_pid < 0 || read(pipefd[0], &ok, 1) != 1 || !ok) {
		close(pipefd[0]);
		cannot_tell(r, "the hugetlb load's second process could not map its 1 GiB");
		return -1;
	}
	close(pipefd[0]);
	return 0;
}

static int prepare_load(struct report *r)
{
	r->load = choose_load();
	switch (r->load) {
	case LOAD_COLLAPSE:
		return 0;
	case LOAD_HUGETLB_UNSHARE:
		return prepare_unshare(r);
	default:
		cannot_tell(r, "--load needs THP or 2 MiB hugetlb pages, and this kernel has neither");
		return -1;
	}
}

static void watch(struct report *r)
{
	long before[MAX_CPUS] = { 0 }, after[MAX_CPUS] = { 0 };
	struct timespec t = { .tv_sec = r->seconds, .tv_nsec = 0 };
	int cpu;

	read_cal(before, r->ncpus);
	if (r->load != LOAD_NONE) {
		load_pid = fork();
		if (load_pid == 0) {
			if (r->load == LOAD_COLLAPSE)
				collapse_forever(r->load_cpu);
			unshare_forever(r->load_cpu);
		}
	}
	while (nanosleep(&t, &t) && errno == EINTR && !interrupted)
		;
	stop_load();
	write_text(TRACEFS "/tracing_on", "0");
	read_cal(after, r->ncpus);
	r->operations = ops_done ? *ops_done : 0;
	r->observed = r->operations;
	for (cpu = 0; cpu < r->ncpus; cpu++) {
		r->cpu[cpu].sync = count_events(cpu);
		r->cpu[cpu].lost = count_lost(cpu);
		r->cpu[cpu].cal = after[cpu] - before[cpu];
		if (r->cpu[cpu].sync > r->observed)
			r->observed = r->cpu[cpu].sync;
	}
}

static void decide(struct report *r)
{
	bool hit = false, fix = r->livepatch ||
		(r->series && (!strcmp(r->policy, "quiet") ||
			       !strcmp(r->policy, "quiet-flush")));
	int cpu;

	for (cpu = 0; cpu < r->ncpus; cpu++) {
		if (r->cpu[cpu].lost > 0) {
			cannot_tell(r, "the trace buffer of cpu%d overran, %ld events lost: enlarge %s/buffer_size_kb",
				    cpu, r->cpu[cpu].lost, TRACEFS);
			return;
		}
	}
	for (cpu = 0; cpu < r->ncpus; cpu++)
		if (r->cpu[cpu].isolated &&
		    r->cpu[cpu].sync * 100 > r->observed * TOLERATED_PERCENT)
			hit = true;
	if (hit) {
		r->verdict = EXPOSED;
		snprintf(r->why, sizeof(r->why), "isolated CPUs took more than %d%% of %ld syncs",
			 TOLERATED_PERCENT, r->observed);
	} else if (!r->observed) {
		cannot_tell(r, "no page-table sync in %d s%s%s%s", r->seconds,
			    r->load == LOAD_NONE ? ": run with --load" : " although --load ran ",
			    load_text[r->load], r->load == LOAD_NONE ? "" : " operations");
	} else if (fix) {
		r->verdict = FIXED;
		snprintf(r->why, sizeof(r->why), "%ld syncs, isolated CPUs spared, %s%s%s active",
			 r->observed, r->livepatch ? "livepatch" : "series",
			 r->lp_status[0] ? " " : "", r->lp_status);
	} else {
		r->verdict = NOT_EXPOSED;
		snprintf(r->why, sizeof(r->why), "%ld syncs, isolated CPUs spared", r->observed);
	}
}

static void print_text(const struct report *r)
{
	int cpu;

	printf("kernel: %s\n", r->uts.release);
	printf("isolated: %s; nohz_full: %s\n", r->isolated[0] ? r->isolated : "none",
	       r->nohz_full[0] ? r->nohz_full : "none");
	printf("page-table sync IPI compiled in: %s\n", r->sync_compiled ? "yes" : "no");
	printf("quietsync livepatch enabled: %s%s%s%s; series policy: %s\n",
	       r->livepatch ? "yes" : "no", r->lp_status[0] ? " (" : "", r->lp_status,
	       r->lp_status[0] ? ")" : "", r->series ? r->policy : "none");
	if (r->seconds) {
		printf("watched %d s", r->seconds);
		if (r->load != LOAD_NONE)
			printf(", load %s: %ld operations on cpu%d", load_text[r->load],
			       r->operations, r->load_cpu);
		printf("\n");
		printf("%-6s %-12s %14s %14s\n", "cpu", "role", "sync IPIs/s", "all IPIs/s");
		for (cpu = 0; cpu < r->ncpus; cpu++)
			printf("%-6d %-12s %14.1f %14.1f\n", cpu,
			       r->cpu[cpu].isolated ? "isolated" : "housekeeping",
			       (double)r->cpu[cpu].sync / r->seconds,
			       (double)r->cpu[cpu].cal / r->seconds);
	}
	printf("verdict: %s (%s)\n", verdict_text[r->verdict], r->why);
}

static void print_json(const struct report *r)
{
	int cpu;

	printf("{\"kernel\": \"%s\", \"isolated\": \"%s\", \"nohz_full\": \"%s\", "
	       "\"sync_compiled\": %s, \"livepatch\": %s, \"livepatch_status\": \"%s\", "
	       "\"series_policy\": \"%s\", \"seconds\": %d, \"load\": \"%s\", "
	       "\"operations\": %ld, \"cpus\": [",
	       r->uts.release, r->isolated, r->nohz_full,
	       r->sync_compiled ? "true" : "false", r->livepatch ? "true" : "false",
	       r->lp_status, r->series ? r->policy : "", r->seconds, load_text[r->load],
	       r->operations);
	for (cpu = 0; r->seconds && cpu < r->ncpus; cpu++)
		printf("%s{\"cpu\": %d, \"isolated\": %s, \"sync_ipis\": %ld, \"all_ipis\": %ld, \"trace_events_lost\": %ld}",
		       cpu ? ", " : "", cpu, r->cpu[cpu].isolated ? "true" : "false",
		       r->cpu[cpu].sync, r->cpu[cpu].cal, r->cpu[cpu].lost);
	printf("], \"verdict\": \"%s\", \"reason\": \"%s\", \"exit\": %d}\n",
	       verdict_text[r->verdict], r->why,
	       r->verdict == EXPOSED ? 1 : r->verdict == CANNOT_TELL ? 2 : 0);
}

static int exit_code(enum verdict v)
{
	return v == EXPOSED ? 1 : v == CANNOT_TELL ? 2 : 0;
}

static int parse_seconds(const char *arg)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (end == arg || *end || v < 1 || v > 3600)
		return -1;
	return (int)v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "load", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct report r;
	bool load = false, json = false;
	const char *cpus = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	int opt, lock, isolated;

	r.seconds = 10;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cpus = optarg;
			break;
		case ':':
			fprintf(stderr, "quietsync-check: %s needs a value (see --help)\n",
				argv[optind - 1]);
			return 2;
		case 's':
			r.seconds = parse_seconds(optarg);
			if (r.seconds < 0) {
				fprintf(stderr, "quietsync-check: --seconds takes a whole number from 1 to 3600, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'l':
			load = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			help();
			return 0;
		case 'V':
			puts("quietsync-check " QS_VERSION);
			return 0;
		default:
			fprintf(stderr, "quietsync-check: unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "quietsync-check: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}

	read_setup(&r);
	if (cpus) {
		/* The CPUs to treat as isolated, instead of the kernel's lists. */
		snprintf(r.isolated, sizeof(r.isolated), "%s", cpus);
		r.nohz_full[0] = '\0';
	}
	isolated = mark_isolated(&r);
	if (isolated < 0) {
		fprintf(stderr, "quietsync-check: cannot parse the CPU list '%s'%s%s%s\n",
			r.isolated, r.nohz_full[0] ? " / '" : "", r.nohz_full,
			r.nohz_full[0] ? "'" : "");
		return 2;
	}
	r.verdict = CANNOT_TELL;
	if (!r.sync_compiled) {
		r.verdict = NOT_EXPOSED;
		snprintf(r.why, sizeof(r.why), "this kernel has no page-table sync IPI");
		r.seconds = 0;
	} else if (!isolated) {
		r.verdict = NOT_EXPOSED;
		snprintf(r.why, sizeof(r.why), "no isolated CPUs (isolcpus=, nohz_full=)");
		r.seconds = 0;
	} else if (geteuid()) {
		cannot_tell(&r, "not root: tracefs needs root");
		r.seconds = 0;
	} else if (load && r.load_cpu < 0) {
		cannot_tell(&r, "--load needs a housekeeping CPU, all are isolated");
		r.seconds = 0;
	} else {
		lock = open(LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (lock < 0) {
			fprintf(stderr, "quietsync-check: cannot open %s: %s\n",
				LOCK_FILE, strerror(errno));
			return 2;
		}
		if (flock(lock, LOCK_EX | LOCK_NB)) {
			if (errno == EWOULDBLOCK)
				fprintf(stderr, "quietsync-check: another instance is running (%s)\n",
					LOCK_FILE);
			else
				fprintf(stderr, "quietsync-check: cannot lock %s: %s\n",
					LOCK_FILE, strerror(errno));
			return 2;
		}
		ops_done = mmap(NULL, sizeof(long), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (ops_done == MAP_FAILED)
			ops_done = NULL;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		atexit(cleanup);
		if ((!load || !prepare_load(&r)) && !prepare_tracefs(&r)) {
			watch(&r);
			if (interrupted)
				cannot_tell(&r, "interrupted");
			else
				decide(&r);
		}
		cleanup();
	}
	if (json)
		print_json(&r);
	else
		print_text(&r);
	return exit_code(r.verdict);
}
