// SPDX-License-Identifier: GPL-2.0
/*
 * Run quietsync-check inside the guest and assert its verdict, and that it
 * left tracefs (and the huge page reservation of its hugetlb load) as it
 * found it.
 *
 * Usage: check_verdict LABEL EXIT VERDICT [-P POLICY] [-B] [-C] [-R PAGES]
 *                      [-S SIG [-W MS] [-E MS]] -- ARGS...
 *   LABEL names the results; EXIT and VERDICT (exposed, not-exposed, fixed
 *   or cannot-tell) are what the tool must say; -P selects the series'
 *   evaluation policy first (restored after). The faults an operator meets:
 *   -B  another tracefs user beside it: options/raw and tracing_on set on
 *       the top-level instance, a trace_pipe reader consuming it
 *   -C  its counts of each isolated CPU equal that CPU's function-call
 *       IPIs within 1% (ARGS must have --json=/tmp/check.json)
 *   -R  an application's huge pages beside it: the pool set to PAGES
 *       pages, all of them reserved by a shared mapping not yet touched
 *       (free - resv = 0), as a DPDK process holds its pool; after the run
 *       the reservation must be whole and every page must fault in
 *   -S  INT or HUP 5 s (-W MS) into its run: it must summarize the time
 *       watched (or, with VERDICT cannot-tell, say it was interrupted
 *       before it measured anything); KILL: nothing of it may keep
 *       running, and --cleanup must remove the trace instance it left
 *       (EXIT and VERDICT are then unused)
 *       -W fork: the signal comes as soon as the tool has forked its load
 *       (the hugetlb load's sharer, which then faults in 1 GiB before the
 *       window begins: the signal comes in the set-up)
 *   -E  with -S: the run must end within MS of its start (the signal ended
 *       it, not the window)
 */
#include "ipicount.h"
#include "ktap.h"
#include "policy.h"
#include "proc.h"

#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK_JSON "/tmp/check.json"
#define HUGEPAGES "/sys/kernel/mm/hugepages/hugepages-2048kB"
#define HUGE_SIZE (2UL << 20)

static const char *const restored_files[] = {
	QS_TRACEFS "/tracing_on",
	QS_TRACEFS "/current_tracer",
	QS_TRACEFS "/buffer_size_kb",
	QS_TRACEFS "/events/csd/csd_function_entry/enable",
	QS_TRACEFS "/events/csd/csd_function_entry/filter",
	QS_TRACEFS "/options/raw",
	"/proc/sys/vm/nr_hugepages",
	"/proc/sys/vm/nr_overcommit_hugepages",
};

#define NFILES (sizeof(restored_files) / sizeof(restored_files[0]))

/* The tool's words for each verdict keyword. */
static const char *verdict_words(const char *keyword)
{
	if (!strcmp(keyword, "fixed"))
		return "fix active and verified";
	if (!strcmp(keyword, "not-exposed"))
		return "not exposed";
	if (!strcmp(keyword, "cannot-tell"))
		return "cannot tell";
	return keyword;
}

static void snapshot(char out[][256])
{
	unsigned long i;

	for (i = 0; i < NFILES; i++)
		if (read_file(restored_files[i], out[i], 256) < 0)
			strcpy(out[i], "(unreadable)");
}

/*
 * Until something traces, the kernel keeps its ring buffer at a minimum and
 * buffer_size_kb reads "7 (expanded: 1408)"; the first use allocates it
 * (then it reads "1410": the configured size in whole pages). That lazy
 * allocation is the kernel's, not a setting the tool changed, and nothing
 * can undo it. It shows where the only boot-time event is kprobe_event=,
 * which does not allocate the buffer as trace_event= does (7.3's
 * PREEMPT_RT kernel). Any other difference is a setting not restored.
 */
static bool unchanged(const char *file, const char *before, const char *after)
{
	if (!strcmp(before, after))
		return true;
	if (strstr(file, "buffer_size_kb") && strstr(before, "(expanded: ") &&
	    !strstr(after, "(expanded: ")) {
		ktap_diag("%s: the ring buffer was allocated on first use ('%s' before, '%s' after)",
			  file, before, after);
		return true;
	}
	return false;
}

