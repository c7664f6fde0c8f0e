#!/usr/bin/env bash
# What the sync IPI costs an isolated CPU, counted by the emulator itself
# (docs/interference.md): the lab kernel (x86_64) booted twice with the TCG
# plugin (lab/plugin/qs-interference.c) under broadcast and quiet-flush,
# both scenarios, QS_COLLAPSES (default 50) operations a window. Asserts:
#   - the plugin agrees with the guest's own counters: its count of calls
#     into the sync callback equals the csd trace's sync IPIs on every CPU
#     of every window, /proc/interrupts' CAL on every isolated CPU equals
#     its count of function-call IPI entries in the window, plus at most
#     those in the window's edges (between the CAL reads and the window's
#     markers), and every interruption of the idle CPU that did not run
#     the tick began with such an IPI;
#   - broadcast runs the sync on every isolated CPU about once per
#     operation (>= 900 per 1,000, the guest's own bound), each a wake-up
#     of its own on the idle CPU (two may share one interruption of a busy
#     CPU whose vCPU the host descheduled: >= 500 there); quiet-flush
#     never runs the sync on the idle CPU, which executes no instruction
#     of the sync or a TLB flush (the kernel's own work that still reaches
#     it is printed, at most 4 interruptions a window), runs it at most
#     20 times per 1,000 on the busy ones (the guest's bound: one in the
#     kernel at that moment is rightly waited for), and
#     the same-mm CPU keeps its TLB flush IPIs;
#   - Debian's stock kernel (its symbols read from /proc/kallsyms in a
#     boot of their own, lab/kallsyms.sh: Debian ships no System.map):
#     the plugin agrees with the trace there too, and every isolated CPU
#     runs the sync once per operation, as broadcast;
#   - determinism: where the outcome does not depend on timing (broadcast
#     on the idle and other-process CPUs) the two boots' sync IPIs agree
#     exactly, and the shortest sync interruption within 1% on the idle
#     CPU (within 2% on the other-process CPU).
# build/report/interference.json: both runs' rows and the comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh

export QS_COLLAPSES=${QS_COLLAPSES:-50}
report=$QS_BUILD/report/interference.json
mkdir -p "$QS_BUILD/report"

t_step "TCG plugin built for $(qemu-system-x86_64 --version | head -n 1 | cut -d' ' -f4)" lab/plugin.sh
lab/initramfs.sh >&2

runs=()
for run in 1 2; do
	QS_PLUGIN=1 QS_POLICIES=broadcast,quiet-flush QS_RUN_NAME=interference-$run \
		t_guest lab/vm.sh interference
	dir=$QS_BUILD/runs/$QS_ARCH-interference-$run
	if lab/interference-report.sh "$dir" > "$dir/interference.json"; then
		t_pass "run $run: the plugin counted every window the guest marked"
		runs+=("$dir/interference.json")
	else
		t_fail "run $run: the plugin counted every window the guest marked" \
			"lab/interference-report.sh $dir failed"
	fi
done
stock=$(lab/stock-kernel.sh deb12-6.12 amd64)
QS_PLUGIN=1 QS_KERNEL=$stock/vmlinuz QS_POLICIES=stock QS_RUN_NAME=interference-stock \
	t_guest lab/vm.sh interference
dir=$QS_BUILD/runs/$QS_ARCH-interference-stock
if lab/interference-report.sh "$dir" > "$dir/interference.json"; then
	t_pass "stock: the plugin counted every window the guest marked"
	runs_stock=$dir/interference.json
else
	t_fail "stock: the plugin counted every window the guest marked" "lab/interference-report.sh $dir failed"
	runs_stock=/dev/null
fi
[ "${#runs[@]}" -eq 2 ] || t_finish

jq -n -L lab --arg kernel "$(cat "$QS_OBJ/include/config/kernel.release" 2> /dev/null || echo unknown)" \
	--arg arch "$QS_ARCH" --slurpfile a "${runs[0]}" --slurpfile b "${runs[1]}" \
	--slurpfile stock <(cat "$runs_stock"; echo null) '
	include "interference-join";
	{arch: $arch, kernel: $kernel, layout: "nohz_full", runs: [$a[0], $b[0]], stock: $stock[0],
	 determinism: [$a[0] | join_runs($b[0])[] | select(.steady)]}' > "$report"

# check NAME JQ_FILTER: the filter, on the report, yields the offending rows
# (an empty array passes).
check() {
	t_none "$1" "$report" "$2"
}

