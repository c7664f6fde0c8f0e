// SPDX-License-Identifier: GPL-2.0
/*
 * quietsync livepatch for Debian's stock 6.12 kernel: replaces
 * tlb_remove_table_sync_one() with the quiet rule of the quietsync series
 * (patch 4): after a full barrier, interrupt only the online CPUs that RCU
 * is watching, that is, those not in an extended quiescent state (idle, or
 * user mode on a nohz_full CPU), which cannot be inside an IRQs-off
 * page-table walk. The 6.12 function has no mm argument, so the candidates
 * are all online CPUs, as for the series' callers that pass NULL.
 *
 * The predicate is not written here: quiet_rule.h is generated from the
 * series' patch 4 by livepatch/extract-rule.sh.
 *
 * A module is built for one release (vermagic), but the source covers a
 * kernel line: at load it decodes the kernel's tlb_remove_table_sync_one()
 * and replaces it only if it is still smp_call_function(
 * tlb_remove_table_smp_sync, NULL, 1) and nothing else
 * (sync_one_check.h). Releases the lab booted and measured are "verified",
 * other releases of a covered line that pass the check "checked"; the
 * status is logged and readable in /sys/module/quietsync_livepatch/
 * parameters/status.
 *
 * On x86 with the native TLB flush and no INVLPGB, where a census of the
 * running kernel finds the sync called only from the functions whose
 * source flushes the operating mm with IPIs and waits just before it
 * (sync_census.h), the replacement sends no IPI at all: rule "flushed".
 * Otherwise the quiet rule: rule "quiet". Loading never fails for the
 * gate's sake; parameters/rule and rule_why say which and why.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/context_tracking_state.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/moduleparam.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/utsname.h>

/* Patch 4's rule, under the module's own name (see qs_lp_status). */
#define tlb_remove_table_cpu_may_walk qs_lp_cpu_may_walk
#include "quiet_rule.h"
#include "sync_one_check.h"
#include "sync_census.h"

#if defined(CONFIG_X86) && defined(CONFIG_PARAVIRT)
#include <asm/cpufeature.h>
#include <asm/paravirt_types.h>
#endif

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

/* Which rule replaces the sync, and why (see qs_lp_gate()). */
static char qs_lp_rule[16] = "quiet";
module_param_string(rule, qs_lp_rule, sizeof(qs_lp_rule), 0444);
MODULE_PARM_DESC(rule, "flushed (no sync IPI: every caller's native TLB flush waited) or quiet (IPI only CPUs RCU watches)");
static char qs_lp_rule_why[200] = "";
module_param_string(rule_why, qs_lp_rule_why, sizeof(qs_lp_rule_why), 0444);
MODULE_PARM_DESC(rule_why, "why that rule: the gate's checks");

/*
 * Tests only: "paravirt" feeds the gate's detection KVM's flush function in
 * place of the installed one, as a KVM guest with PV TLB flush has it. It
 * changes what the detection sees, not what it decides.
 */
static char *qs_lp_test_flush = "";
module_param_named(test_flush, qs_lp_test_flush, charp, 0400);
MODULE_PARM_DESC(test_flush, "tests only: paravirt = detect as under KVM's PV TLB flush");

/*
 * The functions of each kernel line whose source calls the sync right
 * after a flush of the operating mm (flush_tlb_range() with freed_tables,
 * or tlb_flush_mmu_tlbonly() for the unsharer), and the functions the
 * compiler inlines them into (each has no other path to the sync: in the
 * whole source of each line the function is called only from
 * collapse_huge_page(), 6.1's collapse_and_free_pmd(),
 * tlb_flush_unshared_tables(), tlb_remove_table_one() and 32-bit PAE's
 * pmdp_get_lockless_sync()). Debian builds amd64 with GCC and no LTO: the
 * hugetlb hosts are in hugetlb.c with huge_pmd_unshare_flush(), rmap.c's
 * callers call it out of line; 6.1's hugetlb.c keeps an out-of-line copy
 * of the header's tlb_flush_unshared_tables() beside the inlined one.
 */
