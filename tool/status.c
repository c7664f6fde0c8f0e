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

/* Where the installed kernels' modules are (QUIETSYNC_MODULES overrides). */
static const char *modules_dir(void)
{
	const char *dir = getenv("QUIETSYNC_MODULES");

	return dir && *dir ? dir : MODULES_DIR;
}
#define MAX_KERNELS 64

struct installed {
	char release[256];
	bool module, headers;
};

struct status {
	bool package;		/* the kernel-lines file is there */
	const char *running_line;	/* the covered line of the running kernel */
	char lines[8][16];
	char headers[8][2][64];	/* the headers metapackage per flavour */
	regex_t re[8][2];	/* amd64, rt-amd64 */
	int nlines;
	struct installed k[MAX_KERNELS];
	int nk;
};

static const char *const flavours[2] = { "amd64", "rt-amd64" };

/* s with every FLAVOUR replaced by flavour (at most two). */
static void subst_flavour(char *out, size_t size, const char *s, const char *flavour)
{
	const char *f = strstr(s, "FLAVOUR");

	if (!f) {
		snprintf(out, size, "%s", s);
		return;
	}
	snprintf(out, size, "%.*s%s%s", (int)(f - s), s, flavour, f + strlen("FLAVOUR"));
}

/*
 * livepatch/kernels.txt as installed: "set debian line userland release
 * headers", the release an extended regex with FLAVOUR for the flavour.
 */
static void read_lines(struct status *s)
{
	const char *path = getenv("QUIETSYNC_KERNELS");
	char *text, *line, *save = NULL, set[32], deb[32], ver[16], suite[32], regex[160], meta[64];
	char full[320];
	int n, i;

	text = read_all(path && *path ? path : QS_KERNEL_LINES);
	if (!text)
		return;
	s->package = true;
	for (line = strtok_r(text, "\n", &save); line && s->nlines < 8; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		meta[0] = '\0';
		n = sscanf(line, "%31s %31s %15s %31s %159s %63s", set, deb, ver, suite, regex, meta);
		if (n < 5 || !strstr(regex, "FLAVOUR"))
			continue;
		for (i = 0; i < 2; i++) {
			char pat[200];

			subst_flavour(pat, sizeof(pat), regex, flavours[i]);
			snprintf(full, sizeof(full), "^%s$", pat);
			if (regcomp(&s->re[s->nlines][i], full, REG_EXTENDED | REG_NOSUB)) {
				if (i)
					regfree(&s->re[s->nlines][0]);
				break;
			}
			subst_flavour(s->headers[s->nlines][i], sizeof(s->headers[0][0]), meta, flavours[i]);
		}
		if (i < 2)
			continue;
		snprintf(s->lines[s->nlines], sizeof(s->lines[0]), "%s", ver);
		s->nlines++;
	}
	free(text);
}

/* The table's row of release, and its flavour in *flavour; -1 if none. */
static int covered_row(const struct status *s, const char *release, int *flavour)
{
	int i, f;

	for (i = 0; i < s->nlines; i++)
		for (f = 0; f < 2; f++)
			if (!regexec(&s->re[i][f], release, 0, NULL, 0)) {
				if (flavour)
					*flavour = f;
				return i;
			}
	return -1;
}

static const char *covered_line(const struct status *s, const char *release)
{
	int i = covered_row(s, release, NULL);

	return i < 0 ? NULL : s->lines[i];
}

/*
 * The apt line that installs release's headers and the metapackage that
 * brings its line's next kernels' headers ("linux-headers-amd64" or, from
 * another suite, "linux-headers-amd64/trixie-backports").
 */
static void headers_line(const struct status *s, const char *release, char *out, size_t size)
{
	int f = 0, i = covered_row(s, release, &f);
	const char *meta = i < 0 ? "" : s->headers[i][f], *slash = strchr(meta, '/');

	if (!*meta)
		snprintf(out, size, "apt install linux-headers-%s", release);
	else if (slash)
		snprintf(out, size, "apt install -t %s linux-headers-%s %.*s", slash + 1, release,
			 (int)(slash - meta), meta);
	else
		snprintf(out, size, "apt install linux-headers-%s %s", release, meta);
}

static bool module_built(const char *release)
{
	static const char *const ext[] = { "", ".xz", ".zst", ".gz" };
	char path[400];
	size_t i;

	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s/updates/dkms/quietsync_livepatch.ko%s",
			 modules_dir(), release, ext[i]);
		if (!access(path, F_OK))
			return true;
	}
	return false;
}

static void read_installed(struct status *s)
{
	char path[400];
	struct dirent *d;
	DIR *dir = opendir(modules_dir());

	while (dir && (d = readdir(dir)) && s->nk < MAX_KERNELS) {
		if (d->d_name[0] == '.' || !covered_line(s, d->d_name))
			continue;
		/* A kernel removed leaves its modules directory only with DKMS's. */
		snprintf(path, sizeof(path), "/boot/vmlinuz-%s", d->d_name);
		if (access(path, F_OK))
			continue;
		snprintf(s->k[s->nk].release, sizeof(s->k[0].release), "%s", d->d_name);
		s->k[s->nk].module = module_built(d->d_name);
		snprintf(path, sizeof(path), "%s/%s/build/Makefile", modules_dir(), d->d_name);
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
		char apt[256];

		headers_line(&s, s.k[missing].release, apt, sizeof(apt));
		verdict = "fix missing", code = "module_missing", rc = EXIT_EXPOSED;
		if (s.k[missing].headers)
			snprintf(why, sizeof(why), "no livepatch built for the installed kernel %s although its headers are installed: dkms status quietsync; /var/lib/dkms/quietsync has DKMS's log",
				 s.k[missing].release);
		else
			snprintf(why, sizeof(why), "no livepatch built for the installed kernel %s, its headers are missing: %s (DKMS then builds it; the metapackage brings the next kernels' headers too)",
				 s.k[missing].release, apt);
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
		fputs(", \"livepatch_rule\": ", out);
		json_string(out, r->lp_rule);
		fputs(", \"livepatch_rule_why\": ", out);
		json_string(out, r->lp_rule_why);
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
		if (r->lp_rule[0])
			fprintf(out, "livepatch rule: %s%s%s\n", r->lp_rule,
				r->lp_rule_why[0] ? ": " : "", r->lp_rule_why);
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
	for (i = 0; i < s.nlines; i++) {
		regfree(&s.re[i][0]);
		regfree(&s.re[i][1]);
	}
	return rc;
}