# Every row there (a report of no rows, or half a run, must not pass the
# checks below by having nothing to check).
cpus=${QS_SMP:-4}
check "both lab runs have 2 scenarios x 2 policies x $cpus CPUs, the stock run 2 x 1 x $cpus, determinism 4 rows" \
	"[(.runs[] | length | select(. != 4 * $cpus) | \"lab run: \\(.) rows\"),
	  (.stock // [] | length | select(. != 2 * $cpus) | \"stock run: \\(.) rows\"),
	  (.determinism | length | select(. != 4) | \"determinism: \\(.) rows\")]"
check "plugin's sync callback calls = the trace's sync IPIs, every CPU, every window" \
	'[.runs[][] | select(.sync_calls != .sync_ipis) | "\(.scenario)/\(.policy)/cpu\(.cpu): plugin \(.sync_calls), trace \(.sync_ipis)"]'
check "stock: plugin's sync callback calls = the trace's sync IPIs, every CPU, every window" \
	'if .stock == null then ["no stock run"] else [.stock[] | select(.sync_calls != .sync_ipis) | "\(.scenario)/cpu\(.cpu): plugin \(.sync_calls), trace \(.sync_ipis)"] end'
check "stock: every isolated CPU runs the sync >= 900 times per 1,000 operations" \
	'[(.stock // [])[] | select(.cpu > 0 and .sync_calls * 1000 < 900 * .ops) | "\(.scenario)/cpu\(.cpu): \(.sync_calls) of \(.ops)"]'
# CAL is read just outside the window's markers: an IPI sent before the
# window and taken late, after the first read, counts in CAL and not inside
# the markers (151 against 152 on the same-mm CPU, 0 against 1 on the
# other-process one, 2026-12-07). The plugin counts such entries apart,
# between the edge markers around the reads and the window's own, so CAL
# must lie between the entries inside the window and those plus the edges'.
check "isolated CPUs: /proc/interrupts' CAL = the plugin's function-call IPI entries in the window, plus at most those in its edges, every window" \
	'[.runs[][], (.stock // [])[] | select(.cpu > 0 and (.all_ipis < .ipi_entries or .all_ipis > .ipi_entries + .edge_ipi_entries)) | "\(.scenario)/\(.policy)/cpu\(.cpu): plugin \(.ipi_entries) (+\(.edge_ipi_entries) in the edges), CAL \(.all_ipis)"]'
# Nothing but an IPI wakes an idle nohz_full CPU here, or a tick it
# restarted for work an IPI brought: every interruption that did not run
# the tick began with one (an IPI of something else than the sync, then a
# tick, once in a loaded run: 2 interruptions, CAL 1, 2026-12-07). Two IPIs
# may share one, if the host keeps the vCPU from halting before the next:
# fewer interruptions, never more.
check "idle CPU: every interruption that did not run the tick began with a function-call IPI (interruptions - tick <= CAL)" \
	'[.runs[][] | select(.role == "idle" and .interruptions - .interruptions_by.tick > .all_ipis) | "\(.scenario)/\(.policy): plugin \(.interruptions) (\(.interruptions_by.tick) tick), CAL \(.all_ipis)"]'
check "broadcast: every isolated CPU runs the sync >= 900 times per 1,000 operations" \
	'[.runs[][] | select(.policy == "broadcast" and .cpu > 0 and .sync_calls * 1000 < 900 * .ops) | "\(.scenario)/cpu\(.cpu): \(.sync_calls) of \(.ops)"]'
# The idle CPU halts between operations: each sync IPI is a wake-up of its
# own. A busy CPU may not have returned to user space when the next sync
# comes, if the host deschedules its vCPU across an operation: two syncs,
# one interruption (44 interruptions for 50 syncs once, under load,
# 2026-12-07); the count of syncs it ran is asserted above, and half of
# them as interruptions of their own is the bound here.
check "broadcast: the idle CPU is interrupted by the sync >= 900 times per 1,000 operations, the busy ones >= 500" \
	'[.runs[][] | select(.policy == "broadcast" and .cpu > 0 and
		.interruptions_by.sync * 1000 < (if .role == "idle" then 900 else 500 end) * .ops) |
		"\(.scenario)/cpu\(.cpu) (\(.role)): \(.interruptions_by.sync) of \(.ops)"]'
