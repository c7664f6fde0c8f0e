// SPDX-License-Identifier: GPL-2.0
/*
 * quietsync-check --status: instant, no tracing, no load, no IPI. The
 * running kernel and whether its Debian line is covered, the livepatch's
 * state, and for every installed kernel of a covered line whether DKMS
 * built the module and its headers are there: the next boot's protection.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "status.h"
#include "util.h"

#include <dirent.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MODULES_DIR "/lib/modules"
#define MAX_KERNELS 64

struct installed {
	char release[256];
	bool module, headers;
};

struct status {
	bool package;		/* the kernel-lines file is there */
	const char *running_line;	/* the covered line of the running kernel */
	char lines[8][16];
	regex_t re[8];
	int nlines;
	struct installed k[MAX_KERNELS];
	int nk;
};

/* livepatch/kernels.txt as installed: "set debian line suite regex". */
static void read_lines(struct status *s)
{
	const char *path = getenv("QUIETSYNC_KERNELS");
	char *text, *line, *save = NULL, set[32], deb[32], ver[16], suite[32], regex[160], full[320], *f;

	text = read_all(path && *path ? path : QS_KERNEL_LINES);
	if (!text)
		return;
	s->package = true;
	for (line = strtok_r(text, "\n", &save); line && s->nlines < 8; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || sscanf(line, "%31s %31s %15s %31s %159s", set, deb, ver, suite, regex) != 5)
			continue;
		f = strstr(regex, "FLAVOUR");
		if (!f)
			continue;
		*f = '\0';
		snprintf(full, sizeof(full), "^%s(amd64|rt-amd64)%s$", regex, f + strlen("FLAVOUR"));
		if (regcomp(&s->re[s->nlines], full, REG_EXTENDED | REG_NOSUB))
			continue;
		snprintf(s->lines[s->nlines], sizeof(s->lines[0]), "%s", ver);
		s->nlines++;
	}
	free(text);
}

static const char *covered_line(const struct status *s, const char *release)
{
	int i;

	for (i = 0; i < s->nlines; i++)
		if (!regexec(&s->re[i], release, 0, NULL, 0))
			return s->lines[i];
	return NULL;
}

static bool module_built(const char *release)
{
	static const char *const ext[] = { "", ".xz", ".zst", ".gz" };
	char path[400];
	size_t i;

	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		snprintf(path, sizeof(path), MODULES_DIR "/%s/updates/dkms/quietsync_livepatch.ko%s",
			 release, ext[i]);
		if (!access(path, F_OK))
			return true;
	}
	return false;
}

static void read_installed(struct status *s)
{
	char path[400];
	struct dirent *d;
	DIR *dir = opendir(MODULES_DIR);

	while (dir && (d = readdir(dir)) && s->nk < MAX_KERNELS) {
		if (d->d_name[0] == '.' || !covered_line(s, d->d_name))
			continue;
		/* A kernel removed leaves its modules directory only with DKMS's. */
		snprintf(path, sizeof(path), "/boot/vmlinuz-%s", d->d_name);
		if (access(path, F_OK))
			continue;
		snprintf(s->k[s->nk].release, sizeof(s->k[0].release), "%s", d->d_name);
		s->k[s->nk].module = module_built(d->d_name);
		snprintf(path, sizeof(path), MODULES_DIR "/%s/build/Makefile", d->d_name);
		s->k[s->nk].headers = !access(path, F_OK);
		s->nk++;
	}
	if (dir)
		closedir(dir);
}