static const char *const qs_lp_allowed[] = {
	"collapse_huge_page",		/* after pmdp_collapse_flush() */
	"hpage_collapse_scan_pmd",	/* 6.1, 6.12: inlines it */
	"mthp_collapse",		/* 7.3: inlines it */
	"collapse_and_free_pmd",	/* 6.1: after pmdp_collapse_flush() */
	"collapse_pte_mapped_thp",	/* 6.1: inlines it */
	"retract_page_tables",		/* 6.1: inlines it */
	"tlb_flush_unshared_tables",	/* after tlb_flush_mmu_tlbonly() */
	"huge_pmd_unshare_flush",	/* inlines it (6.1 also calls a copy) */
	"move_hugetlb_page_tables",	/* may inline it */
	"__unmap_hugepage_range",
	"hugetlb_change_protection",
	"hugetlb_unshare_pmds",
	"tlb_remove_table_one",		/* 6.1, 6.12: after tlb_table_invalidate() */
	"tlb_remove_table",		/* inlines it */
	NULL
};

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
	/*
	 * The series also has an smp_mb() here, for a CPU skipped because
	 * its mm_cpumask() bit was clear. This body reads no mm_cpumask(),
	 * the remote state is read with an acquire (the free cannot pass
	 * it), and x86 does not reorder a load with a later store: nothing
	 * to add.
	 */
}

/*
 * Rule "flushed": every caller has just flushed the mm with the native
 * flush, which IPIs every CPU of mm_cpumask that runs the mm (lazy ones
 * too after a collapse; a lazy CPU runs a kernel thread, which does not
 * walk the mm locklessly) and waits for it. GUP-fast walks only the mm of
 * the task doing it, with IRQs off: the IPI waited for the walk to end,
 * and any later walk sees the cleared entry. The sync has nothing left to wait for, as
 * upstream's own comment beside tlb_flush_unshared_tables() says where the
 * sync is compiled out.
 */
