// SPDX-License-Identifier: GPL-2.0
/*
 * quietsync-check's parts without a kernel (KTAP): CPU lists of any length
 * and layout, /proc/interrupts matched by its header, JSON escaping, and
 * the verdict with each CPU's role and reason. Built and run by
 * tests/tool.sh against the tool's sources.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cpus.h"
#include "load.h"
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n, failed;

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d ", ok ? "" : "not ", ++n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failed += !ok;
}

static void lists(void)
{
	struct cpuset s;
	char err[200], big[4096], *text;
	int i, len = 0;

	check(!cpuset_parse("0-3,8-11", &s, err, sizeof(err)) && cpuset_count(&s) == 8 &&
	      cpuset_last(&s) == 11 && !cpuset_has(&s, 5), "cpus: a sparse list 0-3,8-11");
	text = cpuset_format(&s);
	check(text && !strcmp(text, "0-3,8-11"), "cpus: formats back as 0-3,8-11 (%s)", text);
	free(text);
	cpuset_free(&s);
	check(!cpuset_parse("", &s, err, sizeof(err)) && !cpuset_count(&s), "cpus: an empty list");
	check(!cpuset_parse("(null)\n", &s, err, sizeof(err)) && !cpuset_count(&s), "cpus: (null) is empty");
	check(cpuset_parse("3-1", &s, err, sizeof(err)) && strstr(err, "reversed"), "cpus: 3-1 is reversed (%s)", err);
	check(cpuset_parse("2-x", &s, err, sizeof(err)) && strstr(err, "not a CPU number"), "cpus: 2-x does not parse (%s)", err);
	check(!cpuset_parse("1024,4095", &s, err, sizeof(err)) && cpuset_has(&s, 4095) && cpuset_count(&s) == 2,
	      "cpus: ids past 1023");
	cpuset_free(&s);
	check(cpuset_parse("70000", &s, err, sizeof(err)) && strstr(err, "past the largest"), "cpus: 70000 is past any NR_CPUS (%s)", err);
	for (i = 1; i <= 151; i++)
		len += snprintf(big + len, sizeof(big) - (size_t)len, "%s%d", i > 1 ? "," : "", 2 * i);
	check(!cpuset_parse(big, &s, err, sizeof(err)) && cpuset_count(&s) == 151 && cpuset_last(&s) == 302,
	      "cpus: 151 CPUs one by one (%d characters)", len);
	cpuset_free(&s);
}

static void interrupts(void)
{
	const char *path = "/tmp/quietsync-tool-units-interrupts";
	long counts[8];
	FILE *f = fopen(path, "w");
	int rc;

	/* CPU2 offline: the columns are CPU0 CPU1 CPU3. */
	fputs("           CPU0       CPU1       CPU3       \n"
	      "  0:         44          0          0   IO-APIC   2-edge      timer\n"
	      "CAL:       1000       2000       3000   Function call interrupts\n", f);
	fclose(f);
	rc = read_function_call_ipis(path, counts, 8);
	check(!rc && counts[0] == 1000 && counts[1] == 2000 &&
	      counts[2] == -1 && counts[3] == 3000 && counts[4] == -1,
	      "interrupts: columns matched by the header, offline CPU2 shown as none (%ld %ld %ld %ld)",
	      counts[0], counts[1], counts[2], counts[3]);
	f = fopen(path, "w");
	fputs("           CPU0       CPU1\n"
	      "IPI1:         7          9       Function call interrupts\n", f);
	fclose(f);
	check(!read_function_call_ipis(path, counts, 8) && counts[0] == 7 && counts[1] == 9,
	      "interrupts: arm64's IPI1 row");
	f = fopen(path, "w");
	fputs("garbage\n", f);
	fclose(f);
	check(read_function_call_ipis(path, counts, 8) == -1, "interrupts: a header without CPUs is refused");
	remove(path);
}

/* A counter of /proc/interrupts that wrapped (32 bits) in the window. */
static void counter_wrap(void)
{
	check(irq_counter_delta(100, 250) == 150, "interrupts: 100 then 250: 150");
	check(irq_counter_delta(4294967290L, 4) == 10, "interrupts: a 32-bit counter wrapped (4294967290 then 4): 10");
	check(irq_counter_delta(-1, 4) == -1, "interrupts: a CPU not shown before: unknown");
}

static void json(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	json_string(f, "\t1,\n2\"\\\x01");
	fclose(f);
	check(!strcmp(buf, "\"\\t1,\\n2\\\"\\\\\\u0001\""), "json: escaped %s", buf);
	free(buf);
}

/* A report of 4 CPUs: cpu0 housekeeping, the others with @roles. */
static void setup(struct report *r, struct cpu_result *c, const unsigned int roles[3],
		  const long sync[3], const long cal[3], long ops, bool livepatch)
{
	int i;

	memset(r, 0, sizeof(*r));
	memset(c, 0, 4 * sizeof(*c));
	r->cpus = c;
	r->ncpus = 4;
	r->measured = true;
	r->livepatch = livepatch;
	r->load = LOAD_COLLAPSE;
	r->operations = ops;
	r->tolerated_percent = 10;
	r->max_ipis = -1;
	r->seconds_ran = 10;
	r->counting = "csd event";
	for (i = 0; i < 4; i++) {
		c[i].cpu = i;
		c[i].role = i ? roles[i - 1] : 0;
		c[i].sync = i ? sync[i - 1] : 0;
		c[i].cal = i ? cal[i - 1] : 0;
	}
}

