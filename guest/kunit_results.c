// SPDX-License-Identifier: GPL-2.0
/*
 * Report the KUnit suites the kernel ran at boot as this program's KTAP:
 * one result per test case, read from /sys/kernel/debug/kunit/SUITE/results
 * (CONFIG_KUNIT_DEBUGFS). Every suite named on the command line must have
 * run; a missing one fails.
 *
 * Usage: kunit_results SUITE...
 */
#include "ktap.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#define KUNIT_DIR "/sys/kernel/debug/kunit"
#define MAX_CASES 256

struct kunit_case {
	char name[160];
	char directive[160];
	bool pass;
};

static struct kunit_case cases[MAX_CASES];
static int ncases;

struct suite {
	const char *name;
	bool found;
	int cases;
};

/*
 * Test case results are indented by 4 spaces in a suite's log; 8 and more
 * are the parameters of a parameterised case, whose own line sums them up.
 */
static void read_suite(const char *suite, bool *found)
{
	char path[512], line[512], *p, *hash;
	int indent;
	FILE *f;

	snprintf(path, sizeof(path), KUNIT_DIR "/%s/results", suite);
	f = fopen(path, "r");
	*found = f != NULL;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && ncases < MAX_CASES) {
		struct kunit_case *c = &cases[ncases];
		bool pass;

		line[strcspn(line, "\n")] = '\0';
		for (indent = 0; line[indent] == ' '; indent++)
			;
		p = line + indent;
		if (!strncmp(p, "# ", 2)) {
			printf("#   %s\n", p + 2);
			continue;
		}
		if (indent != 4)
			continue;
		pass = !strncmp(p, "ok ", 3);
		if (!pass && strncmp(p, "not ok ", 7))
			continue;
		p += pass ? 3 : 7;
		while (isdigit((unsigned char)*p))
			p++;
		while (*p == ' ')
			p++;
		hash = strstr(p, " #");
		c->directive[0] = '\0';
		if (hash) {
			snprintf(c->directive, sizeof(c->directive), "%s", hash + 1);
			*hash = '\0';
		}
		snprintf(c->name, sizeof(c->name), "%s.%s", suite, p);
		c->pass = pass;
		ncases++;
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	struct suite suites[32];
	int i, before, broken = 0;
	struct ktap k;

	if (argc < 2 || argc > 33) {
		fprintf(stderr, "usage: kunit_results SUITE...\n");
		return 2;
	}
	for (i = 1; i < argc; i++) {
		struct suite *s = &suites[i - 1];

		before = ncases;
		s->name = argv[i];
		read_suite(s->name, &s->found);
		s->cases = ncases - before;
		if (!s->found || !s->cases)
			broken++;
	}
	ktap_header(&k, ncases + broken);
	for (i = 0; i < argc - 1; i++) {
		if (!suites[i].found)
			ktap_diag("no %s/%s/results: suite not built or KUnit debugfs off",
				  KUNIT_DIR, suites[i].name);
		else if (!suites[i].cases)
			ktap_diag("suite %s reported no test case", suites[i].name);
		else
			continue;
		ktap_result(&k, false, suites[i].name);
	}
	for (i = 0; i < ncases; i++) {
		if (!strncmp(cases[i].directive, "# SKIP", 6))
			ktap_skip(&k, cases[i].name, cases[i].directive + 7);
		else
			ktap_result(&k, cases[i].pass, cases[i].name);
	}
	return ktap_finish(&k);
}
