#!/usr/bin/env bash
# The livepatch on one of Debian's unmodified stock kernels (FLAVOR amd64,
# the default, or rt-amd64: tests/guest-livepatch-rt.sh), the newest
# release of the first of QS_LP_SETS (livepatch/verified.env) in Debian's
# archive, fetched by lab/stock-kernel.sh and booted under QEMU with the
# lab's command line: the IPI scenarios before loading, enabled, disabled
# and removed; modules that claim another release, expect
# tlb_remove_table_sync_one() to call another function or are the other
# flavour's refuse to load; load/disable/unload cycles under a storm; no
# splat. Updates build/report/livepatch.json.
#
# Usage: tests/guest-livepatch.sh [FLAVOR [SET]]
#   SET: another kernel set of livepatch/kernels.txt; its run is named
#   livepatch[-rt]-SET. QS_COLLAPSES (200) and QS_CYCLES (5; the guest's
#   defaults, for a run by hand, 20 and 10 on PREEMPT_RT) set a run's size.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh
# shellcheck source=livepatch/verified.env
. livepatch/verified.env

flavor=${1:-amd64}
set=${2:-${QS_LP_SETS%% *}}
suite=livepatch
[ "$flavor" = amd64 ] || suite=livepatch-rt
run=$suite
[ "$set" = "${QS_LP_SETS%% *}" ] || run=$suite-$set

if [ "$run" = livepatch ]; then
	t_expect "build refuses a release of a line it does not cover, naming the lines" 1 \
		"covers the Debian kernel lines of livepatch/kernels.txt \(6\.1 6\.12 6\.12 7\.3 \), each in flavours amd64 and rt-amd64; 5\.10\.0-99-amd64 is not one of them" \
		env QS_LP_KERNEL=5.10.0-99-amd64 lab/livepatch.sh
fi

# The newest release of the line in Debian's archive, fetched, not installed.
if ! release=$(lab/stock-kernel.sh --resolve "$set" "$flavor") ||
	! stock=$(lab/stock-kernel.sh "$set" "$flavor" "$release"); then
	t_fail "$flavor: stock kernel fetched" "lab/stock-kernel.sh $set $flavor failed (output above)"
	t_finish
fi
kernel=$stock/vmlinuz
t_pass "$flavor: stock kernel $release fetched from Debian's archive, not installed"
if ! lab/livepatch-initramfs.sh "$set" "$flavor" "$release" >&2; then
	t_fail "$flavor: livepatch modules built" "lab/livepatch-initramfs.sh failed (output above)"
	t_finish
fi
t_pass "$flavor: livepatch modules built"
status=$(jq -r .status "$QS_BUILD/livepatch/$release/livepatch.json")
line=$(jq -r .line "$QS_BUILD/livepatch/$release/livepatch.json")
# Before 6.4 no csd trace events: the guest counts with a kprobe event.
# So does 7.3's PREEMPT_RT kernel: with trace_event=csd:csd_function_entry
# on its command line it stops at SMP bring-up under TCG here ("Timer
# migration" its last line, 3 of 3 boots, 2 and 4 vCPUs), and boots with
# the kprobe event, or with no event at all.
sync_event=csd
[ "$line" != 6.1 ] || sync_event=kprobe
[ "$line $flavor" != "7.3 rt-amd64" ] || sync_event=kprobe

