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

/*
 * The sync paths as the series' stats name their callers (the function,
 * or what the compiler inlined it into), "|"-separated.
 */
#define QS_CALLERS_COLLAPSE "collapse"
#define QS_CALLERS_UNSHARE "unshare|hugepage_range|hugetlb"
#define QS_CALLERS_TABLE_ONE "tlb_remove_table"

/* The number after @key in the series' stats text, or -1. */
long long stats_value(const char *stats, const char *key);

/*
 * The syncs the stats attribute to callers whose symbol contains one of
 * the "|"-separated @words, each caller line counted once.
 */
long stats_caller_syncs(const char *stats, const char *words);

#endif /* QS_POLICY_H */