int status_run(struct report *r, bool json, FILE *out)
{
	struct status s = { .nlines = 0 };
	const char *verdict, *code;
	char why[1024] = "";
	int rc, i, first, missing = -1;
	bool isolated = cpuset_count(&r->isolcpus) || cpuset_count(&r->nohz_full) ||
			cpuset_count(&r->cgroup);

	read_lines(&s);
	s.running_line = covered_line(&s, r->release);
	read_installed(&s);
	for (i = 0; i < s.nk; i++)
		if (!s.k[i].module && missing < 0)
			missing = i;
	if (r->verdict == V_CANNOT_TELL && strcmp(r->code, "kallsyms_unreadable")) {
		verdict = "cannot tell", code = r->code, rc = EXIT_CANNOT_TELL;
		snprintf(why, sizeof(why), "%s", r->why);
	} else if (!r->kallsyms_ok) {
		verdict = "cannot tell", code = "kallsyms_unreadable", rc = EXIT_CANNOT_TELL;
		snprintf(why, sizeof(why), "/proc/kallsyms cannot be read, so whether this kernel has the sync IPI is unknown");
	} else if (r->livepatch && r->lp_transition) {
		verdict = "cannot tell", code = "transition", rc = EXIT_CANNOT_TELL;
		snprintf(why, sizeof(why), "the livepatch is in transition (tasks not yet switched: see /sys/kernel/livepatch/quietsync_livepatch/transition)");
	} else if (missing >= 0) {
		verdict = "fix missing", code = "module_missing", rc = EXIT_EXPOSED;
		snprintf(why, sizeof(why), "no livepatch built for the installed kernel %s%s: apt install linux-headers-%s (DKMS then builds it)",
			 s.k[missing].release, s.k[missing].headers ? " although its headers are installed (see /var/lib/dkms/quietsync)" : ", its headers are missing",
			 s.k[missing].release);
	} else if (!r->sync_compiled || !isolated) {
		verdict = "not exposed", code = r->sync_compiled ? "no_isolated_cpus" : "no_sync_ipi", rc = EXIT_FINE;
		snprintf(why, sizeof(why), "%s", r->sync_compiled ? "no isolated CPUs (isolcpus=, nohz_full=, cgroup)" : "this kernel has no page-table sync IPI");
	} else if (fix_active(r)) {
		verdict = "fix loaded", code = "fix_loaded", rc = EXIT_FINE;
		snprintf(why, sizeof(why), "the %s is active; not measured here: quietsync-check --load verifies it (it disturbs the isolated CPUs: a maintenance window)",
			 r->livepatch ? "livepatch" : "series' quiet rule");
	} else {
		verdict = "exposed", code = s.running_line ? "fix_not_loaded" : "not_covered", rc = EXIT_EXPOSED;
		if (s.running_line)
			snprintf(why, sizeof(why), "no fix active on this kernel of the covered line %s: systemctl status quietsync", s.running_line);
		else
			snprintf(why, sizeof(why), "no fix active, and %s is of no Debian kernel line the livepatch covers%s",
				 r->release, s.package ? "" : " (or the quietsync package is not installed)");
	}
	if (json) {
		fprintf(out, "{\"schema_version\": %d, \"mode\": \"status\", \"kernel\": ", JSON_SCHEMA_VERSION);
		json_string(out, r->release);
		fprintf(out, ", \"package_installed\": %s, \"covered_line\": ", s.package ? "true" : "false");
		json_string(out, s.running_line ? s.running_line : "");
		fprintf(out, ", \"sync_compiled\": %s, \"livepatch\": %s, \"livepatch_transition\": %s, \"livepatch_status\": ",
			!r->kallsyms_ok ? "null" : r->sync_compiled ? "true" : "false",
			r->livepatch ? "true" : "false", r->lp_transition ? "true" : "false");
		json_string(out, r->lp_status);
		fputs(", \"thp\": ", out);
		json_string(out, r->thp);
		fputs(", \"isolated_cpus\": [", out);
		for (i = 0, first = 1; i < r->ncpus; i++) {
			if (!r->cpus[i].role)
				continue;
			fprintf(out, "%s{\"cpu\": %d, \"role\": \"%s\"}", first ? "" : ", ",
				r->cpus[i].cpu, role_text(r->cpus[i].role));
			first = 0;
		}
		fputs("], \"installed_kernels\": [", out);
		for (i = 0; i < s.nk; i++) {
			fprintf(out, "%s{\"release\": ", i ? ", " : "");
			json_string(out, s.k[i].release);
			fprintf(out, ", \"module_built\": %s, \"headers\": %s}",
				s.k[i].module ? "true" : "false", s.k[i].headers ? "true" : "false");
		}
		fputs("], \"verdict\": ", out);
		json_string(out, verdict);
		fputs(", \"reason_code\": ", out);
		json_string(out, code);
		fputs(", \"reason\": ", out);
		json_string(out, why);
		fprintf(out, ", \"exit\": %d}\n", rc);
	} else {
		fprintf(out, "kernel: %s (%s)\n", r->release,
			s.running_line ? s.running_line :
			s.package ? "not a Debian line the livepatch covers" : "coverage unknown: the quietsync package is not installed");
		fprintf(out, "quietsync livepatch: %s%s%s%s\n",
			r->livepatch ? "enabled" : "not loaded", r->lp_transition ? ", in transition" : "",
			r->lp_status[0] ? ", release status " : "", r->lp_status);
		for (i = 0; i < s.nk; i++)
			fprintf(out, "installed kernel %s: livepatch %s, headers %s\n", s.k[i].release,
				s.k[i].module ? "built" : "NOT built", s.k[i].headers ? "installed" : "missing");
		for (i = 0; i < r->ncpus; i++)
			if (r->cpus[i].role)
				fprintf(out, "cpu%d: %s%s\n", r->cpus[i].cpu, role_text(r->cpus[i].role),
				r->cpus[i].role & ROLE_NOHZ_FULL ? "" :
				" (spared only while idle: add nohz_full= and rcu_nocbs=)");
		if (r->thp[0])
			fprintf(out, "THP: %s (MADV_COLLAPSE collapses whatever the mode)\n", r->thp);
		fprintf(out, "status: %s (%s)\n", verdict, why);
	}
	for (i = 0; i < s.nlines; i++)
		regfree(&s.re[i]);
	return rc;
}