/* A quietsync-check process that is not a zombie, or 0. */
static int tool_process(void)
{
	char path[300], comm[64], stat[256], *p;
	struct dirent *d;
	DIR *dir = opendir("/proc");
	int found = 0;

	while (dir && !found && (d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		if (read_file(path, comm, sizeof(comm)) < 0 || strncmp(comm, "quietsync-check", 15))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		if (read_file(path, stat, sizeof(stat)) < 0)
			continue;
		p = strrchr(stat, ')');
		if (p && p[1] == ' ' && p[2] != 'Z')
			found = atoi(d->d_name);
	}
	if (dir)
		closedir(dir);
	return found;
}

static bool none_left(int seconds)
{
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	int i, pid = 0;

	for (i = 0; i < seconds * 10; i++) {
		pid = tool_process();
		if (!pid)
			return true;
		nanosleep(&tick, NULL);
	}
	ktap_diag("quietsync-check process %d still running", pid);
	return false;
}

/* Each isolated CPU's sync IPIs within 1% of its function-call IPIs. */
static bool counts_match_cal(void)
{
	char json[65536], isolated[8];
	const char *p = json;
	long sync, cal;
	int cpu, n = 0;
	bool ok = true;

	if (read_file(CHECK_JSON, json, sizeof(json)) < 0) {
		ktap_diag("no %s", CHECK_JSON);
		return false;
	}
	while ((p = strstr(p, "{\"cpu\": "))) {
		if (sscanf(p, "{\"cpu\": %d, \"isolated\": %7[a-z], \"role\": \"%*[^\"]\", \"sync_ipis\": %ld, \"all_ipis\": %ld",
			   &cpu, isolated, &sync, &cal) == 4 && !strcmp(isolated, "true")) {
			ktap_diag("cpu%d: %ld sync IPIs, %ld function-call IPIs", cpu, sync, cal);
			ok = ok && sync > 0 && labs(cal - sync) * 100 <= cal;
			n++;
		}
		p++;
	}
	return ok && n > 0;
}

/* The other tracefs user: options/raw, tracing_on, a trace_pipe reader. */
static pid_t start_beside(char *raw, char *on)
{
	pid_t pid;

	read_file(QS_TRACEFS "/options/raw", raw, 8);
	read_file(QS_TRACEFS "/tracing_on", on, 8);
	write_file(QS_TRACEFS "/options/raw", "1");
	write_file(QS_TRACEFS "/tracing_on", "1");
	pid = fork();
	if (pid == 0) {
		char buf[4096];
		FILE *f = fopen(QS_TRACEFS "/trace_pipe", "r");

		while (f && fread(buf, 1, sizeof(buf), f) > 0)
			;
		_exit(0);
	}
	return pid;
}

static bool stop_beside(pid_t pid, const char *raw, const char *on)
{
	bool running = pid > 0 && waitpid(pid, NULL, WNOHANG) == 0;

	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	write_file(QS_TRACEFS "/options/raw", raw);
	write_file(QS_TRACEFS "/tracing_on", on);
	return running;
}

/* -R: an application's reservation of the whole free pool, untouched. */
struct pool {
	char *map;
	long pages, resv;
	char saved[32];
};

static long hugepages_value(const char *name)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), HUGEPAGES "/%s", name);
	return read_file(path, buf, sizeof(buf)) < 0 ? -1 : atol(buf);
}

static bool pool_reserve(struct pool *p, long pages)
{
	char text[32];
	int fd;

	p->pages = pages;
	if (read_file("/proc/sys/vm/nr_hugepages", p->saved, sizeof(p->saved)) < 0)
		return false;
	snprintf(text, sizeof(text), "%ld", pages);
	if (write_file("/proc/sys/vm/nr_hugepages", text) ||
	    hugepages_value("free_hugepages") < pages)
		return false;
	fd = memfd_create("application-pool", MFD_HUGETLB | MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)(pages * HUGE_SIZE)))
		return false;
	p->map = mmap(NULL, pages * HUGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p->map == MAP_FAILED) {
		p->map = NULL;
		return false;
	}
	p->resv = hugepages_value("resv_hugepages");
	ktap_diag("application pool: %ld pages, %ld free, %ld reserved", pages,
		  hugepages_value("free_hugepages"), p->resv);
	return p->resv >= pages;
}

