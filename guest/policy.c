// SPDX-License-Identifier: GPL-2.0
#include "policy.h"
#include "ipicount.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIVEPATCH "/sys/kernel/livepatch/quietsync_livepatch"
#define LIVEPATCH_MODULE "/sys/module/quietsync_livepatch"

bool policy_switch_present(void)
{
	return access(QS_POLICY_FILE, F_OK) == 0;
}

/*
 * On a kernel without the series' switch the "policy" is a label for what
 * the running kernel does, checked against the livepatch's state:
 * broadcast or stock (no livepatch), livepatch (enabled, the quiet rule),
 * livepatch-flushed (enabled, the "flushed" rule: no sync IPI at all),
 * livepatch-disabled (disabled, module still loaded), livepatch-removed
 * (module gone).
 */
static bool stock_kernel_in_state(const char *label)
{
	bool patched = access(LIVEPATCH, F_OK) == 0;
	bool loaded = access(LIVEPATCH_MODULE, F_OK) == 0;
	char enabled[8] = "", rule[16] = "";

	if (patched)
		read_file(LIVEPATCH "/enabled", enabled, sizeof(enabled));
	if (loaded)
		read_value(LIVEPATCH_MODULE "/parameters/rule", rule, sizeof(rule));
	if (!strcmp(label, "broadcast") || !strcmp(label, "stock"))
		return !loaded;
	if (!strcmp(label, "livepatch"))
		return patched && enabled[0] == '1' && !strcmp(rule, "quiet");
	if (!strcmp(label, "livepatch-flushed"))
		return patched && enabled[0] == '1' && !strcmp(rule, "flushed");
	if (!strcmp(label, "livepatch-disabled"))
		return loaded && !patched;
	if (!strcmp(label, "livepatch-removed"))
		return !loaded;
	return false;
}

int split_policies(char *list, char **out, int max)
{
	int n = 0;
	char *tok, *save = NULL;

	for (tok = strtok_r(list, ",", &save); tok && n < max;
	     tok = strtok_r(NULL, ",", &save))
		out[n++] = tok;
	return n;
}

long long stats_value(const char *stats, const char *key)
{
	const char *p = strstr(stats, key);

	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* Whether @symbol (@len bytes) contains one of the "|"-separated @words. */
static bool symbol_has_word(const char *symbol, size_t len, const char *words)
{
	char copy[128], *word, *save = NULL;

	snprintf(copy, sizeof(copy), "%s", words);
	for (word = strtok_r(copy, "|", &save); word;
	     word = strtok_r(NULL, "|", &save))
		if (memmem(symbol, len, word, strlen(word)))
			return true;
	return false;
}

long stats_caller_syncs(const char *stats, const char *words)
{
	const char *line = stats;
	long n = 0;

	/* "caller <symbol>: <syncs>" lines */
	while ((line = strstr(line, "caller "))) {
		const char *eol = strchr(line, '\n'), *colon = strchr(line, ':');

		if (colon && (!eol || colon < eol) &&
		    symbol_has_word(line, (size_t)(colon - line), words))
			n += strtol(colon + 1, NULL, 10);
		line = eol ? eol + 1 : line + 7;
	}
	return n;
}

bool select_policy(const char *policy)
{
	char now[64];

	if (!policy_switch_present())
		return stock_kernel_in_state(policy);
	if (write_file(QS_POLICY_FILE, policy) ||
	    read_selected(QS_POLICY_FILE, now, sizeof(now)))
		return false;
	return !strcmp(now, policy);
}
