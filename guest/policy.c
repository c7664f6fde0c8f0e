// SPDX-License-Identifier: GPL-2.0
#include "policy.h"
#include "ipicount.h"

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
 * broadcast or stock (no livepatch), livepatch (enabled), livepatch-disabled
 * (disabled, module still loaded), livepatch-removed (module gone).
 */
static bool stock_kernel_in_state(const char *label)
{
	bool patched = access(LIVEPATCH, F_OK) == 0;
	bool loaded = access(LIVEPATCH_MODULE, F_OK) == 0;
	char enabled[8] = "";

	if (patched)
		read_file(LIVEPATCH "/enabled", enabled, sizeof(enabled));
	if (!strcmp(label, "broadcast") || !strcmp(label, "stock"))
		return !loaded;
	if (!strcmp(label, "livepatch"))
		return patched && enabled[0] == '1';
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
