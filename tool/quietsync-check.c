// SPDX-License-Identifier: GPL-2.0
/*
 * quietsync-check: are this machine's isolated CPUs interrupted by the
 * page-table sync IPI (tlb_remove_table_sync_one()), and is a fix active?
 *
 * Counts the sync IPIs per CPU in a trace instance of its own (trace.c)
 * for --duration, beside the function-call IPIs of /proc/interrupts; with
 * --load it makes the kernel sync on a housekeeping CPU (load.c). --status
 * answers at once what is installed and loaded (status.c). The files:
 * cpus.c (CPU lists and roles), trace.c, load.c, report.c (the verdict,
 * text and JSON), status.c, util.c. Needs only the C library.
 *
 * Exit status: 0 not exposed, fix verified or loaded; 1 exposed, or a
 * covered kernel installed without the fix; 3 cannot tell; 64 usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cpus.h"
#include "load.h"
#include "options.h"
#include "report.h"
#include "status.h"
#include "trace.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef QS_VERSION
#define QS_VERSION "(built outside a package)"
#endif

#define CPU_DIR "/sys/devices/system/cpu"
#define CGROUP_ISOLATED "/sys/fs/cgroup/cpuset.cpus.isolated"
#define LIVEPATCH_DIR "/sys/kernel/livepatch/quietsync_livepatch"
/* "verified" (a release the quietsync lab measured) or "checked". */
#define LIVEPATCH_STATUS "/sys/module/quietsync_livepatch/parameters/status"
#define LIVEPATCH_RULE "/sys/module/quietsync_livepatch/parameters/rule"
#define LIVEPATCH_RULE_WHY "/sys/module/quietsync_livepatch/parameters/rule_why"
#define SERIES_POLICY "/sys/kernel/debug/tlb_remove_table_sync/policy"
#define THP_ENABLED "/sys/kernel/mm/transparent_hugepage/enabled"

/*
 * An isolated CPU may take this share of the syncs: a sync that arrives
 * while other work has it in the kernel (its residual tick, another
 * interrupt) correctly waits for it, fix or no fix; the lab measured up to
 * 6% on an idle CPU of a slow guest. An exposed kernel gives 100%.
 */
#define TOLERATED_PERCENT 10

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static int read_list(struct report *r, const char *path, struct cpuset *s)
{
	char err[300];

	if (cpuset_read(path, s, err, sizeof(err)) < 0) {
		cannot_tell(r, "cpu_lists_unreadable", "%s", err);
		return -1;
	}
	return 0;
}

static void read_fix(struct report *r)
{
	char buf[64], policies[512];
	char *open_b, *close_b;

	r->livepatch = !read_text(LIVEPATCH_DIR "/enabled", buf, sizeof(buf)) && buf[0] == '1';
	r->lp_transition = r->livepatch &&
		!read_text(LIVEPATCH_DIR "/transition", buf, sizeof(buf)) && buf[0] == '1';
	if (!r->livepatch || read_text(LIVEPATCH_STATUS, r->lp_status, sizeof(r->lp_status)))
		r->lp_status[0] = '\0';
	/* Modules before the gate have no rule: theirs is the quiet one. */
	if (r->livepatch && read_text(LIVEPATCH_RULE, r->lp_rule, sizeof(r->lp_rule)))
		snprintf(r->lp_rule, sizeof(r->lp_rule), "quiet");
	if (!r->livepatch || read_text(LIVEPATCH_RULE_WHY, r->lp_rule_why, sizeof(r->lp_rule_why)))
		r->lp_rule_why[0] = '\0';
	/* "broadcast [quiet] ..." (every policy the kernel has) -> "quiet" */
	r->series = !read_text(SERIES_POLICY, policies, sizeof(policies));
	open_b = r->series ? strchr(policies, '[') : NULL;
	close_b = open_b ? strchr(open_b, ']') : NULL;
	if (close_b)
		*close_b = '\0';
	snprintf(r->policy, sizeof(r->policy), "%.*s", (int)sizeof(r->policy) - 1,
		 close_b ? open_b + 1 : policies);
	if (!read_text(THP_ENABLED, buf, sizeof(buf))) {
		open_b = strchr(buf, '[');
		close_b = open_b ? strchr(open_b, ']') : NULL;
		if (close_b) {
			*close_b = '\0';
			snprintf(r->thp, sizeof(r->thp), "%s", open_b + 1);
		}
	}
}

