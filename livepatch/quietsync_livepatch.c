// SPDX-License-Identifier: GPL-2.0
/*
 * quietsync livepatch for Debian's stock 6.12 kernel: replaces
 * tlb_remove_table_sync_one() with the quiet rule of the quietsync series
 * (patch 3): after a full barrier, interrupt only the online CPUs that RCU
 * is watching, that is, those not in an extended quiescent state (idle, or
 * user mode on a nohz_full CPU), which cannot be inside an IRQs-off
 * page-table walk. The 6.12 function has no mm argument, so the candidates
 * are all online CPUs, as for the series' callers that pass NULL.
 *
 * The predicate is not written here: quiet_rule.h is generated from the
 * series' patch 3 by livepatch/extract-rule.sh.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/context_tracking_state.h>
#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/utsname.h>

#include "quiet_rule.h"

#if !defined(QS_LP_RELEASE) || !defined(QS_LP_FLAVOR)
#error "build with lab/livepatch.sh: QS_LP_RELEASE and QS_LP_FLAVOR name the verified kernel"
#endif

/* The flavor's preemption model, as the headers built against say. */
#define QS_LP_MODEL (IS_ENABLED(CONFIG_PREEMPT_RT) ? "PREEMPT_RT" : "not PREEMPT_RT")

/*
 * The kernel's own (static) IPI callback. Sending the same callback keeps
 * every observer working unchanged: the csd:csd_function_entry trace event
 * filtered on tlb_remove_table_smp_sync counts the IPIs with the livepatch
 * loaded as without it.
 */
static smp_call_func_t tlb_remove_table_smp_sync;

static void livepatch_tlb_remove_table_sync_one(void)
{
	/*
	 * Order the caller's page-table update before reading the remote
	 * context-tracking state. Pairs with the fully ordered
	 * atomic_add_return() of every EQS exit (ct_kernel_enter_state(),
	 * ct_nmi_enter()): either we see the CPU watched and wait for it, or
	 * its next walk sees the updated entry.
	 */
	smp_mb();
	on_each_cpu_cond_mask(tlb_remove_table_cpu_may_walk,
			      tlb_remove_table_smp_sync, NULL, true,
			      cpu_online_mask);
}

static struct klp_func funcs[] = {
	{
		.old_name = "tlb_remove_table_sync_one",
		.new_func = livepatch_tlb_remove_table_sync_one,
	}, { }
};

static struct klp_object objs[] = {
	{
		/* name being NULL means vmlinux */
		.funcs = funcs,
	}, { }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

/*
 * kallsyms_lookup_name() is not exported; a kprobe on it tells where it is.
 * Used at load time only, to find the two symbols below.
 */
static unsigned long symbol_address(const char *name)
{
	static unsigned long (*lookup)(const char *name);
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };

	if (!lookup) {
		if (register_kprobe(&kp))
			return 0;
		lookup = (unsigned long (*)(const char *))kp.addr;
		unregister_kprobe(&kp);
	}
	return lookup(name);
}

/* The size of the function at @addr, from "name+0x0/0xSIZE". */
static unsigned long function_size(unsigned long addr)
{
	char buf[KSYM_SYMBOL_LEN], *slash, *end;
	unsigned long size;

	sprint_symbol(buf, addr);
	slash = strchr(buf, '/');
	if (!slash)
		return 0;
	end = strchr(slash, ' ');
	if (end)
		*end = '\0';
	if (kstrtoul(slash + 1, 16, &size))
		return 0;
	return size;
}

static int __init quietsync_livepatch_init(void)
{
	unsigned long sync_one, size;

	const char *model = strstr(init_utsname()->version, "PREEMPT_RT") ?
			    "PREEMPT_RT" : "not PREEMPT_RT";

	/* Release and flavor: one kernel's code, one preemption model. */
	if (strcmp(init_utsname()->release, QS_LP_RELEASE) ||
	    strcmp(model, QS_LP_MODEL)) {
		pr_err("built and verified for %s (flavor %s, %s), this kernel is %s (%s): not loading\n",
		       QS_LP_RELEASE, QS_LP_FLAVOR, QS_LP_MODEL,
		       init_utsname()->release, model);
		return -EINVAL;
	}
	sync_one = symbol_address("tlb_remove_table_sync_one");
	size = sync_one ? function_size(sync_one) : 0;
	if (size != QS_LP_FUNC_SIZE) {
		pr_err("tlb_remove_table_sync_one is %lu bytes here, %u in the verified kernel: not loading\n",
		       size, QS_LP_FUNC_SIZE);
		return -EINVAL;
	}
	tlb_remove_table_smp_sync =
		(smp_call_func_t)symbol_address("tlb_remove_table_smp_sync");
	if (!tlb_remove_table_smp_sync) {
		pr_err("tlb_remove_table_smp_sync not found: not loading\n");
		return -ENOENT;
	}
	return klp_enable_patch(&patch);
}

static void __exit quietsync_livepatch_exit(void)
{
}

module_init(quietsync_livepatch_init);
module_exit(quietsync_livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("quietsync: page-table sync IPIs only to CPUs that may be walking");
MODULE_INFO(livepatch, "Y");
