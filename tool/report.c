// SPDX-License-Identifier: GPL-2.0
/* quietsync-check: the verdict, and the text and JSON that carry it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifndef QS_VERSION
#define QS_VERSION "(built outside a package)"
#endif

static const char *const verdict_text[] = {
	[V_NOT_EXPOSED] = "not exposed",
	[V_EXPOSED] = "exposed",
	[V_FIXED] = "fix active and verified",
	[V_CANNOT_TELL] = "cannot tell",
	[V_USAGE] = "usage error",
};

unsigned int cpu_role(const struct report *r, int cpu)
{
	unsigned int role = 0;

	if (cpuset_has(&r->nohz_full, cpu))
		role |= ROLE_NOHZ_FULL;
	if (cpuset_has(&r->isolcpus, cpu))
		role |= ROLE_ISOLCPUS;
	if (cpuset_has(&r->cgroup, cpu))
		role |= ROLE_CGROUP;
	if (r->given.size) {
		if (!cpuset_has(&r->given, cpu))
			return 0;
		role |= ROLE_GIVEN;
	}
	return role;
}

const char *role_text(unsigned int role)
{
	if (!role)
		return "housekeeping";
	if (role & ROLE_NOHZ_FULL)
		return "nohz_full";
	if (role & ROLE_ISOLCPUS)
		return "isolcpus";
	if (role & ROLE_CGROUP)
		return "cgroup";
	return "given";
}

bool fix_active(const struct report *r)
{
	return r->livepatch ||
		(r->series && (!strcmp(r->policy, "quiet") || !strcmp(r->policy, "quiet-flush")));
}

/* The livepatch in force with its "flushed" rule (no sync IPI at all). */
static bool flushed_rule(const struct report *r)
{
	return r->livepatch && !strcmp(r->lp_rule, "flushed");
}

