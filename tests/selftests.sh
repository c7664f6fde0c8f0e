#!/usr/bin/env bash
# The kernel's own mm selftests (lab/selftests.sh: GUP, THP collapse and
# split, hugetlb), built static from the same tree and run on the lab kernel
# booted once under tlb_sync_policy=quiet-flush (the series' rule, the
# default) and once under broadcast (the kernel without it). The
# pass/fail/skip sets must be identical, and every result other than pass
# must be explained in tests/selftests-explained.txt (docs/safety.md says
# why); an unexplained one fails. Results go to build/report/safety.json.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh

EXPLAINED=tests/selftests-explained.txt

# "NAME ARGS RESULT" per selftest of a run, sorted.
outcomes() {
	qs_metrics "$QS_BUILD/runs/$QS_ARCH-selftests-$1/ktap.log" |
		awk "$QS_AWK_VAL"'val("selftest") != "" { print val("selftest"), (val("args") == "" ? "-" : val("args")), val("result") }' |
		sort
}

if ! extras=$(lab/selftests.sh); then
	t_fail "selftests built" "lab/selftests.sh failed (output above)"
	t_finish
fi
t_pass "selftests built"
QS_INITRAMFS_NAME=initramfs-selftests QS_INITRAMFS_EXTRA="$extras" lab/initramfs.sh >&2

for policy in quiet-flush broadcast; do
	# Each selftest has 300 s; the whole run takes minutes under TCG.
	# 4 GiB: mremap_test maps 2 GiB regions.
	if QS_RUN_NAME=selftests-$policy QS_TIMEOUT=2400 QS_MEM=4G \
		QS_INITRAMFS=$QS_BUILD/initramfs-selftests.cpio.gz \
		QS_CMDLINE_EXTRA="tlb_sync_policy=$policy" lab/vm.sh selftests > "$QS_BUILD/selftests-$policy.verdict"; then
		t_pass "selftests ran under $policy"
	else
		t_fail "selftests ran under $policy" "$(grep '^not ok' "$QS_BUILD/selftests-$policy.verdict" | head -n 3 | tr '\n' ' ')"
	fi
done

quiet=$(outcomes quiet-flush)
broadcast=$(outcomes broadcast)
if [ -z "$quiet" ]; then
	t_fail "selftest outcomes recorded" "no selftest metric in the quiet-flush run"
elif [ "$quiet" = "$broadcast" ]; then
	t_pass "selftest outcomes identical under quiet-flush and broadcast ($(echo "$quiet" | wc -l) runs)"
else
	t_fail "selftest outcomes identical under quiet-flush and broadcast" \
		"$(diff <(echo "$quiet") <(echo "$broadcast") | grep '^[<>]' | tr '\n' ' ')"
fi
while read -r name args result; do
	[ "$result" = pass ] && continue
	if grep -Eq "^$name $args $result( |$)" "$EXPLAINED"; then
		t_pass "selftest $name $args: $result is explained"
	else
		t_fail "selftest $name $args: $result is explained" "add it to $EXPLAINED with the reason, or fix it"
	fi
done <<< "$quiet"
lab/safety-report.sh >&2 || t_fail "safety report written" "lab/safety-report.sh failed"
t_finish