static void qs_lp_sync_flushed(void)
{
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
 * Is tlb_remove_table_sync_one() at @addr (@size bytes, from kallsyms) still
 * the function this livepatch replaces? Returns 0, or -EINVAL with the
 * reason logged.
 */
static int qs_lp_check_sync_one(unsigned long addr, unsigned long size)
{
	unsigned char code[QS_LP_MAX_FUNC_SIZE];
	struct sync_one_expect want = {
		.callee = qs_lp_symbol_address(QS_LP_CALLEE),
		.callback = (unsigned long)qs_lp_smp_sync,
		.return_thunk = qs_lp_symbol_address("__x86_return_thunk"),
	};
	struct sync_one_verdict v;

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

#if defined(CONFIG_X86) && defined(CONFIG_PARAVIRT)
static void qs_lp_census_name(unsigned long addr, char *name, unsigned int size)
{
	char buf[KSYM_SYMBOL_LEN], *plus;

	sprint_symbol(buf, addr);
	plus = strchr(buf, '+');
	if (plus)
		*plus = '\0';
	snprintf(name, size, "%s", buf);
}

/* Every reference to the sync in the kernel's text and data. */
static int qs_lp_census(unsigned long sync_one, unsigned long size, struct census *c)
{
	static const char *const ranges[][2] = {
		{ "_stext", "_etext" },
		{ "__start_rodata", "__end_rodata" },
		{ "_sdata", "_edata" },
	};
	unsigned long start, end, at, step;
	int r;

	for (r = 0; r < ARRAY_SIZE(ranges); r++) {
		start = qs_lp_symbol_address(ranges[r][0]);
		end = qs_lp_symbol_address(ranges[r][1]);
		if (!start || end <= start)
			return -ENOENT;
		/*
		 * 1 MiB at a time, rescheduling between; each chunk reads
		 * the 8 bytes after it too, for an instruction or value
		 * that starts in it and ends in the next.
		 */
		for (at = start; at < end; at += step) {
			step = min(end - at, 1UL << 20);
			if (r == 0)
				census_text(c, (const unsigned char *)at, at, step,
					    min(end - at, step + 8), sync_one, size);
			else
				census_data(c, (const unsigned char *)at, at, step,
					    min(end - at, step + 8), sync_one);
			cond_resched();
		}
	}
	return 0;
}

/*
 * The gate: the native flush installed (not KVM's, Hyper-V's or Xen's,
 * which skip preempted vCPUs), no INVLPGB (7.x flushes without IPIs with
 * it), and the census accepted. Fills qs_lp_rule and qs_lp_rule_why.
 */
static bool qs_lp_gate(unsigned long sync_one, unsigned long size)
{
	unsigned long native = qs_lp_symbol_address("native_flush_tlb_multi");
	unsigned long flush = (unsigned long)pv_ops.mmu.flush_tlb_multi;
	struct census *c;
	struct census_verdict v;
	char where[KSYM_SYMBOL_LEN];
	unsigned int i;

	if (!strcmp(qs_lp_test_flush, "paravirt"))
		flush = qs_lp_symbol_address("kvm_flush_tlb_multi") ?: 1;
	if (!native || flush != native) {
		snprintf(qs_lp_rule_why, sizeof(qs_lp_rule_why),
			 "the TLB flush is %ps, not the native one: it may not IPI every CPU of the mm",
			 (void *)flush);
		return false;
	}
#ifdef X86_FEATURE_INVLPGB
	if (cpu_feature_enabled(X86_FEATURE_INVLPGB)) {
		snprintf(qs_lp_rule_why, sizeof(qs_lp_rule_why),
			 "INVLPGB: the TLB flush may send no IPI");
		return false;
	}
#endif
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c || qs_lp_census(sync_one, size, c)) {
		snprintf(qs_lp_rule_why, sizeof(qs_lp_rule_why),
			 "the census could not run");
		kfree(c);
		return false;
	}
	for (i = 0; i < c->n && i < CENSUS_MAX; i++)
		pr_info("census: %s at %pS\n", census_ref_names[c->site[i].ref],
			(void *)c->site[i].addr);
	v = census_judge(c, qs_lp_allowed, qs_lp_census_name);
	if (!v.ok) {
		if (v.bad >= 0)
			snprintf(where, sizeof(where), "%pS", (void *)c->site[v.bad].addr);
		else
			snprintf(where, sizeof(where), "-");
		snprintf(qs_lp_rule_why, sizeof(qs_lp_rule_why),
			 "census of %u references: %s (%s)", c->n, v.why, where);
		kfree(c);
		return false;
	}
	snprintf(qs_lp_rule_why, sizeof(qs_lp_rule_why),
		 "native TLB flush, no INVLPGB, %u calls, all right after a flush that waited",
		 v.calls);
	kfree(c);
	return true;
}
#else
static bool qs_lp_gate(unsigned long sync_one, unsigned long size)
{
	snprintf(qs_lp_rule_why, sizeof(qs_lp_rule_why), "not x86 with paravirt ops");
	return false;
}
#endif

static int __init quietsync_livepatch_init(void)
{
	unsigned long sync_one, size;
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
	size = qs_lp_function_size(sync_one);
	ret = qs_lp_check_sync_one(sync_one, size);
	if (ret)
		return ret;
	if (qs_lp_gate(sync_one, size)) {
		snprintf(qs_lp_rule, sizeof(qs_lp_rule), "flushed");
		qs_lp_funcs[0].new_func = qs_lp_sync_flushed;
	}
	ret = klp_enable_patch(&qs_lp_patch);
	if (!ret)
		pr_info("replacing tlb_remove_table_sync_one on %s (%s): %s; rule %s: %s\n",
			QS_LP_RELEASE, QS_LP_FLAVOR,
			!strcmp(qs_lp_status, "verified") ?
			"verified, a release the quietsync lab measured" :
			"checked, its code decoded as smp_call_function(tlb_remove_table_smp_sync, NULL, 1)",
			qs_lp_rule, qs_lp_rule_why);
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
