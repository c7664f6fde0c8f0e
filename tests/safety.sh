#!/usr/bin/env bash
# The race stress on the debug kernel (configs/debug.config: KASAN, lockdep,
# DEBUG_VM, fault injection, the series' negative-control option), booted
# with init_on_free=1: quiet and broadcast must stress both sync paths with
# no splat and no corrupted page; the x86 negative control ("none" with a
# walk delay, the last stress step) is run and must show what
# docs/safety.md says: the walkers still take TLB-flush IPIs, and in its
# step, and there only, the detectors it may trip (gup_test's pin check,
# KASAN in GUP-fast: the unsharer's flush does not reach the other
# sharers of a hugetlb PMD table) are allowed. Every guest assertion is one
# result; the splat scan covers the whole console log.
# QS_STRESS_SECONDS (default 30) sets each run's length.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh

export QS_OBJ=$QS_BUILD/obj-$QS_ARCH-debug QS_CONFIGS="lab debug"

t_step "source extracted and patched" lab/source.sh
t_step "debug config merged and verified" lab/config.sh
t_step "debug kernel built" lab/build.sh
t_step "guest programs and initramfs built" env QS_INITRAMFS_NAME=initramfs-safety lab/initramfs.sh

rc=0
# Under KASAN and TCG the boot takes about 20 s, each stress run its
# length plus its set-up; 900 s leaves room before calling it a hang.
QS_TIMEOUT=900 QS_KERNEL=$QS_OBJ/arch/x86/boot/bzImage \
	QS_INITRAMFS=$QS_BUILD/initramfs-safety.cpio.gz \
	QS_CMDLINE_EXTRA="init_on_free=1 qs.stress_seconds=${QS_STRESS_SECONDS:-30}" \
	QS_CONTROL_STEP='race_stress -p none' \
	QS_ALLOW_SPLAT="$QS_GUP_TEST_WARN_RE|$QS_GUP_FAST_KASAN_RE" \
	lab/vm.sh safety || rc=$?
lab/safety-report.sh >&2 || rc=1
[ "$rc" -eq 0 ] || QS_TEST_FAILED=1

# The fallback is live: with flush_did_not_wait the walkers (threads of the
# freeing process, so exactly the CPUs patch 5 skips, in the kernel about
# half the time) are waited for by the sync itself, as under quiet: more
# sync IPIs per sync than under quiet-flush. Measured 42 in 96 syncs
# against 9 in 105 (0.44 against 0.09 per sync).
rates=$(jq -r '.stress | [.["quiet-flush/no-flush-wait"], .["quiet-flush"]]
	| map(if . == null then -1 else (.walker_sync_ipis / ([.paths_hit[]] | add) * 100 | round / 100) end)
	| @tsv' "$QS_REPORT/safety.json" 2> /dev/null || true)
read -r fallback skipped <<< "${rates:--1 -1}"
if awk -v f="$fallback" -v s="$skipped" 'BEGIN { exit !(s >= 0 && f > s) }'; then
	t_pass "walkers' sync IPIs per sync: $fallback with flush_did_not_wait, $skipped under quiet-flush"
else
	t_fail "walkers take more sync IPIs per sync with flush_did_not_wait than under quiet-flush" \
		"with: ${fallback:-?}, without: ${skipped:-?} ($QS_REPORT/safety.json)"
fi
t_finish