# A busy CPU that happens to be in the kernel (a tick) when the sync reads
# its state is watched by RCU and rightly waited for: 1 of 50 once
# (2026-12-07); the guest's own bound for quiet-flush is 20 per 1,000.
check "quiet-flush: the idle CPU never runs the sync" \
	'[.runs[][] | select(.policy == "quiet-flush" and .role == "idle" and (.sync_calls > 0 or .interruptions_by.sync > 0)) | "\(.scenario): \(.sync_calls) calls"]'
check "quiet-flush: the other isolated CPUs run it at most 20 times per 1,000 operations" \
	'[.runs[][] | select(.policy == "quiet-flush" and .cpu > 0 and .sync_calls * 1000 > 20 * .ops) | "\(.scenario)/cpu\(.cpu): \(.sync_calls) of \(.ops)"]'
# Not "no kernel instruction at all": the kernel's own work may still reach
# an idle CPU (in one loaded run an IPI of something else than the sync,
# then a tick: 5,322 instructions in 2 interruptions, 2026-12-07). What the
# series answers for is the sync and the TLB flush: none of it. The rest is
# printed, and bounded at 4 interruptions a window: twice the most seen,
# far below the one per operation (50 to 200) of a rule that would send
# the idle CPU anything per operation, or of a tick that did not stop.
check "quiet-flush: the idle CPU executes no instruction of the sync or a TLB flush, and at most 4 other interruptions a window" \
	'[.runs[][] | select(.policy == "quiet-flush" and .role == "idle" and
		(.insns_by.sync > 0 or .insns_by.flush > 0 or .interruptions_by.sync > 0 or .interruptions_by.flush > 0 or
		 .interruptions_by.other + .interruptions_by.tick > 4)) |
		"\(.scenario): \(.insns_by.sync) sync and \(.insns_by.flush) flush instructions, \(.interruptions_by.other + .interruptions_by.tick) other interruptions"]'
jq -r '.runs | to_entries[] | .key as $run | .value[] |
	select(.policy == "quiet-flush" and .role == "idle" and .interruptions_by.other + .interruptions_by.tick > 0) |
	"# run \($run + 1), quiet-flush, idle CPU, \(.scenario): kernel work other than the sync and the flush: \(.interruptions_by.tick) tick and \(.interruptions_by.other) other interruptions, \(.insns_by.tick + .insns_by.other) instructions"' \
	"$report" || true
check "quiet-flush: the same-mm CPU keeps its TLB flush IPIs (x86)" \
	'[.runs[][] | select(.policy == "quiet-flush" and .role == "same-mm" and .interruptions_by.flush == 0) | "\(.scenario): no flush interruption"]'
# A sync interruption of an idle x86 CPU ran 1,737 instructions (median,
# 2026-12-07): the entry, the csd queue, the callback, the exit to idle.
# Far outside [500, 20000] the attribution, not the kernel, is wrong.
check "broadcast: an idle CPU's sync interruption is 500-20,000 instructions (median)" \
	'[.runs[][] | select(.policy == "broadcast" and .role == "idle" and (.stretch_insns.sync.p50 < 500 or .stretch_insns.sync.p50 > 20000)) | "\(.scenario): \(.stretch_insns.sync.p50)"]'
# Exact where timing cannot matter: each sync IPI runs the callback once.
# How many interruptions they make is not asserted: a busy CPU may still be
# in the kernel when the next IPI comes (two calls, one interruption: 47
# and 50 of 50 in two boots, 2026-12-07), and so may an idle one the host
# kept from halting; both runs' counts are in the report.
check "determinism: broadcast's sync IPIs agree exactly between the two boots (idle, other-process)" \
	'[.determinism[] | select(.sync_calls[0] != .sync_calls[1]) | "\(.row): \(.sync_calls)"]'
# The shortest sync interruption is the handler's own path; longer ones
# add what the host's timing decides (the idle exit that restarts the
# tick, a clock read retried): the idle CPU's was 1,737 instructions in
# every window of four boots and 1,727 in one of a fifth (0.6%), the
# other-process CPU's 1,796-1,824 under a concurrent make check (1.5%), its
# median 1,864-2,369 (27%, not asserted).
check "determinism: the idle CPU's shortest sync interruption agrees within 1% between the two boots" \
	'[.determinism[] | select(.role == "idle" and .min_difference > 0.01) | "\(.row): \(.min_sync_insns)"]'
check "determinism: the other-process CPU's within 2% between the two boots" \
	'[.determinism[] | select(.min_difference > 0.02) | "\(.row): \(.min_sync_insns)"]'
t_finish