/* 0, or -1 with a usage error in @o->error. */
static int check_given_cpus(struct report *r, struct options *o, const struct cpuset *present)
{
	char err[200], *text;
	int cpu;

	if (!o->cpus)
		return 0;
	if (cpuset_parse(o->cpus, &r->given, err, sizeof(err)))
		return snprintf(o->error, sizeof(o->error), "--cpus '%s': %s", o->cpus, err), -1;
	if (!cpuset_count(&r->given))
		return snprintf(o->error, sizeof(o->error), "--cpus names no CPU"), -1;
	for (cpu = 0; cpu < r->given.size; cpu++)
		if (cpuset_has(&r->given, cpu) && !cpuset_has(&r->online, cpu)) {
			text = cpuset_format(&r->online);
			snprintf(o->error, sizeof(o->error), "--cpus: CPU %d is not %s (online: %s)",
				 cpu, cpuset_has(present, cpu) ? "online" : "present", text ? text : "?");
			free(text);
			return -1;
		}
	return 0;
}

/* The CPUs to count (online ones), each with its role. */
static int measured_cpus(struct report *r)
{
	int cpu, n = 0;

	r->cpus = calloc((size_t)r->online.size + 1, sizeof(*r->cpus));
	if (!r->cpus)
		return -1;
	for (cpu = 0; cpu < r->online.size; cpu++) {
		if (!cpuset_has(&r->online, cpu))
			continue;
		r->cpus[n].cpu = cpu;
		r->cpus[n].role = cpu_role(r, cpu);
		r->cpus[n].sync = -1;
		r->cpus[n].cal = -1;
		n++;
	}
	return n;
}

static int isolated_count(const struct report *r)
{
	int i, n = 0;

	for (i = 0; i < r->ncpus; i++)
		n += r->cpus[i].role != 0;
	return n;
}

/*
 * Read the machine into @r. -1 for a usage error (@o->error); a fact that
 * cannot be read makes the verdict "cannot tell".
 */
static int read_machine(struct report *r, struct options *o)
{
	struct cpuset present = { 0 };
	unsigned long long addr;
	cpu_set_t allowed;
	struct utsname uts;
	char err[300];
	int rc, i;

	if (!uname(&uts))
		snprintf(r->release, sizeof(r->release), "%s", uts.release);
	rc = callback_address(&addr, err, sizeof(err));
	r->kallsyms_ok = rc != -1;
	r->sync_compiled = rc == 0;
	read_fix(r);
	if (read_list(r, CPU_DIR "/isolated", &r->isolcpus) || read_list(r, CPU_DIR "/nohz_full", &r->nohz_full) ||
	    read_list(r, CGROUP_ISOLATED, &r->cgroup) || read_list(r, CPU_DIR "/online", &r->online) ||
	    read_list(r, CPU_DIR "/present", &present))
		return 0;
	if (!cpuset_count(&r->online) || !cpuset_count(&present)) {
		cannot_tell(r, "cpu_lists_unreadable", "no online CPU in %s/online", CPU_DIR);
		return 0;
	}
	if (check_given_cpus(r, o, &present)) {
		cpuset_free(&present);
		return -1;
	}
	cpuset_free(&present);
	r->ncpus = measured_cpus(r);
	if (r->ncpus < 0) {
		cannot_tell(r, "no_memory", "out of memory");
		r->ncpus = 0;
		return 0;
	}
	r->load_cpu = -1;
	if (o->housekeeping >= 0) {
		if (!cpuset_has(&r->online, o->housekeeping) || cpu_role(r, o->housekeeping))
			return snprintf(o->error, sizeof(o->error),
					"--house-keeping %d: not an online CPU that is not isolated", o->housekeeping), -1;
		r->load_cpu = o->housekeeping;
	}
	/* The first housekeeping CPU this process may run on. */
	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		CPU_ZERO(&allowed);
	for (i = 0; r->load_cpu < 0 && i < r->ncpus; i++)
		if (!r->cpus[i].role && r->cpus[i].cpu < CPU_SETSIZE && CPU_ISSET(r->cpus[i].cpu, &allowed))
			r->load_cpu = r->cpus[i].cpu;
	if (rc == -1)
		cannot_tell(r, "kallsyms_unreadable", "%s: whether this kernel has the page-table sync IPI is unknown", err);
	return 0;
}

