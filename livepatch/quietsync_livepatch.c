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
 *
 * A module is built for one release (vermagic), but the source covers a
 * kernel line: at load it decodes the kernel's tlb_remove_table_sync_one()
 * and replaces it only if it is still smp_call_function(
 * tlb_remove_table_smp_sync, NULL, 1) and nothing else
 * (sync_one_check.h). Releases the lab booted and measured are "verified",
 * other releases of a covered line that pass the check "checked"; the
 * status is logged and readable in /sys/module/quietsync_livepatch/
 * parameters/status.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/context_tracking_state.h>
#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/moduleparam.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/utsname.h>

/* Patch 3's rule, under the module's own name (see qs_lp_status). */
#define tlb_remove_table_cpu_may_walk qs_lp_cpu_may_walk
#include "quiet_rule.h"
#include "sync_one_check.h"

#if !defined(QS_LP_RELEASE) || !defined(QS_LP_FLAVOR) || !defined(QS_LP_STATUS)
#error "build with lab/livepatch.sh: QS_LP_RELEASE, QS_LP_FLAVOR and QS_LP_STATUS name the kernel"
#endif

/* The function the original must call; test fixtures claim another. */
#ifndef QS_LP_CALLEE
#define QS_LP_CALLEE "smp_call_function"
#endif

/* The longest tlb_remove_table_sync_one() worth decoding. */
#define QS_LP_MAX_FUNC_SIZE 64

/*
 * Every symbol of the module has a qs_lp_ prefix: a module symbol named
 * like a kernel one makes the name ambiguous, and kprobes (perf probe,
 * bpftrace, quietsync-check before 6.4) refuse it ("livepatch_ctl
 * symbols" checks it against each stock kernel's /proc/kallsyms).
 */
static char *qs_lp_status = QS_LP_STATUS;
module_param_named(status, qs_lp_status, charp, 0444);
MODULE_PARM_DESC(status, "verified (a release the lab measured) or checked (its function decoded at load)");

/* The flavor's preemption model, as the headers built against say. */
#define QS_LP_MODEL (IS_ENABLED(CONFIG_PREEMPT_RT) ? "PREEMPT_RT" : "not PREEMPT_RT")

/*
 * The kernel's own (static) IPI callback. Sending the same callback keeps
 * every observer working unchanged: the csd:csd_function_entry trace event
 * filtered on tlb_remove_table_smp_sync counts the IPIs with the livepatch
 * loaded as without it.
 */
static smp_call_func_t qs_lp_smp_sync;

static void qs_lp_sync_one(void)
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
			      qs_lp_smp_sync, NULL, true,
			      cpu_online_mask);
}

static struct klp_func qs_lp_funcs[] = {
	{
		.old_name = "tlb_remove_table_sync_one",
		.new_func = qs_lp_sync_one,
	}, { }
};

static struct klp_object qs_lp_objs[] = {
	{
		/* name being NULL means vmlinux */
		.funcs = qs_lp_funcs,
	}, { }
};

static struct klp_patch qs_lp_patch = {
	.mod = THIS_MODULE,
	.objs = qs_lp_objs,
};

/*
 * kallsyms_lookup_name() is not exported; a kprobe on it tells where it is.
 * Used at load time only, to find the two symbols below.
 */
static unsigned long qs_lp_symbol_address(const char *name)
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
static unsigned long qs_lp_function_size(unsigned long addr)
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

/* Offset of the ftrace site in the function at @addr, or -1. */
static int qs_lp_fentry_offset(unsigned long addr)
{
	unsigned long (*ftrace_location_fn)(unsigned long ip);
	unsigned long site;

	ftrace_location_fn = (void *)qs_lp_symbol_address("ftrace_location");
	if (!ftrace_location_fn)
		return -1;
	site = ftrace_location_fn(addr);
	return site >= addr && site - addr < QS_LP_MAX_FUNC_SIZE ? site - addr : -1;
}

/*
 * Is tlb_remove_table_sync_one() at @addr still the function this livepatch
 * replaces? Returns 0, or -EINVAL with the reason logged.
 */
static int qs_lp_check_sync_one(unsigned long addr)
{
	unsigned char code[QS_LP_MAX_FUNC_SIZE];
	struct sync_one_expect want = {
		.callee = qs_lp_symbol_address(QS_LP_CALLEE),
		.callback = (unsigned long)qs_lp_smp_sync,
		.return_thunk = qs_lp_symbol_address("__x86_return_thunk"),
	};
	struct sync_one_verdict v;
	unsigned long size = qs_lp_function_size(addr);

	if (!size || size > sizeof(code)) {
		pr_err("tlb_remove_table_sync_one is %lu bytes here, more than smp_call_function(tlb_remove_table_smp_sync, NULL, 1) takes: not loading\n",
		       size);
		return -EINVAL;
	}
	if (!want.callee) {
		pr_err("%s not found: not loading\n", QS_LP_CALLEE);
		return -EINVAL;
	}
	if (copy_from_kernel_nofault(code, (void *)addr, size)) {
		pr_err("cannot read tlb_remove_table_sync_one: not loading\n");
		return -EINVAL;
	}
	v = sync_one_check(code, addr, size, qs_lp_fentry_offset(addr), &want);
	if (!v.ok) {
		pr_err("tlb_remove_table_sync_one is not %s(tlb_remove_table_smp_sync, NULL, 1) here: %s (at +0x%x of %lu bytes: %*ph): not loading\n",
		       QS_LP_CALLEE, v.why, v.offset, size, (int)size, code);
		return -EINVAL;
	}
	return 0;
}

static int __init quietsync_livepatch_init(void)
{
	unsigned long sync_one;
	int ret;

	const char *model = strstr(init_utsname()->version, "PREEMPT_RT") ?
			    "PREEMPT_RT" : "not PREEMPT_RT";

	/* Release and flavor: one kernel's code, one preemption model. */
	if (strcmp(init_utsname()->release, QS_LP_RELEASE) ||
	    strcmp(model, QS_LP_MODEL)) {
		pr_err("built for %s (flavor %s, %s), this kernel is %s (%s): not loading\n",
		       QS_LP_RELEASE, QS_LP_FLAVOR, QS_LP_MODEL,
		       init_utsname()->release, model);
		return -EINVAL;
	}
	sync_one = qs_lp_symbol_address("tlb_remove_table_sync_one");
	if (!sync_one) {
		pr_err("tlb_remove_table_sync_one not found: not loading\n");
		return -ENOENT;
	}
	qs_lp_smp_sync =
		(smp_call_func_t)qs_lp_symbol_address("tlb_remove_table_smp_sync");
	if (!qs_lp_smp_sync) {
		pr_err("tlb_remove_table_smp_sync not found: not loading\n");
		return -ENOENT;
	}
	ret = qs_lp_check_sync_one(sync_one);
	if (ret)
		return ret;
	ret = klp_enable_patch(&qs_lp_patch);
	if (!ret)
		pr_info("replacing tlb_remove_table_sync_one on %s (%s): %s\n",
			QS_LP_RELEASE, QS_LP_FLAVOR,
			!strcmp(qs_lp_status, "verified") ?
			"verified, a release the quietsync lab measured" :
			"checked, its code decoded as smp_call_function(tlb_remove_table_smp_sync, NULL, 1)");
	return ret;
}

static void __exit quietsync_livepatch_exit(void)
{
}

module_init(quietsync_livepatch_init);
module_exit(quietsync_livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("quietsync: page-table sync IPIs only to CPUs that may be walking");
MODULE_INFO(livepatch, "Y");