static void verdicts(void)
{
	const unsigned int nohz = ROLE_NOHZ_FULL | ROLE_ISOLCPUS, iso = ROLE_ISOLCPUS;
	struct cpu_result c[4];
	struct report r;

	setup(&r, c, (unsigned int[]){ nohz, nohz, nohz }, (long[]){ 100, 100, 100 },
	      (long[]){ 100, 100, 100 }, 100, false);
	decide(&r);
	check(r.verdict == V_EXPOSED && exit_code(r.verdict) == 1 && c[1].reason &&
	      strstr(c[1].reason, "no fix active") && r.max_isolated == 100,
	      "verdict: no fix, every sync on every isolated CPU: exposed, exit 1 (%s)", r.why);
	setup(&r, c, (unsigned int[]){ nohz, iso, nohz }, (long[]){ 0, 100, 0 },
	      (long[]){ 0, 100, 0 }, 100, true);
	decide(&r);
	check(r.verdict == V_EXPOSED && !strcmp(r.code, "exposed_despite_fix") && c[2].reason &&
	      strstr(c[2].reason, "not nohz_full") && !c[1].reason && r.max_cpu == 2,
	      "verdict: livepatch, a busy isolcpus-only CPU: exposed, cpu2 named, not nohz_full the reason");
	setup(&r, c, (unsigned int[]){ nohz, nohz, nohz }, (long[]){ 0, 0, 44 },
	      (long[]){ 0, 0, 244 }, 100, true);
	decide(&r);
	check(r.verdict == V_EXPOSED && c[3].reason && strstr(c[3].reason, "thread of the process"),
	      "verdict: livepatch, a nohz_full CPU taking 44%%: exposed, a thread of the process the reason");
	setup(&r, c, (unsigned int[]){ nohz, iso, nohz }, (long[]){ 0, 0, 1 },
	      (long[]){ 0, 0, 1 }, 100, true);
	decide(&r);
	check(r.verdict == V_FIXED && exit_code(r.verdict) == 0 && strstr(r.notes, "cpu2 (isolcpus only): spared while idle") &&
	      c[3].reason && r.max_isolated == 1,
	      "verdict: livepatch, isolated CPUs spared: fixed, exit 0, the isolcpus-only CPU noted, cpu3's 1 sync explained");
	setup(&r, c, (unsigned int[]){ nohz, nohz, nohz }, (long[]){ 0, 0, 0 },
	      (long[]){ 100, 0, 0 }, 100, false);
	decide(&r);
	check(r.verdict == V_CANNOT_TELL && exit_code(r.verdict) == 3 && !strcmp(r.code, "count_disagrees"),
	      "verdict: 100 function-call IPIs but no sync counted in 100 operations: cannot tell, exit 3 (%s)", r.why);
	setup(&r, c, (unsigned int[]){ nohz, nohz, nohz }, (long[]){ 5000, 0, 0 },
	      (long[]){ 5000, 0, 0 }, 70000, true);
	decide(&r);
	check(r.verdict == V_FIXED, "verdict: 5,000 of 70,000 (7%%) within the relative bound: fixed");
	setup(&r, c, (unsigned int[]){ nohz, nohz, nohz }, (long[]){ 5000, 0, 0 },
	      (long[]){ 5000, 0, 0 }, 70000, true);
	r.max_ipis = 100;
	decide(&r);
	check(r.verdict == V_EXPOSED && strstr(r.why, "5000 on cpu1"),
	      "verdict: the same with --max-ipis 100: exposed, the largest count in the verdict (%s)", r.why);
	setup(&r, c, (unsigned int[]){ nohz, nohz, nohz }, (long[]){ 0, 0, 0 },
	      (long[]){ 0, 0, 0 }, 0, true);
	decide(&r);
	check(r.verdict == V_CANNOT_TELL && !strcmp(r.code, "no_syncs"), "verdict: no sync at all: cannot tell (%s)", r.why);
	/* Modules loading at boot: thousands of text-patching IPIs. */
	setup(&r, c, (unsigned int[]){ nohz, nohz, nohz }, (long[]){ 0, 0, 0 },
	      (long[]){ 3916, 3917, 3917 }, 72, true);
	decide(&r);
	check(r.verdict == V_FIXED, "verdict: 3,916 function-call IPIs in 72 operations say nothing of the count: fixed (%s)", r.why);
	setup(&r, c, (unsigned int[]){ nohz, nohz, nohz }, (long[]){ 0, 0, 0 },
	      (long[]){ 42, 42, 42 }, 37, true);
	decide(&r);
	check(r.verdict == V_FIXED, "verdict: livepatch, 42 function-call IPIs in 37 collapses, no sync: fixed (%s)", r.why);
	check(exit_code(V_USAGE) == 64 && exit_code(V_NOT_EXPOSED) == 0, "exit codes: usage 64, not exposed 0");
}

/*
 * The hugetlb load's pool (issue case 8): its 512 pages are made possible
 * as surplus whatever the free pool holds, so that a production pool's
 * free pages (reserved or about to be taken) stay the application's.
 */
static void pool(void)
{
	/* Whatever free_hugepages and resv_hugepages say: not read. */
	check(load_overcommit_for(0, 0) == 512, "pool: no overcommit: 512 surplus pages allowed");
	check(load_overcommit_for(10, 20) == 532, "pool: 20 surplus in use already: 532 allowed");
	check(load_overcommit_for(1000, 20) == -1, "pool: overcommit already leaves room: unchanged");
	check(load_overcommit_for(-1, 0) == -2, "pool: unreadable: an error, nothing written");
}

int main(void)
{
	printf("TAP version 13\n");
	lists();
	interrupts();
	counter_wrap();
	json();
	verdicts();
	pool();
	printf("1..%d\n# %s\n", n, failed ? "FAIL" : "PASS");
	return failed != 0;
}
