// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's measurements that sync_ipi does not make, per policy, in
 * one boot (make bench):
 *
 *   GUP-fast throughput: the kernel's own tools/testing/selftests/mm
 *   gup_test in its PIN_FAST_BENCHMARK mode (pin_user_pages_fast() over
 *   32 MiB of small pages, CONFIG_GUP_TEST), on CPU0 with nothing else
 *   running. After one run left out (the first exec pays for cold
 *   caches), the rounds interleave the policies (round 1: every policy,
 *   round 2: every policy, ..., each round starting at the next policy)
 *   so that drift of the emulator's speed and the place in a round land
 *   on all of them alike. Each policy's figure is the fastest run
 *   (noise on a shared 2-core host only ever adds time; under TCG the
 *   times are bimodal, 3.3 ms or 5.8 ms for the same work), with the
 *   median beside it.
 *
 *   Real-time loop latency: oslat (Debian's rt-tests) on the isolated
 *   CPUs 1..N-1 for D seconds while CPU0 collapses huge pages without
 *   pause (sync_ipi --storm): its maximum and the number of gaps over
 *   10 us, with the sync IPIs the oslat CPUs received in the window.
 *
 * Usage: bench_policy [-r rounds] [-d oslat_seconds] -p policy,...
 */
#include "ipicount.h"
#include "ktap.h"
#include "policy.h"
#include "proc.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GUP_TEST_FILE "/sys/kernel/debug/gup_test"
/* Built by lab/selftests.sh, packed by lab/bench.sh. */
#define GUP_TEST "/selftests/mm/gup_test"
#define MAX_POLICIES 10
#define MAX_ROUNDS 64
#define GUP_PER_ROUND 3
#define MAX_CPUS 16
/* oslat's buckets are 1 us wide: "011 (us)" and above are gaps over 10 us. */
#define GAP_BUCKET 11

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* "get:N" times (us) of gup_test's output appended to @t; returns count. */
static int parse_gup_times(const char *out, long *t, int n, int max)
{
	const char *p = out;

	while (n < max && (p = strstr(p, "get:"))) {
		p += 4;
		t[n++] = strtol(p, NULL, 10);
	}
	return n;
}

struct gup_result {
	long times[MAX_ROUNDS * GUP_PER_ROUND];
	int n;
	bool failed;
};

static void measure_gup(char **policies, int npolicies, int rounds,
			struct gup_result *res)
{
	static char out[16384];
	char *argv[] = { GUP_TEST, "-a", "-T", "-m", "32", "-r", "3",
			 NULL };
	int r, j, i;

	run_capture(argv, true, out, sizeof(out));
	for (r = 0; r < rounds; r++)
		for (j = 0; j < npolicies; j++) {
			int before;

			i = (r + j) % npolicies;
			before = res[i].n;

			if (!select_policy(policies[i]) ||
			    run_capture(argv, true, out, sizeof(out)) != 0) {
				res[i].failed = true;
				continue;
			}
			res[i].n = parse_gup_times(out, res[i].times, res[i].n,
						   MAX_ROUNDS * GUP_PER_ROUND);
			if (res[i].n == before) {
				ktap_diag("gup_test printed no time: %.200s", out);
				res[i].failed = true;
			}
		}
}

/* Sorts @v: v[0] is then the minimum. */
static long median(long *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_long);
	return n ? v[n / 2] : -1;
}

struct oslat_result {
	long max_us;
	long gaps;
	long sync_ipis;
	bool ok;
};

/*
 * oslat's text output: per bucket "NNN (us):  c1 c2 ..." (one column per
 * CPU, the last bucket including overflows) and "Maximum:  m1 m2 ... (us)".
 */
static void parse_oslat(const char *out, struct oslat_result *r)
{
	const char *line = out;

	r->max_us = -1;
	r->gaps = 0;
	while (line && *line) {
		const char *us = strstr(line, " (us):");
		const char *eol = strchr(line, '\n');
		char *end;

		if (us && (!eol || us < eol) && atoi(line) >= GAP_BUCKET) {
			const char *p = us + 6;

			for (;;) {
				long v = strtol(p, &end, 10);

				if (end == p)
					break;
				r->gaps += v;
				p = end;
			}
		}
		if (!strncmp(line + strspn(line, " \t"), "Maximum:", 8)) {
			const char *p = strchr(line, ':') + 1;

			for (;;) {
				long v = strtol(p, &end, 10);

				if (end == p)
					break;
				if (v > r->max_us)
					r->max_us = v;
				p = end;
			}
		}
		line = eol ? eol + 1 : NULL;
	}
}

