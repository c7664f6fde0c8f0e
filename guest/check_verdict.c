// SPDX-License-Identifier: GPL-2.0
/*
 * Run quietsync-check inside the guest and assert its verdict, and that it
 * left tracefs (and the huge page reservation of its hugetlb load) as it
 * found it.
 *
 * Usage: check_verdict LABEL EXIT VERDICT [-P POLICY] -- ARGS...
 *   LABEL names the results; EXIT and VERDICT (exposed, not-exposed, fixed
 *   or cannot-tell) are what the tool must say; -P selects the series'
 *   evaluation policy first (restored after).
 */
#include "ipicount.h"
#include "ktap.h"
#include "policy.h"
#include "proc.h"

#include <string.h>
#include <unistd.h>

static const char *const restored_files[] = {
	QS_TRACEFS "/tracing_on",
	QS_TRACEFS "/current_tracer",
	QS_TRACEFS "/buffer_size_kb",
	QS_TRACEFS "/events/csd/csd_function_entry/enable",
	QS_TRACEFS "/events/csd/csd_function_entry/filter",
	"/proc/sys/vm/nr_hugepages",
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

int main(int argc, char **argv)
{
	char before[NFILES][256], after[NFILES][256], out[8192], want[160];
	char saved_policy[64] = "", name[128], *line;
	const char *label, *verdict, *policy = NULL;
	unsigned long i;
	bool same = true, verdict_ok;
	int expect, rc, first;
	struct ktap k;

	if (argc < 5) {
		fprintf(stderr, "usage: check_verdict LABEL EXIT VERDICT [-P POLICY] -- ARGS...\n");
		return 2;
	}
	label = argv[1];
	expect = atoi(argv[2]);
	verdict = verdict_words(argv[3]);
	first = 4;
	if (!strcmp(argv[first], "-P") && argc > first + 1) {
		policy = argv[first + 1];
		first += 2;
	}
	if (strcmp(argv[first], "--")) {
		fprintf(stderr, "check_verdict: expected -- before the tool's arguments\n");
		return 2;
	}
	argv[first] = "/bin/quietsync-check";

	ktap_header(&k, 3 + (policy != NULL));
	if (policy) {
		read_selected(QS_POLICY_FILE, saved_policy, sizeof(saved_policy));
		snprintf(name, sizeof(name), "%s_policy_%s_selected", label, policy);
		ktap_result(&k, !write_file(QS_POLICY_FILE, policy), name);
	}
	snapshot(before);
	rc = run_capture(argv + first, false, out, sizeof(out));
	snapshot(after);
	snprintf(want, sizeof(want), "verdict: %s (", verdict);
	verdict_ok = strstr(out, want) != NULL;
	for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
		ktap_diag("%s", line);

	snprintf(name, sizeof(name), "%s_exit_%d", label, expect);
	ktap_diag("quietsync-check exited %d", rc);
	ktap_result(&k, rc == expect, name);
	snprintf(name, sizeof(name), "%s_verdict", label);
	ktap_result(&k, verdict_ok, name);

	for (i = 0; i < NFILES; i++)
		if (!unchanged(restored_files[i], before[i], after[i])) {
			ktap_diag("%s: '%s' before, '%s' after", restored_files[i],
				  before[i], after[i]);
			same = false;
		}
	snprintf(name, sizeof(name), "%s_settings_restored", label);
	ktap_result(&k, same, name);

	if (policy && saved_policy[0])
		write_file(QS_POLICY_FILE, saved_policy);
	return ktap_finish(&k);
}