void cannot_tell(struct report *r, const char *code, const char *fmt, ...)
{
	va_list ap;

	r->verdict = V_CANNOT_TELL;
	r->code = code;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

static void note(struct report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(struct report *r, const char *fmt, ...)
{
	size_t len = strlen(r->notes);
	va_list ap;

	if (len + 2 >= sizeof(r->notes))
		return;
	if (len)
		r->notes[len++] = '\n';
	va_start(ap, fmt);
	vsnprintf(r->notes + len, sizeof(r->notes) - len, fmt, ap);
	va_end(ap);
}

/* Why the rule cannot spare an isolated CPU that took syncs. */
static const char *not_spared(const struct report *r, const struct cpu_result *c)
{
	if (!fix_active(r))
		return "no fix active: every sync interrupts every online CPU (install quietsync, or boot a kernel with the series)";
	if (flushed_rule(r))
		return "unexpected: the livepatch's flushed rule sends no sync IPI; a livepatch transition still in progress, or a copy of the sync the compiler inlined elsewhere (which no livepatch of the function replaces), sent them";
	if (!(c->role & ROLE_NOHZ_FULL))
		return "not nohz_full: RCU watches this CPU while a task runs there in user space, so the rule cannot spare it; add it to nohz_full= and rcu_nocbs=";
	if (r->livepatch)
		return "nohz_full, but in the kernel when the syncs came: a thread of the process whose memory is collapsed or unshared runs there (its own TLB flush has just entered the kernel; a kernel with the quietsync series spares it, the livepatch cannot), or the CPU enters the kernel often; no trace event names the process behind a sync, so the tool cannot say which";
	return "nohz_full, but in the kernel when the syncs came (system calls, interrupts, or a thread of the process doing the operations that the caller's TLB flush did not reach); the tool cannot say which process";
}

static bool over_bound(const struct report *r, long sync)
{
	return sync * 100 > r->observed * r->tolerated_percent ||
		(r->max_ipis >= 0 && sync > r->max_ipis);
}

void decide(struct report *r)
{
	struct cpu_result *c;
	int hit = 0, i;

	r->observed = r->operations > 0 ? r->operations : 0;
	r->max_isolated = -1;
	r->max_cpu = -1;
	for (i = 0; i < r->ncpus; i++) {
		c = &r->cpus[i];
		if (c->sync > r->observed)
			r->observed = c->sync;
		if (c->role && c->sync > r->max_isolated) {
			r->max_isolated = c->sync;
			r->max_cpu = c->cpu;
		}
	}
	/*
	 * Counting that failed must not read as good news: with --load, an
	 * isolated CPU that took about one function-call IPI per operation
	 * (90% to 150%, and 20 more) but almost no counted sync was not
	 * counted right. One way only: CAL also counts flush and
	 * text-patching IPIs, so a CPU that took far more than the
	 * operations (modules loading at boot: thousands) says nothing.
	 * Only without a fix, where the verdict would otherwise be "not
	 * exposed": with the livepatch, a Debian 13 machine at boot gave
	 * 42 function-call IPIs in 37 collapses and no sync on each
	 * isolated CPU (other per-operation IPIs), so there it cannot tell
	 * broken counting from a working fix, whose state is read anyway.
	 */
	for (i = 0; !fix_active(r) && r->load != LOAD_NONE && r->operations > 0 && i < r->ncpus; i++) {
		c = &r->cpus[i];
		if (c->role && c->cal >= 0 && c->cal * 10 >= r->operations * 9 &&
		    c->cal * 2 <= r->operations * 3 + 40 && c->sync * 10 < r->operations) {
			cannot_tell(r, "count_disagrees",
				    "cpu%d took %ld function-call IPIs in %ld operations but only %ld sync IPIs were counted (%s): the count cannot be trusted",
				    c->cpu, c->cal, r->operations, c->sync, r->counting);
			return;
		}
	}
	for (i = 0; i < r->ncpus; i++) {
		c = &r->cpus[i];
		if (!c->role)
			continue;
		if (over_bound(r, c->sync)) {
			hit++;
			c->reason = not_spared(r, c);
		} else if (c->sync > 0 && fix_active(r)) {
			c->reason = not_spared(r, c);
		} else if (!(c->role & ROLE_NOHZ_FULL) && fix_active(r) && !flushed_rule(r)) {
			note(r, "cpu%d (%s only): spared while idle; a task running there in user space would take every sync, as RCU watches it without nohz_full= (add nohz_full= and rcu_nocbs=)",
			     c->cpu, role_text(c->role));
		}
	}
	if (r->thp[0])
		note(r, "THP: %s%s", r->thp,
		     !strcmp(r->thp, "never") ?
		     " (khugepaged does not collapse, but MADV_COLLAPSE from any program still does: it ignores the mode)" :
		     " (MADV_COLLAPSE collapses whatever the mode)");
	if (hit) {
		r->verdict = V_EXPOSED;
		r->code = fix_active(r) ? "exposed_despite_fix" : "exposed";
		snprintf(r->why, sizeof(r->why),
			 "%d isolated CPU%s took more than %s%d%% of %ld syncs%s; the most: %ld on cpu%d",
			 hit, hit > 1 ? "s" : "", r->max_ipis >= 0 ? "the bound or " : "",
			 r->tolerated_percent, r->observed,
			 fix_active(r) ? ", although a fix is active (see why below)" : "",
			 r->max_isolated, r->max_cpu);
	} else if (!r->observed) {
		cannot_tell(r, "no_syncs", "no page-table sync in %.1f s%s%s%s", r->seconds_ran,
			    r->load == LOAD_NONE ? ": run with --load" : " although --load ran ",
			    load_text[r->load], r->load == LOAD_NONE ? "" : " operations");
	} else if (fix_active(r)) {
		r->verdict = V_FIXED;
		r->code = "fixed";
		snprintf(r->why, sizeof(r->why), "%ld operations that sync, isolated CPUs spared: the most %ld sync IPIs, on cpu%d; %s%s%s active",
			 r->observed, r->max_isolated, r->max_cpu,
			 r->livepatch ? "livepatch" : "series",
			 r->livepatch && r->lp_status[0] ? " for a release " : "",
			 r->livepatch ? r->lp_status : "");
	} else {
		r->verdict = V_NOT_EXPOSED;
		r->code = "spared";
		snprintf(r->why, sizeof(r->why), "%ld operations that sync, isolated CPUs spared: the most %ld sync IPIs, on cpu%d",
			 r->observed, r->max_isolated, r->max_cpu);
	}
}

int exit_code(enum verdict v)
{
	switch (v) {
	case V_EXPOSED:
		return EXIT_EXPOSED;
	case V_CANNOT_TELL:
		return EXIT_CANNOT_TELL;
	case V_USAGE:
		return EXIT_USAGE;
	default:
		return EXIT_FINE;
	}
}

static void print_list(FILE *out, const char *label, const struct cpuset *s)
{
	char *text;

	if (!cpuset_count(s))
		return;
	text = cpuset_format(s);
	fprintf(out, "%s%s", label, text ? text : "?");
	free(text);
}

void print_text(FILE *out, const struct report *r)
{
	const struct cpu_result *c;
	int i;

	if (r->release[0])
		fprintf(out, "kernel: %s\n", r->release);
	if (r->kallsyms_ok)
		fprintf(out, "page-table sync IPI compiled in: %s\n", r->sync_compiled ? "yes" : "no");
	fputs("isolated:", out);
	if (!cpuset_count(&r->isolcpus) && !cpuset_count(&r->nohz_full) && !cpuset_count(&r->cgroup))
		fputs(" none", out);
	print_list(out, " nohz_full=", &r->nohz_full);
	print_list(out, " isolcpus=", &r->isolcpus);
	print_list(out, " cgroup=", &r->cgroup);
	print_list(out, "; --cpus ", &r->given);
	fputs("\n", out);
	fprintf(out, "quietsync livepatch enabled: %s%s%s%s; series policy: %s\n",
		r->livepatch ? "yes" : "no", r->lp_status[0] ? " (" : "", r->lp_status,
		r->lp_status[0] ? ")" : "", r->series ? r->policy : "none");
	if (r->lp_rule[0])
		fprintf(out, "livepatch rule: %s%s%s%s\n", r->lp_rule,
			!strcmp(r->lp_rule, "flushed") ? " (no sync IPI at all)" : " (IPIs only CPUs RCU watches)",
			r->lp_rule_why[0] ? ": " : "", r->lp_rule_why);
	if (r->measured) {
		fprintf(out, "watched %.1f s%s%s", r->seconds_ran, r->signal_name ? ", ended by " : "",
			r->signal_name ? r->signal_name : "");
		if (r->load != LOAD_NONE)
			fprintf(out, ", load %s: %ld operations on cpu%d", load_text[r->load],
				r->operations, r->load_cpu);
		fprintf(out, "; counted with the %s\n", r->counting);
		fprintf(out, "%-6s %-12s %14s %14s\n", "cpu", "role", "sync IPIs/s", "all IPIs/s");
		for (i = 0; i < r->ncpus; i++) {
			c = &r->cpus[i];
			fprintf(out, "%-6d %-12s %14.1f ", c->cpu, role_text(c->role),
				(double)c->sync / r->seconds_ran);
			if (c->cal >= 0)
				fprintf(out, "%14.1f\n", (double)c->cal / r->seconds_ran);
			else
				fprintf(out, "%14s\n", "-");
		}
		for (i = 0; i < r->ncpus; i++)
			if (r->cpus[i].reason)
				fprintf(out, "cpu%d: %ld sync IPIs: %s\n", r->cpus[i].cpu,
					r->cpus[i].sync, r->cpus[i].reason);
	}
	if (r->notes[0])
		fprintf(out, "%s\n", r->notes);
	fprintf(out, "verdict: %s (%s)\n", verdict_text[r->verdict], r->why);
}

void json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	fputc('"', out);
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p == '\t')
			fputs("\\t", out);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void json_list(FILE *out, const char *key, const struct cpuset *s)
{
	char *text = cpuset_format(s);

	fprintf(out, "\"%s\": ", key);
	json_string(out, text ? text : "");
	fputs(", ", out);
	free(text);
}

void print_json(FILE *out, const struct report *r)
{
	const struct cpu_result *c;
	int i;

	fprintf(out, "{\"schema_version\": %d, \"tool_version\": ", JSON_SCHEMA_VERSION);
	json_string(out, QS_VERSION);
	fputs(", \"mode\": ", out);
	json_string(out, r->mode);
	fputs(", \"kernel\": ", out);
	json_string(out, r->release);
	fprintf(out, ", \"sync_compiled\": %s, ",
		!r->kallsyms_ok ? "null" : r->sync_compiled ? "true" : "false");
	json_list(out, "nohz_full", &r->nohz_full);
	json_list(out, "isolcpus", &r->isolcpus);
	json_list(out, "cgroup_isolated", &r->cgroup);
	json_list(out, "cpus_given", &r->given);
	fputs("\"thp\": ", out);
	json_string(out, r->thp);
	fprintf(out, ", \"livepatch\": %s, \"livepatch_status\": ", r->livepatch ? "true" : "false");
	json_string(out, r->lp_status);
	fputs(", \"livepatch_rule\": ", out);
	json_string(out, r->lp_rule);
	fputs(", \"livepatch_rule_why\": ", out);
	json_string(out, r->lp_rule_why);
	fputs(", \"series_policy\": ", out);
	json_string(out, r->series ? r->policy : "");
	if (r->measured) {
		fprintf(out, ", \"seconds\": %.2f, \"ended_by\": ", r->seconds_ran);
		json_string(out, r->signal_name ? r->signal_name : "");
		fputs(", \"load\": ", out);
		json_string(out, load_text[r->load]);
		fprintf(out, ", \"load_cpu\": %d, \"operations\": %ld, \"syncs_observed\": %ld, \"counting\": ",
			r->load_cpu, r->operations, r->observed);
		json_string(out, r->counting);
	} else {
		fputs(", \"seconds\": null, \"load\": \"\", \"operations\": null", out);
	}
	fputs(", \"cpus\": [", out);
	for (i = 0; r->measured && i < r->ncpus; i++) {
		c = &r->cpus[i];
		fprintf(out, "%s{\"cpu\": %d, \"isolated\": %s, \"role\": \"%s\", \"sync_ipis\": %ld, \"all_ipis\": ",
			i ? ", " : "", c->cpu, c->role ? "true" : "false", role_text(c->role), c->sync);
		if (c->cal >= 0)
			fprintf(out, "%ld", c->cal);
		else
			fputs("null", out);
		fputs(", \"not_spared_because\": ", out);
		if (c->reason)
			json_string(out, c->reason);
		else
			fputs("null", out);
		fputs("}", out);
	}
	fputs("], \"max_isolated_sync_ipis\": ", out);
	if (r->measured && r->max_cpu >= 0)
		fprintf(out, "%ld, \"max_isolated_cpu\": %d", r->max_isolated, r->max_cpu);
	else
		fputs("null, \"max_isolated_cpu\": null", out);
	fputs(", \"notes\": ", out);
	json_string(out, r->notes);
	fputs(", \"verdict\": ", out);
	json_string(out, verdict_text[r->verdict]);
	fputs(", \"reason_code\": ", out);
	json_string(out, r->code);
	fputs(", \"reason\": ", out);
	json_string(out, r->why);
	fprintf(out, ", \"exit\": %d}\n", exit_code(r->verdict));
}
