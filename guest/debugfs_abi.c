// SPDX-License-Identifier: GPL-2.0
/*
 * The evaluation patch's debugfs interface, as user space sees it:
 * tlb_remove_table_sync/policy lists the policies with the current one in
 * brackets, starts as the tlb_sync_policy= boot parameter says (quiet-flush
 * when absent or unknown), accepts each policy and rejects junk with EINVAL
 * without changing anything; selecting the unsafe kernel-state policy
 * warns and taints the kernel (TAINT_USER), a safe one does not; stats
 * resets on "0" or "reset" and rejects junk with EINVAL. On a debug kernel,
 * flush_did_not_wait takes 0 or 1 and rejects anything else with EINVAL.
 */
#include "ipicount.h"
#include "ktap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DIR_PATH "/sys/kernel/debug/tlb_remove_table_sync"
#define POLICY DIR_PATH "/policy"
#define STATS DIR_PATH "/stats"
#define FLUSH_DID_NOT_WAIT DIR_PATH "/flush_did_not_wait"
#define TAINT_USER_BIT 6	/* 'U' in /proc/sys/kernel/tainted */

static const char *const policies[] = {
	"broadcast", "mm", "kernel-state", "rcu-exp", "rcu", "quiet",
	"flush-ipi", "quiet-flush",
};
#define DEFAULT_POLICY "quiet-flush"

#define NPOLICIES (sizeof(policies) / sizeof(policies[0]))

/* Write @text; return 0 or the errno of the write. */
static int write_errno(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY), err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, text, strlen(text)) < 0)
		err = errno;
	close(fd);
	return err;
}

/* The policy the boot parameter asks for, the default if none or unknown. */
static const char *boot_policy(void)
{
	char cmdline[4096], *p;
	unsigned long i;

	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		return DEFAULT_POLICY;
	p = strstr(cmdline, "tlb_sync_policy=");
	if (!p)
		return DEFAULT_POLICY;
	p += strlen("tlb_sync_policy=");
	p[strcspn(p, " \n")] = '\0';
	for (i = 0; i < NPOLICIES; i++)
		if (!strcmp(p, policies[i]))
			return policies[i];
	return DEFAULT_POLICY;
}

/*
 * Select @policy and report whether the kernel logged, meanwhile, that it
 * taints itself for it (a /dev/kmsg record since just before the write).
 */
static bool select_logs_taint(const char *policy)
{
	char want[160], found[256];
	bool logged;
	int fd = kmsg_open_end();

	snprintf(want, sizeof(want),
		 "tlb_sync_policy %s may free page tables under lockless walkers: tainting the kernel",
		 policy);
	write_errno(POLICY, policy);
	logged = kmsg_find(fd, want, found, sizeof(found));
	if (fd >= 0)
		close(fd);
	return logged;
}

static bool tainted_user(void)
{
	char buf[32];

	return read_file("/proc/sys/kernel/tainted", buf, sizeof(buf)) >= 0 &&
	       (strtoul(buf, NULL, 10) >> TAINT_USER_BIT) & 1;
}

static long stats_syncs(void)
{
	char buf[4096], *p;

	if (read_file(STATS, buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, "\nsyncs: ");
	return p ? strtol(p + 8, NULL, 10) : -1;
}

int main(void)
{
	char cur[64], name[96];
	unsigned long i;
	bool all = true;
	struct ktap k;
	int err;

	ktap_header(&k, 10);
	if (access(POLICY, F_OK)) {
		ktap_diag("no %s: kernel without the evaluation patch", POLICY);
		ktap_bail(&k, "no policy file");
	}
	read_selected(POLICY, cur, sizeof(cur));
	ktap_diag("boot policy '%s', expected '%s'", cur, boot_policy());
	ktap_result(&k, !strcmp(cur, boot_policy()), "boot_policy_from_command_line");

	for (i = 0; i < NPOLICIES; i++) {
		read_selected(POLICY, cur, sizeof(cur));
		err = write_errno(POLICY, policies[i]);
		read_selected(POLICY, cur, sizeof(cur));
		if (err || strcmp(cur, policies[i])) {
			ktap_diag("selecting %s: %s, now '%s'", policies[i],
				  strerror(err), cur);
			all = false;
		}
	}
	ktap_result(&k, all, "every_policy_selectable");

	write_errno(POLICY, "mm");
	err = write_errno(POLICY, "fastest");
	read_selected(POLICY, cur, sizeof(cur));
	ktap_diag("writing 'fastest': %s; policy now '%s'", strerror(err), cur);
	ktap_result(&k, err == EINVAL, "unknown_policy_gets_einval");
	ktap_result(&k, !strcmp(cur, "mm"), "unknown_policy_changes_nothing");

	/* The 2023 rule is kept to be measured, not to run unnoticed. */
	ktap_result(&k, select_logs_taint("kernel-state") && tainted_user(),
		    "unsafe_policy_warns_and_taints");
	ktap_result(&k, !select_logs_taint("quiet"), "safe_policy_does_not_taint");
	snprintf(name, sizeof(name), "%s", boot_policy());
	write_errno(POLICY, name);

	/*
	 * Nothing here syncs: the only other source would be khugepaged
	 * collapsing a 2 MiB-aligned region of the init's small processes,
	 * which they do not have.
	 */
	err = write_errno(STATS, "1");
	ktap_diag("writing '1' to stats: %s", strerror(err));
	ktap_result(&k, err == EINVAL, "stats_junk_gets_einval");
	err = write_errno(STATS, "reset");
	ktap_result(&k, !err && stats_syncs() == 0, "stats_reset_clears");
	err = write_errno(STATS, "0");
	ktap_result(&k, !err && stats_syncs() == 0, "stats_zero_clears");

	if (access(FLUSH_DID_NOT_WAIT, F_OK)) {
		ktap_skip(&k, "flush_did_not_wait_rejects_junk",
			  "kernel without CONFIG_TLB_REMOVE_TABLE_SYNC_DEBUG");
	} else {
		int two = write_errno(FLUSH_DID_NOT_WAIT, "2");
		int junk = write_errno(FLUSH_DID_NOT_WAIT, "yes");
		int one = write_errno(FLUSH_DID_NOT_WAIT, "1");
		int zero = write_errno(FLUSH_DID_NOT_WAIT, "0");

		ktap_diag("flush_did_not_wait: '2' %s, 'yes' %s, '1' %s, '0' %s",
			  strerror(two), strerror(junk), strerror(one),
			  strerror(zero));
		ktap_result(&k, two == EINVAL && junk == EINVAL && !one && !zero,
			    "flush_did_not_wait_rejects_junk");
	}
	return ktap_finish(&k);
}