static const char *signal_text(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	case SIGQUIT:
		return "SIGQUIT";
	default:
		return "a signal";
	}
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void count_window(struct report *r, struct trace *t, struct load *l, double seconds)
{
	long *before = calloc((size_t)r->online.size + 1, sizeof(long));
	long *after = calloc((size_t)r->online.size + 1, sizeof(long));
	char why[300];
	double start, left;
	struct timespec ts;
	int i;

	if (!before || !after) {
		cannot_tell(r, "no_memory", "out of memory");
		goto out;
	}
	r->load = l->kind;
	read_function_call_ipis("/proc/interrupts", before, r->online.size);
	start = now();
	if (l->kind != LOAD_NONE && load_start(l, why, sizeof(why))) {
		cannot_tell(r, "load_failed", "%s", why);
		goto out;
	}
	while (!interrupted && (left = start + seconds - now()) > 0) {
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
	r->seconds_ran = now() - start;
	load_end(l);
	if (l->died >= 0) {
		if (l->died == LOAD_EXIT_UNPINNED)
			cannot_tell(r, "load_failed", "the load could not run pinned to cpu%d (the tool's CPU affinity, a cpuset?): use -H with a CPU it may run on", l->cpu);
		else
			cannot_tell(r, "load_failed", "the load process ended by itself (status %d) after %.1f s", l->died, r->seconds_ran);
		goto out;
	}
	trace_stop(t);
	read_function_call_ipis("/proc/interrupts", after, r->online.size);
	if (interrupted)
		r->signal_name = signal_text(interrupted);
	r->operations = l->ops ? *l->ops : 0;
	for (i = 0; i < r->ncpus; i++) {
		struct cpu_result *c = &r->cpus[i];

		c->sync = trace_count(t, c->cpu, why, sizeof(why));
		if (c->sync < 0 && c->role) {
			cannot_tell(r, "count_failed", "%s", why);
			goto out;
		}
		if (c->sync < 0)
			c->sync = 0;
		if (before[c->cpu] >= 0 && after[c->cpu] >= 0)
			c->cal = irq_counter_delta(before[c->cpu], after[c->cpu]);
	}
	r->counting = t->method;
	r->measured = true;
	decide(r);
out:
	free(before);
	free(after);
}

static int take_lock(char *why, size_t len)
{
	int fd = open(QS_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		snprintf(why, len, "cannot open %s: %s", QS_LOCK_FILE, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		snprintf(why, len, errno == EWOULDBLOCK ? "another instance is running (%s)" : "cannot lock %s",
			 QS_LOCK_FILE);
		close(fd);
		return -1;
	}
	return fd;
}

/* Undo what a killed run left (QS_STATE_FILE); say so on stderr. */
static void cleanup_stale(void)
{
	char *state = read_all(QS_STATE_FILE);
	const char *p;
	long pid = -1, over = -1;
	bool mounted = false;
	int n;

	if (state) {
		p = strstr(state, "pid ");
		pid = p ? strtol(p + 4, NULL, 10) : -1;
		p = strstr(state, "nr_overcommit_hugepages ");
		over = p ? strtol(p + 24, NULL, 10) : -1;
		mounted = strstr(state, "tracefs_mounted 1") != NULL;
		free(state);
		if (over >= 0) {
			load_put_back_overcommit(over);
			fprintf(stderr, "quietsync-check: nr_overcommit_hugepages put back to %ld (run %ld ended before restoring it)\n",
				over, pid);
		}
		unlink(QS_STATE_FILE);
	}
	n = trace_remove_stale();
	if (n)
		fprintf(stderr, "quietsync-check: removed %d trace instance%s of a run that ended before its cleanup\n",
			n, n > 1 ? "s" : "");
	if (mounted && !umount(QS_TRACEFS))
		fprintf(stderr, "quietsync-check: unmounted the tracefs run %ld had mounted\n", pid);
}

static void run_check(struct report *r, const struct options *o)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct trace t = { .method = NULL };
	struct load l;
	char why[700];
	int lock;

	load_init(&l);
	l.cpu = r->load_cpu;
	if (r->verdict == V_CANNOT_TELL)
		return;
	if (!r->sync_compiled) {
		r->verdict = V_NOT_EXPOSED;
		r->code = "no_sync_ipi";
		snprintf(r->why, sizeof(r->why), "this kernel has no page-table sync IPI (no %s in /proc/kallsyms)", QS_CALLBACK);
		return;
	}
	if (!isolated_count(r)) {
		r->verdict = V_NOT_EXPOSED;
		r->code = "no_isolated_cpus";
		snprintf(r->why, sizeof(r->why), "no isolated CPUs (nohz_full=, isolcpus=, cgroup isolated partitions)");
		return;
	}
	if (geteuid()) {
		cannot_tell(r, "not_root", "not root: tracefs needs root");
		return;
	}
	if (o->load && r->load_cpu < 0) {
		cannot_tell(r, "no_housekeeping_cpu", "--load needs a housekeeping CPU this process may run on: none is online, not isolated and in its CPU affinity");
		return;
	}
	lock = take_lock(why, sizeof(why));
	if (lock < 0) {
		cannot_tell(r, "locked", "%s", why);
		return;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	cleanup_stale();
	if (state_begin())
		fprintf(stderr, "quietsync-check: cannot write %s (%s)\n", QS_STATE_FILE, strerror(errno));
	/* Enabling an event patches kernel text: before the load runs. */
	if (trace_start(&t, why, sizeof(why)))
		cannot_tell(r, "no_counting", "%s", why);
	else if (o->load && load_prepare(&l, &interrupted, why, sizeof(why)))
		cannot_tell(r, interrupted ? "interrupted" : "load_failed", "%s", why);
	else if (interrupted)
		cannot_tell(r, "interrupted", "interrupted by %s before the window began: nothing measured",
			    signal_text(interrupted));
	else
		count_window(r, &t, &l, o->seconds);
	load_end(&l);
	/* What could not be undone stays recorded for the next run. */
	if (trace_end(&t))
		fprintf(stderr, "quietsync-check: could not remove all of the trace instance %s (in use?): the next run or --cleanup will\n",
			t.instance);
	else
		state_end();
	close(lock);
}

static int emit(const struct report *r, const struct options *o, FILE *out)
{
	if (o->json)
		print_json(out, r);
	if (!o->json || o->json_file)
		print_text(stdout, r);
	if (out != stdout)
		fclose(out);
	return exit_code(r->verdict);
}

int main(int argc, char **argv)
{
	struct options o = { .seconds = 10, .housekeeping = -1, .max_ipis = -1 };
	static struct report r;
	FILE *out = stdout;
	int rc;

	r.mode = "check";
	r.verdict = V_NOT_EXPOSED;
	r.code = "";
	r.tolerated_percent = TOLERATED_PERCENT;
	rc = parse_options(argc, argv, &o);
	r.max_ipis = o.max_ipis;
	/* Before any measuring: a FILE that cannot be written is a usage error. */
	if (!rc && o.json && o.json_file && !(out = fopen(o.json_file, "we"))) {
		snprintf(o.error, sizeof(o.error), "--json=%s: %s", o.json_file, strerror(errno));
		out = stdout;
		rc = -1;
	}
	if (!rc && o.cleanup) {
		char why[300];
		int lock;

		if (geteuid()) {
			fprintf(stderr, "quietsync-check: --cleanup needs root\n");
			return EXIT_CANNOT_TELL;
		}
		lock = take_lock(why, sizeof(why));
		if (lock < 0) {
			fprintf(stderr, "quietsync-check: %s\n", why);
			return EXIT_CANNOT_TELL;
		}
		cleanup_stale();
		return EXIT_FINE;
	}
	if (!rc)
		rc = read_machine(&r, &o);
	if (rc) {
		for (char *p = o.error; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
		fprintf(stderr, "quietsync-check: %s (see --help)\n", o.error);
		if (o.json) {
			r.mode = "usage";
			r.verdict = V_USAGE;
			r.code = "usage";
			snprintf(r.why, sizeof(r.why), "%s", o.error);
			r.ncpus = 0;
			print_json(out, &r);
		}
		return EXIT_USAGE;
	}
	if (o.status) {
		r.mode = "status";
		rc = status_run(&r, o.json, out);
		if (out != stdout) {
			fclose(out);
			status_run(&r, false, stdout);
		}
		return rc;
	}
	run_check(&r, &o);
	return emit(&r, &o, out);
}
