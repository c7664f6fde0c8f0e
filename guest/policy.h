/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Choosing what tlb_remove_table_sync_one() does, for the guest programs:
 * through the series' evaluation switch (debugfs policy), or, on a kernel
 * without it (Debian's stock kernel), by checking that the kernel is in
 * the state a label names: stock (or broadcast), livepatch,
 * livepatch-disabled, livepatch-removed.
 */
#ifndef QS_POLICY_H
#define QS_POLICY_H

#include <stdbool.h>

#define QS_POLICY_FILE "/sys/kernel/debug/tlb_remove_table_sync/policy"
#define QS_STATS_FILE "/sys/kernel/debug/tlb_remove_table_sync/stats"

/* Whether the running kernel has the series' policy switch. */
bool policy_switch_present(void);

/* Select @policy (or check the stock kernel's state); true on success. */
bool select_policy(const char *policy);

/* Split "a,b,c" in place into @out (at most @max); returns the count. */
int split_policies(char *list, char **out, int max);

#endif /* QS_POLICY_H */