static void measure_oslat(const char *policy, int seconds, int ncpus,
			  struct oslat_result *r)
{
	static char out[65536];
	char cpus[16], duration[16];
	char *argv[] = { "/usr/bin/oslat", "--cpu-list", cpus, "--duration",
			 duration, "--cpu-main-thread", "0", NULL };
	pid_t storm;
	int cpu, rc;

	memset(r, 0, sizeof(*r));
	snprintf(cpus, sizeof(cpus), "1-%d", ncpus - 1);
	snprintf(duration, sizeof(duration), "%d", seconds);
	if (!select_policy(policy) || ipitrace_restart())
		return;
	storm = start_storm("collapse");
	rc = run_capture(argv, true, out, sizeof(out));
	/* The storm must have run for the whole of oslat's window. */
	r->ok = rc == 0 && waitpid(storm, NULL, WNOHANG) == 0;
	kill(storm, SIGKILL);
	waitpid(storm, NULL, 0);
	ipitrace_stop();
	for (cpu = 1; cpu < ncpus; cpu++)
		r->sync_ipis += ipitrace_count(cpu);
	if (rc != 0)
		ktap_diag("oslat exited %d: %.300s", rc, out);
	parse_oslat(out, r);
	r->ok = r->ok && r->max_us >= 0;
}

int main(int argc, char **argv)
{
	static struct gup_result gup[MAX_POLICIES];
	char *policies[MAX_POLICIES], name[96];
	int opt, npolicies = 0, rounds = 5, seconds = 10, i, ncpus;
	bool have_gup;
	struct ktap k;
	long med;

	while ((opt = getopt(argc, argv, "r:d:p:")) != -1) {
		switch (opt) {
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'd':
			seconds = atoi(optarg);
			break;
		case 'p':
			npolicies = split_policies(optarg, policies, MAX_POLICIES);
			break;
		default:
			npolicies = 0;
			break;
		}
	}
	if (!npolicies || rounds < 1 || rounds > MAX_ROUNDS || seconds < 1) {
		fprintf(stderr, "usage: bench_policy [-r rounds (1-%d)] [-d oslat_seconds] -p policy,...\n",
			MAX_ROUNDS);
		return 2;
	}
	ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	ktap_header(&k, 1 + 2 * npolicies);
	if (ncpus < 2 || ncpus > MAX_CPUS)
		ktap_bail(&k, "needs 2 to 16 CPUs");
	if (!ktap_result(&k, ipitrace_start(QS_SYNC_CALLBACK) == 0,
			 "sync_ipi_tracing_ready"))
		ktap_bail(&k, "tracing unavailable");

	have_gup = access(GUP_TEST_FILE, F_OK) == 0;
	if (have_gup) {
		console_progress("gup_test: %d rounds over %d policies", rounds,
				 npolicies);
		measure_gup(policies, npolicies, rounds, gup);
	}
	for (i = 0; i < npolicies; i++) {
		snprintf(name, sizeof(name), "%s_gup_fast_benchmark", policies[i]);
		if (!have_gup) {
			ktap_skip(&k, name, "no " GUP_TEST_FILE " (CONFIG_GUP_TEST off)");
			continue;
		}
		med = median(gup[i].times, gup[i].n);
		ktap_diag("metric bench=gup policy=%s runs=%d get_us_median=%ld get_us_min=%ld",
			  policies[i], gup[i].n, med, gup[i].n ? gup[i].times[0] : -1);
		ktap_result(&k, !gup[i].failed && gup[i].n == rounds * GUP_PER_ROUND,
			    name);
	}
	for (i = 0; i < npolicies; i++) {
		struct oslat_result r;

		console_progress("oslat: %d s under %s", seconds, policies[i]);
		measure_oslat(policies[i], seconds, ncpus, &r);
		ktap_diag("metric bench=oslat policy=%s seconds=%d cpus=1-%d max_us=%ld gaps_over_10us=%ld sync_ipis=%ld",
			  policies[i], seconds, ncpus - 1, r.max_us, r.gaps,
			  r.sync_ipis);
		snprintf(name, sizeof(name), "%s_oslat_under_collapse_storm",
			 policies[i]);
		ktap_result(&k, r.ok, name);
	}
	return ktap_finish(&k);
}
