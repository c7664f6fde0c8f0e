/* SPDX-License-Identifier: GPL-2.0 */
/* quietsync-check: what was found, the verdict, and how it is printed. */
#ifndef QS_REPORT_H
#define QS_REPORT_H

#include "cpus.h"
#include "load.h"

#include <stdbool.h>
#include <stdio.h>

/* The monitoring plugins' convention: fleets alert on these. */
enum {
	EXIT_FINE = 0,
	EXIT_EXPOSED = 1,
	EXIT_CANNOT_TELL = 3,
	EXIT_USAGE = 64,
};

#define JSON_SCHEMA_VERSION 2

enum verdict { V_NOT_EXPOSED, V_EXPOSED, V_FIXED, V_CANNOT_TELL, V_USAGE };

enum role {
	ROLE_NOHZ_FULL = 1,	/* nohz_full=: context tracking runs there */
	ROLE_ISOLCPUS = 2,	/* isolcpus= */
	ROLE_CGROUP = 4,	/* cpuset.cpus.isolated (cgroup v2) */
	ROLE_GIVEN = 8,		/* named by --cpus */
};

struct cpu_result {
	int cpu;
	unsigned int role;	/* 0: housekeeping */
	long sync;		/* sync IPIs counted, -1 not counted */
	long cal;		/* function-call IPIs, -1 not shown */
	const char *reason;	/* why the rule cannot spare it, or NULL */
};

struct report {
	const char *mode;	/* "check", "status", "cleanup", "usage" */
	char release[65];
	bool kallsyms_ok, sync_compiled;
	struct cpuset isolcpus, nohz_full, cgroup, given, online;
	bool livepatch, lp_transition, series;
	char lp_status[16], policy[64], thp[16];
	/* The livepatch's rule ("flushed" or "quiet") and why, or empty. */
	char lp_rule[16], lp_rule_why[200];
	/* A check's window and its load. */
	double seconds_asked, seconds_ran;
	const char *signal_name;	/* the signal that ended it, or NULL */
	enum load_kind load;
	int load_cpu;
	long operations, observed;	/* -1: not measured */
	const char *counting;		/* "csd event", "kprobe event" */
	struct cpu_result *cpus;
	int ncpus;			/* rows of cpus: the online CPUs */
	bool measured;			/* a window was counted: cpus hold counts */
	int tolerated_percent;
	long max_ipis;			/* absolute bound per isolated CPU, -1 none */
	long max_isolated;
	int max_cpu;
	enum verdict verdict;
	const char *code;		/* machine-readable reason */
	char why[768];
	char notes[1024];		/* who is still hit, and why; THP */
};

/* The role of a CPU from the kernel's lists (and --cpus). */
unsigned int cpu_role(const struct report *r, int cpu);
const char *role_text(unsigned int role);
bool fix_active(const struct report *r);
void cannot_tell(struct report *r, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The verdict of a measured window (r->cpus filled). */
void decide(struct report *r);
int exit_code(enum verdict v);
void print_text(FILE *out, const struct report *r);
void print_json(FILE *out, const struct report *r);
/* A JSON string of @s, quotes included. */
void json_string(FILE *out, const char *s);

#endif