static sigjmp_buf bus_jump;

static void on_bus(int sig)
{
	(void)sig;
	siglongjmp(bus_jump, 1);
}

/* The reservation is whole and every page faults in (SIGBUS if taken). */
static bool pool_intact(struct pool *p)
{
	struct sigaction sa = { .sa_handler = on_bus }, old;
	volatile long touched = 0;
	long resv = hugepages_value("resv_hugepages");

	if (!p->map)
		return false;
	sigaction(SIGBUS, &sa, &old);
	if (!sigsetjmp(bus_jump, 1))
		for (; touched < p->pages; touched++)
			p->map[touched * HUGE_SIZE] = 1;
	sigaction(SIGBUS, &old, NULL);
	ktap_diag("application pool after: %ld reserved (%ld before), %ld of %ld pages faulted in",
		  resv, p->resv, (long)touched, p->pages);
	return resv == p->resv && touched == p->pages;
}

static void pool_release(struct pool *p)
{
	if (p->map)
		munmap(p->map, p->pages * HUGE_SIZE);
	if (p->saved[0])
		write_file("/proc/sys/vm/nr_hugepages", p->saved);
}

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static int signal_number(const char *name)
{
	if (!strcmp(name, "INT"))
		return SIGINT;
	if (!strcmp(name, "HUP"))
		return SIGHUP;
	if (!strcmp(name, "KILL"))
		return SIGKILL;
	return 0;
}