# Counts are exact, so 200 operations per window do: the bounds are per
# 1,000 (before and disabled >= 180 of 200, enabled <= 4 of 200), and make
# demo measures 1,000. (500 until the mainline series needed the time.)
export QS_COLLAPSES=${QS_COLLAPSES:-200}
# 5 load/disable/unload cycles under a storm (20, and 10 on PREEMPT_RT,
# until 2026-12-06; the guest's default for a run by hand): every cycle
# runs the same path (load, the enable transition under the storm,
# disable, its transition, unload) and is one result. A leak or a
# refcount left by one cycle fails the next, which 2 show; a race in the
# transitions is the kernel's livepatch core, which each cycle crosses
# twice. The verified pair keeps 5; the six other stock kernels run 2
# each (tests/guest-livepatch-lines.sh: the second cycle is what shows a
# leak), with the suite's own load, disable and unload: 44 transitions
# per run across the three lines, more varied than 20 on three kernels.
export QS_CYCLES=${QS_CYCLES:-5}
# quietsync-check's faults in the guest (guest/init, tool_fault_steps):
# on the verified pair only, the others run the same tool.
tool_faults=
[ "$run" != "$suite" ] || tool_faults=" qs.tool_faults=1"
# The rule the module must put in force (guest/init, lp_label): TCG's x86
# has the native flush and no INVLPGB, and each covered line's census
# passes (livepatch/quietsync_livepatch.c, qs_lp_allowed): "flushed".
# The paravirt stand-in's load then keeps "quiet".
lp_rule=flushed
# The layout: the verified pair isolates CPUs 1-3 with nohz_full=; the
# other lines' kernels leave CPU 2, the busy other-process CPU, isolcpus=
# only (tuned's realtime profile): the quiet rule must interrupt it, the
# flushed rule spares it.
nohz_full=1-3
[ "$run" = "$suite" ] || nohz_full=1,3
rc=0
# About 3 minutes under TCG on 2 cores for the standard flavor (its
# windows and 5 cycles), 2 for PREEMPT_RT; 900 s leaves room for a loaded
# machine (another suite beside it) before calling it a hang.
QS_TIMEOUT=900 QS_KERNEL=$kernel QS_INITRAMFS=$QS_BUILD/initramfs-livepatch-$release.cpio.gz \
	QS_RUN_NAME=$run QS_SYNC_EVENT=$sync_event QS_NOHZ_FULL=$nohz_full \
	QS_CMDLINE_EXTRA="${QS_CYCLES:+qs.cycles=$QS_CYCLES}$tool_faults qs.lp_rule=$lp_rule" \
	lab/vm.sh "$suite" || rc=$?

# What the module says: its guard names release and flavour; its decoding
# of the kernel's function names what it found; loaded, its status.
console=$QS_BUILD/runs/$QS_ARCH-$run/console.log
expect_console() {
	if grep -aqE "$2" "$console"; then
		t_pass "$flavor: $1"
	else
		t_fail "$flavor: $1" "no /$2/ in $console"
	fi
}
expect_console "the release guard names release and flavour" \
	"quietsync_livepatch: built for 6\.12\.0-quietsync-test \(flavor $flavor, .*\), this kernel is ${release//+/\\+} \("
expect_console "the function check names what the kernel's function does" \
	"quietsync_livepatch: tlb_remove_table_sync_one is not smp_call_function_many\(tlb_remove_table_smp_sync, NULL, 1\) here: the function it calls is another \(at \+0x[0-9a-f]+ of [0-9]+ bytes: "
expect_console "loaded, it says the kernel is $status" \
	"quietsync_livepatch: replacing tlb_remove_table_sync_one on ${release//+/\\+} \($flavor\): $status, "
expect_console "loaded, its census passed and the rule is $lp_rule" \
	"quietsync_livepatch: replacing .*; rule $lp_rule: native TLB flush, no INVLPGB, [1-9][0-9]* calls, all right after a flush that waited"
expect_console "loaded with the paravirt stand-in, the rule is quiet, naming the flush" \
	"quietsync_livepatch: replacing .*; rule quiet: the TLB flush is [^ ]+, not the native one"
# quietsync-check, run in the guest with the livepatch enabled, reports it
# (on PREEMPT_RT its --load unshares hugetlb mappings: no THP there).
ktap=$QS_BUILD/runs/$QS_ARCH-$run/ktap.log
if grep -aq "^# quietsync livepatch enabled: yes ($status);" "$ktap"; then
	t_pass "$flavor: quietsync-check reports the livepatch $status"
else
	t_fail "$flavor: quietsync-check reports the livepatch $status" "no such line in $ktap"
fi
if grep -aq "^# livepatch rule: $lp_rule (no sync IPI at all): native TLB flush, no INVLPGB, " "$ktap"; then
	t_pass "$flavor: quietsync-check reports the rule $lp_rule and why"
else
	t_fail "$flavor: quietsync-check reports the rule $lp_rule and why" "no such line in $ktap"
fi
lab/livepatch-report.sh >&2 || rc=1
# The report names the rule, the census behind it and the layout.
if jq -e --arg k "$release" --arg r "$lp_rule" --arg n "$nohz_full" \
	'.kernels[$k] | .rule == $r and (.census | length) > 0 and .nohz_full == $n
		and .enabled_per_1k != null and .paravirt_per_1k != null' \
	"$QS_REPORT/livepatch.json" > /dev/null; then
	t_pass "$flavor: livepatch.json: rule $lp_rule, its census, nohz_full=$nohz_full, enabled and paravirt figures"
else
	t_fail "$flavor: livepatch.json: rule $lp_rule, its census, nohz_full=$nohz_full, enabled and paravirt figures" \
		"$(jq -c --arg k "$release" '.kernels[$k] | del(.cpus)' "$QS_REPORT/livepatch.json" 2> /dev/null)"
fi
[ "$rc" -eq 0 ] || QS_TEST_FAILED=1
t_finish