int main(int argc, char **argv)
{
	char before[NFILES][256], after[NFILES][256], out[8192], want[160];
	char saved_policy[64] = "", name[128], raw[8] = "0", on[8] = "0", *line;
	const char *label, *verdict, *policy = NULL, *sig_name = NULL;
	bool same = true, verdict_ok, beside = false, cal = false;
	char *cleanup_argv[] = { "/bin/quietsync-check", "--cleanup", NULL };
	int expect, rc, first, sig = 0, planned = 3, wait_ms = 5000, end_ms = 0;
	struct pool pool = { 0 };
	struct timespec start;
	long reserve = 0, took;
	pid_t reader = -1;
	unsigned long i;
	struct ktap k;

	if (argc < 5) {
		fprintf(stderr, "usage: check_verdict LABEL EXIT VERDICT [-P POLICY] [-B] [-C] [-R PAGES] [-S SIG [-W MS] [-E MS]] -- ARGS...\n");
		return 2;
	}
	label = argv[1];
	expect = atoi(argv[2]);
	verdict = verdict_words(argv[3]);
	for (first = 4; first < argc && strcmp(argv[first], "--"); first++) {
		if (!strcmp(argv[first], "-P") && first + 1 < argc)
			policy = argv[++first];
		else if (!strcmp(argv[first], "-B"))
			beside = true;
		else if (!strcmp(argv[first], "-C"))
			cal = true;
		else if (!strcmp(argv[first], "-S") && first + 1 < argc && signal_number(argv[first + 1]))
			sig = signal_number(sig_name = argv[++first]);
		else if (!strcmp(argv[first], "-W") && first + 1 < argc)
			wait_ms = strcmp(argv[++first], "fork") ? atoi(argv[first]) : -1;
		else if (!strcmp(argv[first], "-E") && first + 1 < argc)
			end_ms = atoi(argv[++first]);
		else if (!strcmp(argv[first], "-R") && first + 1 < argc && atol(argv[first + 1]) > 0)
			reserve = atol(argv[++first]);
		else
			break;
	}
	if (first >= argc || strcmp(argv[first], "--")) {
		fprintf(stderr, "check_verdict: expected -- before the tool's arguments\n");
		return 2;
	}
	argv[first] = "/bin/quietsync-check";
	/* KILL: killed and cleaned up in place of the exit and the verdict. */
	planned += (policy != NULL) + beside + cal + (sig == SIGINT || sig == SIGHUP) +
		   2 * (reserve > 0) + (sig && end_ms > 0);

	ktap_header(&k, planned);
	if (policy) {
		read_selected(QS_POLICY_FILE, saved_policy, sizeof(saved_policy));
		snprintf(name, sizeof(name), "%s_policy_%s_selected", label, policy);
		ktap_result(&k, !write_file(QS_POLICY_FILE, policy), name);
	}
	if (beside)
		reader = start_beside(raw, on);
	if (reserve) {
		snprintf(name, sizeof(name), "%s_application_pool_reserved", label);
		ktap_result(&k, pool_reserve(&pool, reserve), name);
	}
	snapshot(before);
	clock_gettime(CLOCK_MONOTONIC, &start);
	rc = run_capture_signal(argv + first, false, out, sizeof(out), sig, wait_ms);
	took = elapsed_ms(&start);
	if (sig && end_ms > 0) {
		ktap_diag("the run took %ld ms; the signal came %s", took,
			  wait_ms < 0 ? "when it forked its load" : "at the time asked");
		snprintf(name, sizeof(name), "%s_ended_within_%d_ms", label, end_ms);
		ktap_result(&k, took < end_ms, name);
	}
	if (sig == SIGKILL) {
		snprintf(name, sizeof(name), "%s_killed_nothing_left", label);
		ktap_result(&k, rc == -1 && none_left(5), name);
		rc = run_capture(cleanup_argv, true, out, sizeof(out));
		ktap_diag("quietsync-check --cleanup exited %d: %s", rc, out);
		snprintf(name, sizeof(name), "%s_cleanup_removed_the_instance", label);
		ktap_result(&k, rc == 0 && strstr(out, "removed 1 trace instance"), name);
	}
	snapshot(after);
	if (beside) {
		snprintf(name, sizeof(name), "%s_trace_pipe_reader_beside", label);
		ktap_result(&k, stop_beside(reader, raw, on), name);
	}
	if (sig != SIGKILL) {
		snprintf(want, sizeof(want), "verdict: %s (", verdict);
		verdict_ok = strstr(out, want) != NULL;
		if (sig) {
			snprintf(name, sizeof(name), "%s_SIG%s_summarized_nothing_left", label, sig_name);
			/*
			 * In the set-up nothing was watched: it must say so
			 * (with -W fork, that the load was being set up).
			 */
			if (!strcmp(verdict, "cannot tell"))
				snprintf(want, sizeof(want), "%s",
					 wait_ms < 0 ? "interrupted while the hugetlb load was being set up" :
					 "interrupted");
			else
				snprintf(want, sizeof(want), "ended by SIG%s", sig_name);
			ktap_result(&k, strstr(out, want) != NULL && none_left(5), name);
		}
		for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
			ktap_diag("%s", line);
		snprintf(name, sizeof(name), "%s_exit_%d", label, expect);
		ktap_diag("quietsync-check exited %d", rc);
		ktap_result(&k, rc == expect, name);
		snprintf(name, sizeof(name), "%s_verdict", label);
		ktap_result(&k, verdict_ok, name);
	}
	if (cal) {
		snprintf(name, sizeof(name), "%s_counts_match_function_call_ipis_1pct", label);
		ktap_result(&k, counts_match_cal(), name);
	}

	for (i = 0; i < NFILES; i++)
		if (!unchanged(restored_files[i], before[i], after[i])) {
			ktap_diag("%s: '%s' before, '%s' after", restored_files[i],
				  before[i], after[i]);
			same = false;
		}
	snprintf(name, sizeof(name), "%s_settings_restored", label);
	ktap_result(&k, same, name);
	if (reserve) {
		snprintf(name, sizeof(name), "%s_application_pool_intact", label);
		ktap_result(&k, pool_intact(&pool), name);
		pool_release(&pool);
	}

	if (policy && saved_policy[0])
		write_file(QS_POLICY_FILE, saved_policy);
	return ktap_finish(&k);
}
